package caddymodule

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcauth"
)

// maxProbeBody caps the response body a probe records (1 MiB); the rest is
// dropped, status and headers are kept.
const maxProbeBody = 1 << 20

// routeGroupCtxKey is caddyhttp's (unexported) context key of the route
// groups a request has already entered. A probe needs its own copy: each
// probe walks the rest of the route anew, and a shared map would make a
// second probe skip the `handle` block the first one entered.
const routeGroupCtxKey = caddy.CtxKey("route_group")

// nextProber implements wcauth.Prober by sending the probe through the rest
// of the route (next), i.e. reverse_proxy to WordPress, and recording the
// response in memory.
type nextProber struct {
	orig   *http.Request
	next   caddyhttp.Handler
	vars   map[string]any      // the request's vars when the handler ran
	groups map[string]struct{} // the route groups entered when the handler ran
}

// newNextProber snapshots the per-request routing state of orig, so every
// probe starts from where the handler stands in the route.
func newNextProber(orig *http.Request, next caddyhttp.Handler) *nextProber {
	p := &nextProber{orig: orig, next: next}
	ctx := orig.Context()
	if v, ok := ctx.Value(caddyhttp.VarsCtxKey).(map[string]any); ok {
		p.vars = maps.Clone(v)
	}
	if g, ok := ctx.Value(routeGroupCtxKey).(map[string]struct{}); ok {
		p.groups = maps.Clone(g)
	}
	return p
}

// Probe sends req through the rest of the route and returns the recorded
// response. req's context governs cancellation; Caddy's per-request values
// (replacer, server, original request) come from the client's request.
// Missing RemoteAddr, TLS and Host are taken from the client's request.
func (p *nextProber) Probe(ctx context.Context, req *http.Request) (*http.Response, error) {
	if req == nil || req.URL == nil {
		return nil, errors.New("wc_webhooks: probe request without URL")
	}
	pc := &probeContext{Context: ctx, caddy: p.orig.Context()}
	if p.vars != nil {
		pc.vars = maps.Clone(p.vars)
	}
	if p.groups != nil {
		pc.groups = maps.Clone(p.groups)
	}
	out := req.WithContext(pc)
	if out.Host == "" {
		out.Host = p.orig.Host
	}
	if out.RemoteAddr == "" {
		out.RemoteAddr = p.orig.RemoteAddr
	}
	if out.TLS == nil {
		out.TLS = p.orig.TLS
	}
	if out.Body == nil {
		out.Body = http.NoBody
	}
	if out.Header == nil {
		out.Header = make(http.Header)
	}
	out.RequestURI = out.URL.RequestURI()
	rec := newProbeRecorder(maxProbeBody)
	if err := p.next.ServeHTTP(rec, out); err != nil {
		return nil, fmt.Errorf("wc_webhooks: probing upstream: %w", err)
	}
	return rec.response(out), nil
}

// probeContext takes cancellation and values from Context, falls back to
// the client request's context for Caddy's values, and serves the probe's
// own copies of the vars and route groups.
type probeContext struct {
	context.Context
	caddy  context.Context
	vars   map[string]any
	groups map[string]struct{}
}

// Value implements context.Context.
func (c *probeContext) Value(key any) any {
	switch key {
	case caddyhttp.VarsCtxKey:
		if c.vars != nil {
			return c.vars
		}
	case routeGroupCtxKey:
		if c.groups != nil {
			return c.groups
		}
	}
	if v := c.Context.Value(key); v != nil {
		return v
	}
	return c.caddy.Value(key)
}

// probeRecorder is an in-memory http.ResponseWriter that keeps at most
// limit body bytes.
type probeRecorder struct {
	header    http.Header
	status    int
	body      bytes.Buffer
	limit     int
	truncated bool
}

func newProbeRecorder(limit int) *probeRecorder {
	return &probeRecorder{header: make(http.Header), limit: limit}
}

// Header implements http.ResponseWriter.
func (r *probeRecorder) Header() http.Header { return r.header }

// WriteHeader implements http.ResponseWriter; informational (1xx) statuses
// other than 101 are ignored, as they are not the final response.
func (r *probeRecorder) WriteHeader(code int) {
	if r.status != 0 {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		return
	}
	r.status = code
}

// Write implements http.ResponseWriter. Bytes beyond the limit are
// discarded but reported as written, so the upstream copy completes.
func (r *probeRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	room := r.limit - r.body.Len()
	if room >= len(b) {
		r.body.Write(b)
		return len(b), nil
	}
	if room > 0 {
		r.body.Write(b[:room])
	}
	r.truncated = true
	return len(b), nil
}

// Flush implements http.Flusher; there is nothing to flush.
func (r *probeRecorder) Flush() {}

// response returns what was recorded as a client-side response to req.
func (r *probeRecorder) response(req *http.Request) *http.Response {
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	header := r.header.Clone()
	body := r.body.Bytes()
	header.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// Interface guards
var (
	_ http.ResponseWriter = (*probeRecorder)(nil)
	_ http.Flusher        = (*probeRecorder)(nil)
	_ context.Context     = (*probeContext)(nil)
	_ wcauth.Prober       = (*nextProber)(nil)
)
