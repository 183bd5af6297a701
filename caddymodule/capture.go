package caddymodule

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// DefaultCaptureLimit caps the copy kept of a watched write's answer
// (2 MiB); beyond it the copy is dropped and the resource is read instead.
const DefaultCaptureLimit = 2 << 20

// captureWriter tees a watched write's answer: every byte goes to the
// client at once, unchanged, and a copy of a 2xx answer is kept up to
// limit bytes. Flush and Hijack reach the inner writer through Unwrap
// (http.ResponseController); ReadFrom tees as Write does.
type captureWriter struct {
	*caddyhttp.ResponseWriterWrapper
	limit   int
	status  int // first final status, 0 before
	keep    bool
	over    bool // the answer exceeded the limit: the copy is unusable
	buf     bytes.Buffer
	written int64
}

func newCaptureWriter(w http.ResponseWriter, limit int) *captureWriter {
	return &captureWriter{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w}, limit: limit}
}

// WriteHeader records the first final status and decides whether to keep
// a copy: 2xx answers whose Content-Length (when given) fits the limit.
// Informational statuses pass through without being recorded.
func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 && (code < 100 || code > 199 || code == http.StatusSwitchingProtocols) {
		c.decide(code)
	}
	c.ResponseWriterWrapper.WriteHeader(code)
}

func (c *captureWriter) decide(code int) {
	c.status = code
	if code < 200 || code > 299 {
		return
	}
	c.keep = true
	if cl := c.Header().Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n > int64(c.limit) {
			c.keep, c.over = false, true
		}
	}
}

// Write passes b on and keeps a copy while the answer fits the limit.
func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.decide(http.StatusOK)
	}
	n, err := c.ResponseWriterWrapper.Write(b)
	c.tee(b[:n])
	return n, err
}

func (c *captureWriter) tee(b []byte) {
	c.written += int64(len(b))
	if !c.keep {
		return
	}
	if c.buf.Len()+len(b) > c.limit {
		c.keep, c.over = false, true
		c.buf = bytes.Buffer{}
		return
	}
	c.buf.Write(b)
}

// ReadFrom copies r to the client through Write, so the copy sees every
// byte (the inner ReadFrom would bypass it).
func (c *captureWriter) ReadFrom(r io.Reader) (int64, error) {
	if c.status == 0 {
		c.decide(http.StatusOK)
	}
	if !c.keep {
		n, err := c.ResponseWriterWrapper.ReadFrom(r)
		c.written += n
		return n, err
	}
	return io.Copy(writerOnly{c}, r)
}

// writerOnly hides ReadFrom so io.Copy uses Write.
type writerOnly struct{ io.Writer }

// FlushError flushes the inner writer (through its Unwrap chain).
func (c *captureWriter) FlushError() error {
	return http.NewResponseController(c.ResponseWriterWrapper.ResponseWriter).Flush()
}

// Flush implements http.Flusher.
func (c *captureWriter) Flush() { _ = c.FlushError() }

// Status is the answer's final status (200 when the handler wrote a body
// without a status, 0 when it wrote nothing).
func (c *captureWriter) Status() int { return c.status }

// Body returns the decoded copy of a 2xx answer, or nil when there is none
// usable: not kept, over the limit, or in a Content-Encoding that cannot
// be decoded here (br, zstd, ...: the resource is read instead). gzip and
// deflate are decoded into at most limit bytes.
func (c *captureWriter) Body() []byte {
	if !c.keep || c.over {
		return nil
	}
	raw := c.buf.Bytes()
	enc := strings.ToLower(strings.TrimSpace(c.Header().Get("Content-Encoding")))
	switch enc {
	case "", "identity":
		return raw
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil
		}
		return c.inflate(zr)
	case "deflate":
		// HTTP deflate is zlib-wrapped; some servers send it raw.
		if zr, err := zlib.NewReader(bytes.NewReader(raw)); err == nil {
			if b := c.inflate(zr); b != nil {
				return b
			}
		}
		return c.inflate(flate.NewReader(bytes.NewReader(raw)))
	}
	return nil
}

// inflate reads a decoder to the end, nil on error or beyond the limit.
func (c *captureWriter) inflate(r io.ReadCloser) []byte {
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, int64(c.limit)+1))
	if err != nil || len(b) > c.limit {
		return nil
	}
	return b
}

// Interface guards
var (
	_ http.ResponseWriter = (*captureWriter)(nil)
	_ http.Flusher        = (*captureWriter)(nil)
	_ io.ReaderFrom       = (*captureWriter)(nil)
)
