package caddymodule

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHandlerCaddyfileAllOptions(t *testing.T) {
	d := caddyfile.NewTestDispenser(`wc_webhooks {
		site shop.example
		auth keys
		auth_cache_ttl 2m
		timezone Europe/Berlin
		home_url https://shop.example/
		max_body_size 2MiB
		operator_path /wc-webhooks-admin/
	}`)
	var h Handler
	require.NoError(t, h.UnmarshalCaddyfile(d))
	assert.Equal(t, "shop.example", h.Site)
	assert.Equal(t, "keys", h.Auth)
	assert.Equal(t, caddy.Duration(2*time.Minute), h.AuthCacheTTL)
	assert.Equal(t, "Europe/Berlin", h.Timezone)
	assert.Equal(t, "https://shop.example/", h.HomeURL)
	assert.EqualValues(t, 2<<20, h.MaxBodySize)
	assert.Equal(t, "/wc-webhooks-admin", h.OperatorPath, "the trailing slash is dropped")
}

func TestHandlerCaddyfileEmpty(t *testing.T) {
	for _, in := range []string{"wc_webhooks", "wc_webhooks {\n}"} {
		var h Handler
		require.NoError(t, h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(in)), in)
		raw, err := json.Marshal(&h)
		require.NoError(t, err)
		assert.Equal(t, "{}", string(raw), in)
	}
}

func TestHandlerCaddyfileSizes(t *testing.T) {
	for in, want := range map[string]int64{"1MiB": 1 << 20, "1MB": 1000000, "512KiB": 512 << 10, "4096": 4096} {
		var h Handler
		require.NoError(t, h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("wc_webhooks {\nmax_body_size "+in+"\n}")), in)
		assert.Equal(t, want, h.MaxBodySize, in)
	}
}

func TestHandlerCaddyfileErrors(t *testing.T) {
	cases := map[string]string{
		"inline argument":   "wc_webhooks foo",
		"unknown option":    "wc_webhooks {\nsite_name x\n}",
		"repeated option":   "wc_webhooks {\nsite a\nsite b\n}",
		"missing argument":  "wc_webhooks {\nsite\n}",
		"two arguments":     "wc_webhooks {\ntimezone UTC Europe/Berlin\n}",
		"nested block":      "wc_webhooks {\nsite a {\nb\n}\n}",
		"bad auth":          "wc_webhooks {\nauth basic\n}",
		"bad ttl":           "wc_webhooks {\nauth_cache_ttl soon\n}",
		"zero ttl":          "wc_webhooks {\nauth_cache_ttl 0s\n}",
		"negative ttl":      "wc_webhooks {\nauth_cache_ttl -1s\n}",
		"bad size":          "wc_webhooks {\nmax_body_size lots\n}",
		"zero size":         "wc_webhooks {\nmax_body_size 0\n}",
		"negative size":     "wc_webhooks {\nmax_body_size -1MiB\n}",
		"repeated ttl form": "wc_webhooks {\nauth_cache_ttl 1s\nauth_cache_ttl 2s\n}",
		"relative operator": "wc_webhooks {\noperator_path admin\n}",
		"root operator":     "wc_webhooks {\noperator_path /\n}",
		"operator query":    "wc_webhooks {\noperator_path /admin?x=1\n}",
	}
	for name, in := range cases {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(in))
		assert.Error(t, err, name)
	}
}

func TestGlobalOption(t *testing.T) {
	d := caddyfile.NewTestDispenser(`wc_webhooks {
		redis {env.WC_WEBHOOKS_REDIS}
		key_prefix shopwh
		id_floor 500
	}`)
	val, err := parseGlobalOption(d, nil)
	require.NoError(t, err)
	app, ok := val.(httpcaddyfile.App)
	require.True(t, ok, "%T", val)
	assert.Equal(t, "wc_webhooks", app.Name)
	assert.JSONEq(t, `{"redis":"{env.WC_WEBHOOKS_REDIS}","key_prefix":"shopwh","id_floor":500}`, string(app.Value))

	val, err = parseGlobalOption(caddyfile.NewTestDispenser("wc_webhooks"), nil)
	require.NoError(t, err)
	assert.JSONEq(t, `{}`, string(val.(httpcaddyfile.App).Value))
}

func TestGlobalOptionErrors(t *testing.T) {
	cases := map[string]string{
		"inline argument":  "wc_webhooks redis://x",
		"unknown option":   "wc_webhooks {\nredis_url x\n}",
		"repeated option":  "wc_webhooks {\nredis redis://a\nredis redis://b\n}",
		"missing argument": "wc_webhooks {\nredis\n}",
		"two arguments":    "wc_webhooks {\nkey_prefix a b\n}",
		"bad id floor":     "wc_webhooks {\nid_floor ten\n}",
		"negative floor":   "wc_webhooks {\nid_floor -1\n}",
	}
	for name, in := range cases {
		_, err := parseGlobalOption(caddyfile.NewTestDispenser(in), nil)
		assert.Error(t, err, name)
	}
	_, err := parseGlobalOption(caddyfile.NewTestDispenser("wc_webhooks"), httpcaddyfile.App{Name: "wc_webhooks"})
	assert.ErrorContains(t, err, "more than once")
}

