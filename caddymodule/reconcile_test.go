package caddymodule

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore/redistest"
)

func TestReconcileOptionDefaults(t *testing.T) {
	cases := []struct {
		name, key, option string
		want              time.Duration // 0: off
		ttl               time.Duration
	}{
		{"default with a service key", "ck_a:cs_b", "", DefaultReconcileInterval, 16 * time.Minute},
		{"default without", "", "", 0, dedupeTTL},
		{"off", "ck_a:cs_b", "off", 0, dedupeTTL},
		{"an hour", "ck_a:cs_b", "1h", time.Hour, 3*time.Hour + time.Minute},
		{"the minimum", "ck_a:cs_b", "10s", 10 * time.Second, dedupeTTL},
	}
	for _, c := range cases {
		h := &Handler{ServiceKey: c.key, Reconcile: c.option}
		provisionHandler(t, h, "")
		if c.want == 0 {
			assert.Nil(t, h.reconcile, c.name)
		} else {
			require.NotNil(t, h.reconcile, c.name)
			assert.Equal(t, c.want, h.reconcile.interval, c.name)
			require.NoError(t, h.Cleanup())
		}
		assert.Equal(t, c.ttl, h.events.ttl, "%s: the dedupe TTL outlives two intervals", c.name)
	}
}

func TestReconcileOptionErrors(t *testing.T) {
	for _, c := range []struct{ key, option string }{
		{"ck_a:cs_b", "5s"}, {"ck_a:cs_b", "soon"}, {"ck_a:cs_b", "-1m"}, {"", "5s"},
	} {
		h := &Handler{ServiceKey: c.key, Reconcile: c.option}
		require.NoError(t, h.applyDefaults())
		require.NoError(t, h.provisionEvents())
		assert.Error(t, h.provisionReconcile(), "%q with key %q", c.option, c.key)
	}
	h := &Handler{Reconcile: "1m"}
	provisionHandler(t, h, "")
	assert.Nil(t, h.reconcile, "without a service key (e.g. an unset env placeholder) it is off")
	t.Setenv(ReconcileMinEnv, "1s")
	h = &Handler{ServiceKey: "ck_a:cs_b", Reconcile: "2s"}
	require.NoError(t, h.provisionEvents())
	require.NoError(t, h.provisionReconcile(), "the test-only minimum")
	assert.Equal(t, 2*time.Second, h.reconcile.interval)
}

func TestReconcileCaddyfile(t *testing.T) {
	for in, want := range map[string]string{"1m": "1m", "off": "off", "90s": "90s"} {
		var h Handler
		require.NoError(t, h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("wc_webhooks {\nreconcile "+in+"\n}")), in)
		assert.Equal(t, want, h.Reconcile)
	}
	for _, in := range []string{"reconcile", "reconcile 5s", "reconcile never", "reconcile 1m 2m"} {
		var h Handler
		assert.Error(t, h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("wc_webhooks {\n"+in+"\n}")), in)
	}
}

// recordingNext answers every request with status and body, and records
// the requests.
type recordingNext struct {
	status int
	body   string
	reqs   []*http.Request
}

func (n *recordingNext) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	n.reqs = append(n.reqs, r)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(n.status)
	_, _ = w.Write([]byte(n.body))
	return nil
}

func TestRestListerReadsThroughTheRoute(t *testing.T) {
	next := &recordingNext{status: 200, body: `[{"id":7},{"id":8}]`}
	orig := httptest.NewRequest(http.MethodGet, "https://shop.example/", nil)
	l := restLister{&serviceReader{prober: newNextProber(orig, next), ck: "ck_svc", cs: "cs_svc", base: "/"}}
	items, err := l.List(context.Background(), "order", url.Values{"status": {"trash"}, "_fields": {"id"}})
	require.NoError(t, err)
	assert.Len(t, items, 2)
	require.Len(t, next.reqs, 1)
	r := next.reqs[0]
	assert.Equal(t, "/?rest_route=%2Fwc%2Fv3%2Forders&_fields=id&status=trash", r.URL.RequestURI())
	assert.Equal(t, "shop.example", r.Host, "the client's host")
	ck, cs, ok := r.BasicAuth()
	assert.True(t, ok)
	assert.Equal(t, "ck_svc:cs_svc", ck+":"+cs)
	assert.Equal(t, "https", r.Header.Get("X-Forwarded-Proto"))

	next.body = `{"code":"woocommerce_rest_shop_order_invalid_id"}`
	next.status = 404
	_, found, err := l.Get(context.Background(), "order", 7)
	require.NoError(t, err)
	assert.False(t, found, "404 is a resource deleted for good")
	next.status = 500
	_, _, err = l.Get(context.Background(), "order", 7)
	assert.Error(t, err)
	_, err = l.List(context.Background(), "order", nil)
	assert.Error(t, err)
	next.status, next.body = 200, `[{"id":`
	_, err = l.List(context.Background(), "order", nil)
	assert.Error(t, err, "a truncated list is an error")
}

