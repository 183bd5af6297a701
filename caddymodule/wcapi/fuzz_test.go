package wcapi

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzServe feeds arbitrary methods, routes, queries and bodies to the API:
// nothing may panic, answer 5xx, or send a body that is not JSON.
func FuzzServe(f *testing.F) {
	seeds := []struct{ method, path, query, ctype, body string }{
		{"POST", "/wp-json/wc/v3/webhooks", "", "application/json", `{"topic":"order.created","delivery_url":"https://e.com"}`},
		{"POST", "/wp-json/wc/v3/webhooks/batch", "", "application/json", `{"create":[{"topic":1}],"update":[7,{"id":"x"}],"delete":["a",null,-3]}`},
		{"PUT", "/wp-json/wc/v2/webhooks/100001", "", "application/json", `{"id":[1],"status":{"a":1}}`},
		{"GET", "/wp-json/wc/v1/webhooks", "per_page=1e1&page=-1&include[]=x&after=2024-01-01T00:00:00+99:99", "", ""},
		{"DELETE", "/wp-json/wc/v3/webhooks/1", "force=maybe", "", ""},
		{"POST", "/wc-api/v3/webhooks", "", "application/json", `{"webhook":[]}`},
		{"GET", "/wc-api/v2/webhooks", "filter[limit]=-5&filter[created_at_min]=bad&page=x&filter[in]=1,,2", "", ""},
		{"PATCH", "/wc-api/v3/webhooks/99999999999999999999", "_method=GET", "application/json", "\xff"},
		{"POST", "/", "rest_route=/wc/v3/webhooks", "application/x-www-form-urlencoded", "topic[]=a&delivery_url=%zz"},
		{"GET", "/wp-json/wc/v3/webhooks", "_fields=..,,_links.&_envelope=1", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, s.ctype, s.body)
	}
	ta := newTestAPI(f)
	f.Fuzz(func(t *testing.T, method, path, query, ctype, body string) {
		ta.t = t
		u := &url.URL{Scheme: "http", Host: "shop.test", Path: path, RawQuery: query}
		if !validMethod(method) {
			return
		}
		r := httptest.NewRequest("GET", "http://shop.test/", strings.NewReader(body))
		r.Method, r.URL, r.RequestURI = method, u, u.RequestURI()
		r.Header.Set("Content-Type", ctype)
		if !Match(r) {
			return
		}
		w := httptest.NewRecorder()
		ta.api.Serve(w, r, nil)
		if w.Code >= 500 {
			t.Fatalf("%s %s?%s %q: status %d: %s", method, path, query, body, w.Code, w.Body.String())
		}
		if method != "HEAD" && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %s?%s: body is not JSON: %q", method, path, query, w.Body.String())
		}
	})
}

// validMethod reports whether net/http could have delivered this method.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, r := range m {
		if r < '!' || r > '~' || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return false
		}
	}
	return true
}