func TestGlobalOptionRepeatedInCaddyfile(t *testing.T) {
	_, _, err := adaptCaddyfile([]byte("{\n\twc_webhooks\n\twc_webhooks\n}\n:8080 {\n\trespond ok\n}\n"))
	assert.ErrorContains(t, err, "more than once")
}

func TestJSONRoundTrip(t *testing.T) {
	h := &Handler{
		Site: "shop", Auth: "keys", AuthCacheTTL: caddy.Duration(time.Minute),
		Timezone: "Asia/Tokyo", HomeURL: "https://shop.example", MaxBodySize: 4096,
	}
	const want = `{"site":"shop","auth":"keys","auth_cache_ttl":60000000000,"timezone":"Asia/Tokyo","home_url":"https://shop.example","max_body_size":4096}`
	raw, err := json.Marshal(h)
	require.NoError(t, err)
	assert.JSONEq(t, want, string(raw))
	var back Handler
	require.NoError(t, caddy.StrictUnmarshalJSON(raw, &back))
	again, err := json.Marshal(&back)
	require.NoError(t, err)
	assert.JSONEq(t, want, string(again))

	// Durations also come as strings in hand-written JSON.
	require.NoError(t, caddy.StrictUnmarshalJSON([]byte(`{"auth_cache_ttl":"45s"}`), &back))
	assert.Equal(t, caddy.Duration(45*time.Second), back.AuthCacheTTL)

	empty, err := json.Marshal(new(Handler))
	require.NoError(t, err)
	assert.Equal(t, `{}`, string(empty))

	const appJSON = `{"redis":"redis://localhost:6379/0","key_prefix":"p","id_floor":7}`
	var app App
	require.NoError(t, caddy.StrictUnmarshalJSON([]byte(appJSON), &app))
	raw, err = json.Marshal(&app)
	require.NoError(t, err)
	assert.JSONEq(t, appJSON, string(raw))
	emptyApp, err := json.Marshal(new(App))
	require.NoError(t, err)
	assert.Equal(t, `{}`, string(emptyApp))

	assert.Error(t, caddy.StrictUnmarshalJSON([]byte(`{"redis_url":"x"}`), &app), "unknown fields are rejected")
	assert.Error(t, caddy.StrictUnmarshalJSON([]byte(`{"max_size":1}`), &back), "unknown fields are rejected")
}

func TestDirectiveOrderBeforeProxy(t *testing.T) {
	// The handler must run before reverse_proxy without an `order` option,
	// also when the proxy sits inside a handle block.
	cfg, _, err := adaptCaddyfile([]byte(":8080 {\n\treverse_proxy 127.0.0.1:8081\n\thandle /x {\n\t\treverse_proxy 127.0.0.1:8082\n\t}\n\twc_webhooks\n\tencode\n}\n"))
	require.NoError(t, err)
	s := string(cfg)
	iEncode := strings.Index(s, `"handler":"encode"`)
	iWC := strings.Index(s, `"handler":"wc_webhooks"`)
	iSub := strings.Index(s, `"handler":"subroute"`)
	iProxy := strings.Index(s, `"handler":"reverse_proxy"`)
	require.True(t, iEncode >= 0 && iWC >= 0 && iSub >= 0 && iProxy >= 0, s)
	assert.Less(t, iEncode, iWC, "encode wraps wc_webhooks")
	assert.Less(t, iWC, iSub, "wc_webhooks runs before handle blocks")
	assert.Less(t, iWC, iProxy, "wc_webhooks runs before reverse_proxy")
}

// TestOperatorPathServesThePage: with operator_path set, the page answers
// requests at and below the path itself (401 with the Basic challenge
// without credentials) and never calls next; other paths, including ones
// that merely start with the same letters, pass through without allocating.
func TestOperatorPathServesThePage(t *testing.T) {
	h := new(Handler)
	require.NoError(t, h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("wc_webhooks {\nauth keys\noperator_path /ops/\n}")))
	provisionHandler(t, h, "")
	assert.Equal(t, "/ops", h.OperatorPath)
	for _, target := range []string{"/ops", "/ops/", "/ops/webhooks/1/status"} {
		next := new(countingNext)
		rec := httptest.NewRecorder()
		method := http.MethodGet
		if strings.HasSuffix(target, "/status") {
			method = http.MethodPost
		}
		require.NoError(t, h.ServeHTTP(rec, httptest.NewRequest(method, "https://shop.example"+target, nil), next), target)
		assert.Zero(t, next.calls, target)
		assert.Equal(t, http.StatusUnauthorized, rec.Code, target)
		assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `realm="WooCommerce webhooks"`, target)
	}
	next := new(countingNext)
	for _, target := range []string{"/opsx", "/op", "/shop/ops"} {
		rec := httptest.NewRecorder()
		require.NoError(t, h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil), next), target)
		assert.Equal(t, http.StatusTeapot, rec.Code, target)
	}
	assert.Equal(t, 3, next.calls)
	req := httptest.NewRequest(http.MethodGet, "/shop/product/1?x=y", nil)
	w := httptest.NewRecorder()
	var nop caddyhttp.HandlerFunc = func(http.ResponseWriter, *http.Request) error { return nil }
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = h.ServeHTTP(w, req, nop) }), "the pass-through path allocates nothing")
}
