package wcapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcauth"
)

// call is one API request being answered.
type call struct {
	w        http.ResponseWriter
	r        *http.Request
	api      wcauth.API
	version  int    // 1, 2 or 3
	route    string // path below the namespace, e.g. "/webhooks/5"
	method   string // effective method, upper case
	head     bool   // HEAD: answer as GET without a body
	query    url.Values
	home     string // home URL without trailing slash
	viaQuery bool   // addressed as ?rest_route= or ?wc-api-route=
	own      bool   // addressed to this module's wc-webhooks/v1 routes
	verdict  wcauth.Verdict
	body     []byte
	bodyErr  error
}

// errBodyTooLarge is returned by readBody when the body exceeds the cap.
var errBodyTooLarge = errors.New("request body too large")

// readBody reads the request body once, up to limit bytes.
func (c *call) readBody(limit int64) ([]byte, error) {
	if c.body != nil || c.bodyErr != nil {
		return c.body, c.bodyErr
	}
	if c.r.Body == nil {
		c.body = []byte{}
		return c.body, nil
	}
	data, err := io.ReadAll(io.LimitReader(c.r.Body, limit+1))
	switch {
	case err != nil:
		c.bodyErr = fmt.Errorf("read request body: %w", err)
	case int64(len(data)) > limit:
		c.bodyErr = errBodyTooLarge
	default:
		c.body = data
	}
	return c.body, c.bodyErr
}

// mediaType returns the request's Content-Type without parameters.
func (c *call) mediaType() string {
	mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil {
		return strings.ToLower(strings.TrimSpace(strings.Split(c.r.Header.Get("Content-Type"), ";")[0]))
	}
	return mt
}

// scalar returns the last value of key in q, as PHP's $_GET keeps it.
func scalar(q url.Values, key string) (string, bool) {
	v, ok := q[key]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

// phpQueryValue returns a query parameter the way PHP's $_GET exposes it:
// `key[]=a&key[]=b` and `key[0]=a` give a list, `key=a` a string (the last
// one wins when both forms appear, as in PHP).
func phpQueryValue(q url.Values, key string) (any, bool) {
	if list, ok := q[key+"[]"]; ok {
		items := make([]any, len(list))
		for i, v := range list {
			items[i] = v
		}
		return items, true
	}
	var indexed []any
	prefix := key + "["
	for k, vals := range q {
		if strings.HasPrefix(k, prefix) && strings.HasSuffix(k, "]") && len(vals) > 0 {
			indexed = append(indexed, vals[len(vals)-1])
		}
	}
	if indexed != nil {
		return indexed, true
	}
	v, ok := scalar(q, key)
	return v, ok
}

// jsonError describes an invalid JSON body as PHP's json_last_error does.
type jsonError struct {
	code    int
	message string
}

// decodeJSON decodes a JSON body as PHP's json_decode does; ok is false for
// an empty or invalid body.
func decodeJSON(body []byte) (v any, ok bool) {
	obj, jerr := decodeJSONValue(body)
	return obj, jerr == nil && len(bytes.TrimSpace(body)) > 0
}

// decodeJSONObject decodes a JSON body into a map. A body that is valid JSON
// but not an object yields no parameters, as in WordPress.
func decodeJSONObject(body []byte) (map[string]any, *jsonError) {
	v, jerr := decodeJSONValue(body)
	obj, _ := v.(map[string]any)
	return obj, jerr
}

// decodeJSONValue decodes any JSON value, numbers kept exact.
func decodeJSONValue(body []byte) (any, *jsonError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	if !utf8.Valid(body) {
		return nil, &jsonError{5, "Malformed UTF-8 characters, possibly incorrectly encoded"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &jsonError{4, "Syntax error"}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &jsonError{4, "Syntax error"}
	}
	if depth(v) > 512 {
		return nil, &jsonError{1, "Maximum stack depth exceeded"}
	}
	return v, nil
}

// depth returns the nesting depth of a decoded JSON value.
func depth(v any) int {
	switch t := v.(type) {
	case map[string]any:
		max := 0
		for _, e := range t {
			if d := depth(e); d > max {
				max = d
			}
		}
		return max + 1
	case []any:
		max := 0
		for _, e := range t {
			if d := depth(e); d > max {
				max = d
			}
		}
		return max + 1
	}
	return 0
}

// effectiveMethod applies _method and X-HTTP-Method-Override as WordPress
// and the legacy server do: only a POST can be overridden in WP REST; the
// legacy server honours both on any method.
func effectiveMethod(r *http.Request, q url.Values, legacy bool) string {
	method := strings.ToUpper(r.Method)
	if !legacy && method != http.MethodPost {
		return method
	}
	if m, ok := scalar(q, "_method"); ok && m != "" {
		return strings.ToUpper(m)
	}
	if m := r.Header.Get("X-HTTP-Method-Override"); m != "" {
		return strings.ToUpper(m)
	}
	return method
}
