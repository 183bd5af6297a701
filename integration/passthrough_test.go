package integration

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/standin"
)

// headersAddedByProxy are request headers reverse_proxy itself sets.
var headersAddedByProxy = map[string]bool{
	"X-Forwarded-For": true, "X-Forwarded-Proto": true, "X-Forwarded-Host": true,
}

// sendOnce resets the stand-in, sends one request and returns the response
// and the one request the stand-in received.
func sendOnce(t *testing.T, e *testEnv, c *http.Client, method, url string, body []byte, h http.Header) (response, standin.Recorded) {
	t.Helper()
	e.Standin.Reset()
	r := do(t, c, method, url, body, h)
	reqs := e.Standin.Requests()
	require.Len(t, reqs, 1, "%s %s: requests reaching the upstream", method, url)
	return r, reqs[0]
}

func withoutKeys(h http.Header, drop ...string) http.Header {
	out := h.Clone()
	for _, k := range drop {
		out.Del(k)
	}
	return out
}

// TestPassThrough sends requests outside the intercepted prefixes through
// the module's site and through a site with a plain reverse_proxy: the
// upstream must receive the same request (method, path, query, headers,
// body exactly as sent) and the client the same response.
func TestPassThrough(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.Client(false)

	big := make([]byte, 3<<20) // larger than the API's 1 MiB body cap
	for i := range big {
		big[i] = byte(i*7 + i>>9)
	}
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	cases := []struct {
		name, method, path string
		body               []byte
		header             http.Header
	}{
		{"home", "GET", "/", nil, http.Header{"Accept": {"text/html"}, "Cookie": {"wordpress_logged_in_x=abc; wp_woocommerce_session=1"}, "User-Agent": {"Mozilla/5.0 test"}}},
		{"head home", "HEAD", "/", nil, nil},
		{"echo binary post with odd query", "POST", standin.EchoPath + "?a=1&b=%2F&c=x+y&d=%E2%82%AC&a=2", big, http.Header{"Content-Type": {"application/octet-stream"}, "X-Custom": {"v1", "v2"}, "Authorization": {"Bearer not-ours"}}},
		{"echo put json", "PUT", standin.EchoPath, []byte(`{"webhooks":true}`), jsonHeader()},
		{"echo patch 201", "PATCH", standin.EchoPath + "?status=201", []byte("x"), nil},
		{"echo delete 204", "DELETE", standin.EchoPath + "?status=204", nil, nil},
		{"echo options", "OPTIONS", standin.EchoPath, nil, nil},
		{"products", "GET", "/wp-json/wc/v3/products?per_page=5", nil, nil},
		{"products rest_route", "GET", "/?rest_route=/wc/v3/products", nil, nil},
		{"wp core route", "GET", "/wp-json/wp/v2/posts", nil, nil},
		{"wc/v4 has no webhooks", "GET", "/wp-json/wc/v4/webhooks", nil, nil},
		{"legacy products", "GET", "/wc-api/v3/products?filter[limit]=5", nil, nil},
		{"admin-ajax", "POST", "/wp-admin/admin-ajax.php", []byte("action=heartbeat&data%5Bx%5D=1"), form},
		{"admin-ajax unknown action", "POST", "/wp-admin/admin-ajax.php", []byte("action=nope"), form},
		{"not found", "GET", "/no-such-page/?p=1", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			viaModule, got := sendOnce(t, e, c, tc.method, e.HTTPBase+tc.path, tc.body, tc.header)
			viaPlain, ref := sendOnce(t, e, c, tc.method, e.PlainBase+tc.path, tc.body, tc.header)

			// The request, as sent.
			assert.Equal(t, tc.method, got.Method)
			assert.Equal(t, tc.path, got.RequestURI)
			assert.True(t, bytes.Equal(tc.body, got.Body) || (len(tc.body) == 0 && len(got.Body) == 0), "request body changed")
			for k, vs := range tc.header {
				assert.Equal(t, vs, got.Header.Values(k), "request header %s", k)
			}
			for k := range got.Header {
				if _, sent := tc.header[k]; !sent && !headersAddedByProxy[k] {
					assert.Equal(t, ref.Header.Values(k), got.Header.Values(k), "request header %s differs from plain reverse_proxy", k)
				}
			}
			assert.Equal(t, len(ref.Header), len(got.Header), "request header count: %v vs %v", got.Header, ref.Header)
			assert.Equal(t, strings.TrimPrefix(e.HTTPBase, "http://"), got.Header.Get("X-Forwarded-Host"))

			// The response, as the upstream sent it.
			assert.Equal(t, viaPlain.Status, viaModule.Status)
			assert.True(t, bytes.Equal(viaPlain.Body, viaModule.Body), "response body differs from plain reverse_proxy")
			assert.Equal(t, withoutKeys(viaPlain.Header, "Date"), withoutKeys(viaModule.Header, "Date"))
			if strings.HasPrefix(tc.path, standin.EchoPath) {
				assert.True(t, bytes.Equal(tc.body, viaModule.Body) || (len(tc.body) == 0 && len(viaModule.Body) == 0), "echoed body changed")
				for k, vs := range standin.EchoHeaders {
					assert.Equal(t, vs, viaModule.Header.Values(k), "response header %s", k)
				}
			}
		})
	}
}

// TestPassThroughStreaming checks that a large response streamed by the
// upstream arrives byte for byte and unbuffered (no Content-Length added).
func TestPassThroughStreaming(t *testing.T) {
	e := newEnv(t, envOptions{})
	const size = 8 << 20
	for _, base := range []string{e.HTTPBase, e.HTTPSBase} {
		res, err := e.Client(false).Get(base + standin.StreamPath + "?size=8388608&chunk=65536")
		require.NoError(t, err)
		assert.Equal(t, 200, res.StatusCode)
		assert.Equal(t, int64(-1), res.ContentLength, "%s: the streamed response must not be buffered and measured", base)
		n, mismatch := 0, -1
		buf := make([]byte, 64<<10)
		for {
			k, err := res.Body.Read(buf)
			for i := 0; i < k; i++ {
				if mismatch < 0 && buf[i] != standin.StreamByte(n+i) {
					mismatch = n + i
				}
			}
			n += k
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
		}
		_ = res.Body.Close()
		assert.Equal(t, size, n, "%s: streamed length", base)
		assert.Equal(t, -1, mismatch, "%s: first differing byte", base)
	}
}