func TestReconcileLoopFirstPassAndCleanup(t *testing.T) {
	addr := redistest.Start(t)
	h := &Handler{ServiceKey: "ck_a:cs_b", Site: "shop", Auth: AuthKeys}
	provisionHandler(t, h, `{"redis":"redis://`+addr+`/0"}`)
	require.NotNil(t, h.reconcile)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })

	next := &recordingNext{status: 200, body: `[]`}
	req := httptest.NewRequest(http.MethodGet, "https://shop.example/wp-json/wc/v3/webhooks", nil)
	require.NoError(t, h.ServeHTTP(httptest.NewRecorder(), req, next))
	deadline := time.Now().Add(30 * time.Second)
	for rdb.Exists(context.Background(), "wcwh:{shop}:rc:wm").Val() == 0 {
		require.True(t, time.Now().Before(deadline), "the first pass sets the watermark")
		time.Sleep(20 * time.Millisecond)
	}
	assert.Empty(t, next.reqs, "nobody listens: the first pass reads nothing")

	require.NoError(t, h.Cleanup())
	assert.Error(t, h.reconcile.ctx.Err(), "the loop is stopped")
	h.remember("other", "https://other.example", req, next)
	h.reconcile.mu.Lock()
	_, known := h.reconcile.sites["other"]
	h.reconcile.mu.Unlock()
	assert.False(t, known, "nothing starts after Cleanup")
}

// provisionTB is provisionHandler for tests and benchmarks alike.
func provisionTB(tb testing.TB, h *Handler, appJSON string) {
	tb.Helper()
	cfg := &caddy.Config{AppsRaw: caddy.ModuleMap{"wc_webhooks": json.RawMessage(appJSON)}}
	base, err := caddy.ProvisionContext(cfg)
	require.NoError(tb, err)
	ctx, cancel := caddy.NewContext(base)
	tb.Cleanup(cancel)
	require.NoError(tb, h.Provision(ctx))
	tb.Cleanup(func() { _ = h.Cleanup() })
}

// knownSites lists the sites the reconciliation loop knows.
func knownSites(h *Handler) []string {
	h.reconcile.mu.Lock()
	defer h.reconcile.mu.Unlock()
	var out []string
	for name := range h.reconcile.sites {
		out = append(out, name)
	}
	return out
}

func TestReconcileFixedSiteFromAnyRequest(t *testing.T) {
	addr := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	app := `{"redis":"redis://` + addr + `/0"}`

	// A fixed site: a pass-through GET records it and its first pass runs.
	h := &Handler{ServiceKey: "ck_a:cs_b", Site: "shop", Auth: AuthKeys}
	provisionTB(t, h, app)
	next := &recordingNext{status: 200, body: `<html></html>`}
	page := httptest.NewRequest(http.MethodGet, "https://shop.example/shop/", nil)
	require.NoError(t, h.ServeHTTP(httptest.NewRecorder(), page, next))
	assert.Equal(t, []string{"shop"}, knownSites(h), "recorded from a page view")
	deadline := time.Now().Add(30 * time.Second)
	for rdb.Exists(context.Background(), "wcwh:{shop}:rc:wm").Val() == 0 {
		require.True(t, time.Now().Before(deadline), "the first pass sets the watermark")
		time.Sleep(20 * time.Millisecond)
	}
	h.reconcile.mu.Lock()
	s := h.reconcile.sites["shop"]
	h.reconcile.mu.Unlock()
	assert.Equal(t, "shop.example", s.prober.orig.Host, "the template keeps the request's host")
	assert.Equal(t, "/", s.prober.orig.URL.Path, "but not its path")
	assert.Len(t, next.reqs, 1, "the page itself; nobody listens, so the pass reads nothing")

	// After that, a request costs no allocation beyond the rest of the route.
	quiet := nopNext{}
	w := discardWriter{}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = h.ServeHTTP(w, page, quiet) }))

	// Sites named by the host are not recorded by pass-through traffic.
	byHost := &Handler{ServiceKey: "ck_a:cs_b", Auth: AuthKeys}
	provisionTB(t, byHost, app)
	require.NoError(t, byHost.ServeHTTP(httptest.NewRecorder(), page, next))
	assert.Empty(t, knownSites(byHost))

	// Reconciliation off: nothing to record.
	off := &Handler{ServiceKey: "ck_a:cs_b", Site: "shop", Auth: AuthKeys, Reconcile: "off"}
	provisionTB(t, off, app)
	require.NoError(t, off.ServeHTTP(httptest.NewRecorder(), page, next))
	assert.Nil(t, off.reconcile)
}

// nopNext is a next handler that does nothing.
type nopNext struct{}

func (nopNext) ServeHTTP(http.ResponseWriter, *http.Request) error { return nil }

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{}

func (discardWriter) Header() http.Header         { return nil }
func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (discardWriter) WriteHeader(int)             {}

// BenchmarkPassThrough measures the handler's own cost on a page view
// (next does nothing): without reconciliation, and with a fixed site
// whose reconciliation is on (one atomic load once the site is recorded).
func BenchmarkPassThrough(b *testing.B) {
	addr := redistest.Start(b)
	app := `{"redis":"redis://` + addr + `/0"}`
	for _, bc := range []struct {
		name string
		h    *Handler
	}{
		{"reconcile-off", &Handler{Site: "shop", Auth: AuthKeys}},
		{"reconcile-fixed-site", &Handler{ServiceKey: "ck_a:cs_b", Site: "shop", Auth: AuthKeys}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			provisionTB(b, bc.h, app)
			r := httptest.NewRequest(http.MethodGet, "https://shop.example/product/hat/?color=red", nil)
			_ = bc.h.ServeHTTP(discardWriter{}, r, nopNext{})
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				_ = bc.h.ServeHTTP(discardWriter{}, r, nopNext{})
			}
		})
	}
}
