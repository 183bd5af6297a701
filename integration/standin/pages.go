package standin

import (
	"net/http"
	"strconv"
	"strings"
)

// Paths of the stand-in's test routes (not WordPress routes).
const (
	// EchoPath answers any method with the request body as it came, status
	// 200 (or ?status=N), and fixed extra headers (EchoHeaders).
	EchoPath = "/__standin/echo"
	// StreamPath streams ?size=N bytes (default 1 MiB) of StreamByte(i) in
	// flushed chunks of ?chunk=N bytes (default 32 KiB), without a length.
	StreamPath = "/__standin/stream"
)

// EchoHeaders are the headers EchoPath adds to its response.
var EchoHeaders = http.Header{
	"X-Standin":     {"echo"},
	"Set-Cookie":    {"a=1; Path=/; HttpOnly", "b=2; Path=/"},
	"Cache-Control": {"no-store, private"},
	"X-Multi":       {"one", "two"},
}

// StreamByte is byte i of a StreamPath response.
func StreamByte(i int) byte { return byte((i*31 + i/1024*7) % 251) }

// HomeHTML is the body of GET /.
const HomeHTML = "<!DOCTYPE html>\n<html><head><title>Stand-in shop</title></head><body><h1>Stand-in shop</h1></body></html>\n"

func (c *call) servePage() {
	path := c.r.URL.Path
	switch {
	case path == EchoPath:
		for k, vs := range EchoHeaders {
			c.w.Header()[k] = append([]string(nil), vs...)
		}
		c.w.Header().Set("Content-Type", "application/octet-stream")
		status := 200
		if s, err := strconv.Atoi(c.query["status"]); err == nil && s >= 200 && s <= 599 {
			status = s
		}
		c.w.WriteHeader(status)
		_, _ = c.w.Write(c.body)
	case path == StreamPath:
		c.stream()
	case path == "/" && (c.r.Method == "GET" || c.r.Method == "HEAD"):
		h := c.w.Header()
		h.Set("Content-Type", "text/html; charset=UTF-8")
		h.Set("Link", `<https://shop.example/wp-json/>; rel="https://api.w.org/"`)
		c.w.WriteHeader(200)
		if c.r.Method == "GET" {
			_, _ = c.w.Write([]byte(HomeHTML))
		}
	case path == "/wp-admin/admin-ajax.php":
		c.adminAjax()
	default:
		c.w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		c.w.WriteHeader(404)
		_, _ = c.w.Write([]byte("<!DOCTYPE html>\n<html><body><h1>Page not found</h1></body></html>\n"))
	}
}

// adminAjax answers admin-ajax.php: action=heartbeat gives JSON, an
// unknown or missing action gives WordPress's "0" with 400.
func (c *call) adminAjax() {
	action := c.query["action"]
	if c.r.Method == "POST" && strings.HasPrefix(c.r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if a, ok := phpQuery(string(c.body))["action"]; ok {
			action = a
		}
	}
	if action != "heartbeat" {
		c.w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		c.w.WriteHeader(400)
		_, _ = c.w.Write([]byte("0"))
		return
	}
	c.w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	c.w.WriteHeader(200)
	_, _ = c.w.Write([]byte(`{"wp-auth-check":false,"server_time":1700000000}`))
}

func (c *call) stream() {
	size, err := strconv.Atoi(c.query["size"])
	if err != nil || size < 0 {
		size = 1 << 20
	}
	chunk, err := strconv.Atoi(c.query["chunk"])
	if err != nil || chunk <= 0 {
		chunk = 32 << 10
	}
	c.w.Header().Set("Content-Type", "application/octet-stream")
	c.w.WriteHeader(200)
	flusher, _ := c.w.(http.Flusher)
	buf := make([]byte, 0, chunk)
	for i := 0; i < size; i++ {
		buf = append(buf, StreamByte(i))
		if len(buf) == chunk || i == size-1 {
			if _, err := c.w.Write(buf); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
			buf = buf[:0]
		}
	}
}
