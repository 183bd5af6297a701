package wcauth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// A stand-in WordPress for the Upstream tests. It authenticates with this
// package's Keys (WooCommerce's rules, tested above) and answers the webhooks
// routes like WooCommerce: users 7, 8 and 9 are shop managers, user 20 is a
// customer. A logged-in cookie "wordpress_logged_in_x=manager" with the
// nonce "good-nonce" is user 7.
const (
	ckCust = "ck_00000000000000000000000000000000000000dd"
	csCust = "cs_11111111111111111111111111111111111111dd"
)

type fakeWP struct {
	t      *testing.T
	srv    *httptest.Server
	keys   *Keys
	probes atomic.Int64
	mu     sync.Mutex
	seen   []string // method path?query body, per request
	down   bool     // answer 502
}

func newFakeWP(t *testing.T) *fakeWP {
	store := newFakeStore()
	store.keys[ckCust] = &redisstore.APIKey{KeyID: 4, UserID: 20, Permissions: "read_write", ConsumerSecret: csCust}
	wp := &fakeWP{t: t, keys: newTestKeys(store)}
	wp.srv = httptest.NewServer(http.HandlerFunc(wp.serve))
	t.Cleanup(wp.srv.Close)
	return wp
}

// Probe implements Prober by sending the probe to the stand-in.
func (wp *fakeWP) Probe(ctx context.Context, req *http.Request) (*http.Response, error) {
	req.URL.Host = wp.srv.Listener.Addr().String()
	return wp.srv.Client().Do(req.WithContext(ctx))
}

func (wp *fakeWP) lastSeen() string {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	if len(wp.seen) == 0 {
		return ""
	}
	return wp.seen[len(wp.seen)-1]
}

func (wp *fakeWP) serve(w http.ResponseWriter, r *http.Request) {
	wp.probes.Add(1)
	body, _ := io.ReadAll(r.Body)
	wp.mu.Lock()
	wp.seen = append(wp.seen, r.Method+" "+r.URL.RequestURI()+" "+string(body))
	wp.mu.Unlock()
	if r.Host != "shop.example" {
		wp.t.Errorf("probe Host = %q", r.Host)
	}
	if wp.down {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	q := ParsePHPQuery(r.URL.RawQuery)
	api, route := REST, q.Get("rest_route")
	switch {
	case strings.HasPrefix(r.URL.Path, "/wp-json"):
		route = strings.TrimPrefix(r.URL.Path, "/wp-json")
	case strings.HasPrefix(r.URL.Path, "/wc-api/v"):
		api, route = LegacyV3, r.URL.Path[len("/wc-api/v3"):]
	case q.Get("wc-api-route") != "":
		api, route = LegacyV3, q.Get("wc-api-route")
	}
	if api == REST {
		route = strings.TrimPrefix(route, "/wc/v3")
	}
	method := r.Method
	if m := q.Get("_method"); m != "" {
		method = strings.ToUpper(m)
	} else if m := r.Header.Get("X-HTTP-Method-Override"); m != "" {
		method = strings.ToUpper(m)
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	v := wp.keys.Authenticate(r.Context(), Request{HTTP: r, API: api, Method: method,
		Secure: r.Header.Get("X-Forwarded-Proto") == "https", HomeURL: home})
	if c, err := r.Cookie("wordpress_logged_in_x"); err == nil && c.Value == "manager" && r.Header.Get("X-WP-Nonce") == "good-nonce" {
		v = ok(7)
	}
	if v.Err != nil {
		for k, vals := range v.Err.Header {
			w.Header()[k] = vals
		}
		wp.fail(w, api, v.Err.Status, v.Err.Code, v.Err.Message)
		return
	}
	manager := v.Authenticated && v.UserID != 20
	refuse := func(code string) {
		status := http.StatusUnauthorized
		if v.Authenticated && api == REST {
			status = http.StatusForbidden
		}
		wp.fail(w, api, status, code, "Sorry.")
	}
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	switch {
	case api == REST && route == "/webhooks" && method == "GET":
		if !manager {
			refuse("woocommerce_rest_cannot_view")
			return
		}
		_, _ = io.WriteString(w, `[{"id":1}]`)
	case api == REST && route == "/webhooks/batch":
		if !manager {
			refuse("woocommerce_rest_cannot_batch")
			return
		}
		_, _ = io.WriteString(w, `[]`)
	case api == REST && route == "/webhooks" && method == "POST":
		if in["topic"] == nil || in["delivery_url"] == nil {
			wp.fail(w, api, 400, "rest_missing_callback_param", "Missing parameter(s): topic")
			return
		}
		if !manager {
			refuse("woocommerce_rest_cannot_create")
			return
		}
		if in["id"] != nil && in["id"] != float64(0) {
			wp.fail(w, api, 400, "woocommerce_rest_shop_webhook_exists", "Cannot create existing shop_webhook.")
			return
		}
		wp.t.Errorf("a probe created a webhook: %s", body)
	case api == REST && strings.HasPrefix(route, "/webhooks/") && method == "DELETE":
		if !manager {
			refuse("woocommerce_rest_cannot_delete")
			return
		}
		if in["force"] != false {
			wp.t.Errorf("a probe deleted a webhook: %s", body)
		}
		wp.fail(w, api, 501, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.")
	case api == LegacyV3 && route == "/webhooks/count":
		if !manager {
			refuse("woocommerce_api_user_cannot_read_webhooks_count")
			return
		}
		_, _ = io.WriteString(w, `{"count":3}`)
	case api == LegacyV3 && route == "/webhooks" && method == "GET":
		_, _ = io.WriteString(w, `{"webhooks":[]}`)
	case api == LegacyV3 && route == "/webhooks" && method == "POST":
		if _, has := in["webhook"]; !has {
			wp.fail(w, api, 400, "woocommerce_api_missing_webhook_data", "No webhook data specified to create webhook")
			return
		}
		if !manager {
			refuse("woocommerce_api_user_cannot_create_webhooks")
			return
		}
		wp.fail(w, api, 400, "woocommerce_api_invalid_webhook_topic", "Webhook topic is required and must be valid.")
	default:
		wp.fail(w, api, 404, "rest_no_route", "No route.")
	}
}

func (wp *fakeWP) fail(w http.ResponseWriter, api API, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var b []byte
	if api == REST {
		b, _ = json.Marshal(map[string]any{"code": code, "message": msg, "data": map[string]int{"status": status}})
	} else {
		b, _ = json.Marshal(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
	}
	_, _ = w.Write(b)
}

// brokenProber fails every probe.
type brokenProber struct{ calls atomic.Int64 }

func (p *brokenProber) Probe(context.Context, *http.Request) (*http.Response, error) {
	p.calls.Add(1)
	return nil, errors.New("connection refused")
}
