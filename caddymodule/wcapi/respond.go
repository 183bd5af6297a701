package wcapi

import (
	"net/http"
	"strconv"
	"strings"
)

// restHeaders are the headers WordPress sends on every REST response.
func (c *call) restHeaders(h http.Header) {
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("X-Robots-Tag", "noindex")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Access-Control-Expose-Headers", "X-WP-Total, X-WP-TotalPages, Link")
	h.Set("Access-Control-Allow-Headers", "Authorization, X-WP-Nonce, Content-Disposition, Content-MD5, Content-Type")
	h.Set("Expires", "Wed, 11 Jan 1984 05:00:00 GMT")
	h.Set("Cache-Control", "no-cache, must-revalidate, max-age=0, no-store, private")
	if h.Get("Link") == "" {
		h.Set("Link", "<"+c.restIndexURL()+">; rel=\"https://api.w.org/\"")
	}
}

// restIndexURL is the REST index of the site, as WordPress links it.
func (c *call) restIndexURL() string {
	if c.viaQuery {
		return c.home + "/?rest_route=/"
	}
	return c.home + "/wp-json/"
}

// writeREST sends a WP REST response: `_fields` trims successful bodies,
// `_envelope` wraps everything in a 200, HEAD sends no body.
func (a *API) writeREST(c *call, status int, body any, extra http.Header) {
	h := http.Header{}
	for k, v := range extra {
		h[k] = v
	}
	c.restHeaders(h)
	if fields, ok := scalar(c.query, "_fields"); ok && status < 400 {
		body = filterFields(body, fields)
	}
	if _, ok := c.query["_envelope"]; ok {
		headers := object{}
		for _, k := range []string{"Allow", "Location", "Link", "X-WP-Total", "X-WP-TotalPages"} {
			if v := headerValue(extra, k); v != "" {
				headers = append(headers, field{k, v})
			}
		}
		body = object{{"body", body}, {"status", status}, {"headers", headers}}
		status = http.StatusOK
	}
	a.write(c, status, body, h)
}

// writeRESTError sends a WP REST error.
func (a *API) writeRESTError(c *call, e *apiError, extra http.Header) {
	h := http.Header{}
	for k, v := range extra {
		h[k] = v
	}
	for k, v := range e.Header {
		h[k] = v
	}
	a.writeREST(c, e.Status, e.restBody(), h)
}

// writeLegacy sends a legacy API response.
func (a *API) writeLegacy(c *call, status int, body any, extra http.Header) {
	h := http.Header{}
	for k, v := range extra {
		h[k] = v
	}
	h.Set("Content-Type", "application/json; charset=UTF-8")
	a.write(c, status, body, h)
}

// writeLegacyError sends a legacy API error.
func (a *API) writeLegacyError(c *call, e *apiError) {
	a.writeLegacy(c, e.Status, e.legacyBody(), e.Header)
}

// write encodes body as WordPress does and sends it.
func (a *API) write(c *call, status int, body any, h http.Header) {
	data, err := encodePHP(body)
	if err != nil {
		a.opts.Logger.Error("encode response")
		data = []byte(`{"code":"woocommerce_rest_encode_error","message":"The response could not be encoded.","data":{"status":500}}`)
		status = http.StatusInternalServerError
	}
	dst := c.w.Header()
	for k, v := range h {
		dst[k] = v
	}
	dst.Set("Content-Length", strconv.Itoa(len(data)))
	c.w.WriteHeader(status)
	if !c.head {
		_, _ = c.w.Write(data)
	}
}

// filterFields keeps only the members named in fields ("a,b,c.d"), as
// WordPress's rest_filter_response_fields does, for an item or each item
// of a list.
func filterFields(body any, fields string) any {
	var paths [][]string
	for _, f := range strings.Split(fields, ",") {
		if f = strings.TrimSpace(f); f != "" {
			paths = append(paths, strings.Split(f, "."))
		}
	}
	if len(paths) == 0 {
		return body
	}
	switch t := body.(type) {
	case object:
		return keepPaths(t, paths)
	case []object:
		out := make([]object, len(t))
		for i, o := range t {
			out[i] = keepPaths(o, paths)
		}
		return out
	}
	return body
}

// keepPaths keeps the members of o that a path names or leads into.
func keepPaths(o object, paths [][]string) object {
	out := object{}
	for _, f := range o {
		var sub [][]string
		whole := false
		for _, p := range paths {
			if p[0] != f.Key {
				continue
			}
			if len(p) == 1 {
				whole = true
				break
			}
			sub = append(sub, p[1:])
		}
		switch {
		case whole:
			out = append(out, f)
		case sub != nil:
			if inner, ok := f.Value.(object); ok {
				out = append(out, field{f.Key, keepPaths(inner, sub)})
			}
		}
	}
	return out
}

// headerValue looks a header up by its exact name first (WordPress's
// X-WP-* names are not in Go's canonical form), then canonically.
func headerValue(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return h.Get(name)
}
