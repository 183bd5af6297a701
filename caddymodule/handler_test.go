package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// provisionHandler provisions h in a context whose config holds the
// wc_webhooks app appJSON (none when empty), and returns the app.
func provisionHandler(t *testing.T, h *Handler, appJSON string) *App {
	t.Helper()
	cfg := &caddy.Config{AppsRaw: caddy.ModuleMap{}}
	base, err := caddy.ProvisionContext(cfg)
	require.NoError(t, err)
	if appJSON != "" {
		cfg.AppsRaw["wc_webhooks"] = json.RawMessage(appJSON)
	}
	ctx, cancel := caddy.NewContext(base)
	t.Cleanup(cancel) // cleans up the app ctx.App loaded
	require.NoError(t, h.Provision(ctx))
	return h.app
}

// countingNext is a next handler that counts its calls.
type countingNext struct{ calls int }

func (c *countingNext) ServeHTTP(w http.ResponseWriter, _ *http.Request) error {
	c.calls++
	w.WriteHeader(http.StatusTeapot)
	return nil
}

func TestHandlerProvisionDefaults(t *testing.T) {
	h := new(Handler)
	app := provisionHandler(t, h, "")
	require.NotNil(t, app, "the app is created although the config has none")
	assert.True(t, app.conn.embedded)
	assert.Equal(t, AuthUpstream, h.Auth)
	assert.Equal(t, caddy.Duration(DefaultAuthCacheTTL), h.AuthCacheTTL)
	assert.Equal(t, "UTC", h.Timezone)
	assert.Equal(t, time.UTC.String(), h.location.String())
	assert.EqualValues(t, DefaultMaxBodySize, h.MaxBodySize)
	assert.Empty(t, h.Site)
	assert.Empty(t, h.HomeURL)
}

func TestHandlerProvisionSettings(t *testing.T) {
	h := &Handler{Site: "Shop.Example", Auth: "keys", Timezone: "Europe/Berlin", HomeURL: "https://shop.example/", MaxBodySize: 10}
	app := provisionHandler(t, h, `{"redis":"redis://127.0.0.1:1/2","key_prefix":"x"}`)
	assert.Equal(t, "x", app.KeyPrefix, "the configured app is used")
	assert.Equal(t, "Europe/Berlin", h.location.String())
	assert.Equal(t, "https://shop.example", h.HomeURL)
	assert.Equal(t, "Shop.Example", h.Site, "a set site is used as given")
}

func TestHandlerProvisionErrors(t *testing.T) {
	cases := map[string]*Handler{
		"auth":          {Auth: "basic"},
		"timezone":      {Timezone: "Mars/Olympus"},
		"negative ttl":  {AuthCacheTTL: -1},
		"negative size": {MaxBodySize: -1},
		"site braces":   {Site: "a{b}"},
		"home scheme":   {HomeURL: "ftp://shop.example"},
		"home relative": {HomeURL: "/shop"},
		"home query":    {HomeURL: "https://shop.example/?a=b"},
	}
	for name, h := range cases {
		cfg := &caddy.Config{AppsRaw: caddy.ModuleMap{}}
		base, err := caddy.ProvisionContext(cfg)
		require.NoError(t, err)
		ctx, cancel := caddy.NewContext(base)
		assert.Error(t, h.Provision(ctx), name)
		cancel()
	}
}

func TestHotPathPassesThroughWithoutRedis(t *testing.T) {
	h := new(Handler)
	app := provisionHandler(t, h, `{"redis":"redis://127.0.0.1:1/0"}`)
	next := new(countingNext)
	for _, target := range []string{
		"/", "/shop/", "/wp-json/wc/v3/orders", "/wp-json/wc/v3/webhooksx",
		"/?rest_route=/wc/v3/orders", "/wc-api/v3/products", "/wp-admin/admin-ajax.php?action=x",
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, target, nil)
		require.NoError(t, h.ServeHTTP(rec, req, next), target)
		assert.Equal(t, http.StatusTeapot, rec.Code, target)
	}
	assert.Equal(t, 7, next.calls)
	app.conn.mu.Lock()
	assert.Nil(t, app.conn.client, "pass-through never creates a Redis client")
	app.conn.mu.Unlock()
	assert.Nil(t, app.store.Load(), "pass-through never opens the store")

	req := httptest.NewRequest(http.MethodGet, "/shop/product/1?x=y", nil)
	w := httptest.NewRecorder()
	var nop caddyhttp.HandlerFunc = func(http.ResponseWriter, *http.Request) error { return nil }
	allocs := testing.AllocsPerRun(100, func() { _ = h.ServeHTTP(w, req, nop) })
	assert.Zero(t, allocs, "the pass-through path allocates nothing")
}

func TestHotPathReturnsNextError(t *testing.T) {
	h := new(Handler)
	provisionHandler(t, h, "")
	want := errors.New("upstream down")
	var next caddyhttp.HandlerFunc = func(http.ResponseWriter, *http.Request) error { return want }
	err := h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), next)
	assert.Same(t, want, err)
}

func TestAPIRequestDoesNotCallNext(t *testing.T) {
	h := &Handler{Auth: AuthKeys}
	provisionHandler(t, h, "")
	next := new(countingNext)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://Shop.Example:8080/wp-json/wc/v3/webhooks", nil)
	require.NoError(t, h.ServeHTTP(rec, req, next))
	assert.Zero(t, next.calls, "the API answers itself")
	assert.NotEqual(t, http.StatusTeapot, rec.Code)
	_, cached := h.sites.Load("shop.example")
	assert.True(t, cached, "the site name is the host, lower case, without port")
}

func TestAPIRequestWithBadHost(t *testing.T) {
	h := new(Handler)
	provisionHandler(t, h, "")
	req := httptest.NewRequest(http.MethodGet, "/wp-json/wc/v3/webhooks", nil)
	req.Host = "a{b}"
	err := h.ServeHTTP(httptest.NewRecorder(), req, new(countingNext))
	var herr caddyhttp.HandlerError
	require.ErrorAs(t, err, &herr)
	assert.Equal(t, http.StatusBadRequest, herr.StatusCode)
}

func TestSiteCacheIsBounded(t *testing.T) {
	h := new(Handler)
	provisionHandler(t, h, "")
	h.nsites.Store(maxCachedSites)
	api, err := h.siteAPI("late.example", "https://late.example")
	require.NoError(t, err)
	require.NotNil(t, api)
	_, cached := h.sites.Load("late.example")
	assert.False(t, cached, "beyond the bound sites are served uncached")
}

func TestSiteFromHost(t *testing.T) {
	for in, want := range map[string]string{
		"Shop.Example:8443": "shop.example",
		"shop.example.":     "shop.example",
		"[::1]:8080":        "::1",
		"[::1]":             "::1",
		"127.0.0.1":         "127.0.0.1",
		"":                  "",
	} {
		assert.Equal(t, want, siteFromHost(in), in)
	}
	assert.False(t, validSiteName(""))
	assert.False(t, validSiteName("a b"))
	assert.False(t, validSiteName(strings.Repeat("a", 201)))
	assert.True(t, validSiteName("shop-1.example_x:2"))
}

// prepared returns req set up as Caddy's server does (replacer, vars,
// route groups, original request).
func prepared(req *http.Request, w http.ResponseWriter) *http.Request {
	return caddyhttp.PrepareRequest(req, caddy.NewReplacer(), w, nil)
}

func TestProberRunsNextAgainForEachProbe(t *testing.T) {
	// The rest of the route is a `handle` block (a route group) holding the
	// "upstream". Each probe must enter it, also the second one.
	routes := caddyhttp.RouteList{{
		Group:       "handle_group",
		HandlersRaw: []json.RawMessage{json.RawMessage(`{"handler":"static_response","status_code":201,"body":"from upstream {http.request.uri.path}","headers":{"X-Up":["1"]}}`)},
	}}
	require.NoError(t, routes.Provision(testContext(t)))
	var fallback caddyhttp.HandlerFunc = func(w http.ResponseWriter, _ *http.Request) error {
		w.WriteHeader(http.StatusNotFound)
		return nil
	}
	next := routes.Compile(fallback)

	w := httptest.NewRecorder()
	orig := prepared(httptest.NewRequest(http.MethodGet, "http://shop.example/wp-json/wc/v3/webhooks", nil), w)
	orig.RemoteAddr = "192.0.2.1:1234"
	p := newNextProber(orig, next)
	for i := range 2 {
		probe, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "/?rest_route=/wc/v3/webhooks", nil)
		require.NoError(t, err)
		resp, err := p.Probe(context.Background(), probe)
		require.NoError(t, err, "probe %d", i)
		body, _ := io.ReadAll(resp.Body)
		assert.Equal(t, 201, resp.StatusCode, "probe %d", i)
		assert.Equal(t, "1", resp.Header.Get("X-Up"))
		assert.Contains(t, string(body), "from upstream", "probe %d", i)
		assert.Equal(t, probe.URL.String(), resp.Request.URL.String())
		assert.Equal(t, "shop.example", resp.Request.Host, "the client's Host is used")
		assert.Equal(t, "192.0.2.1:1234", resp.Request.RemoteAddr)
	}
	groups := orig.Context().Value(routeGroupCtxKey).(map[string]struct{})
	assert.Empty(t, groups, "probes leave the client request's route groups alone")
	assert.Zero(t, w.Body.Len(), "probes never write to the client")
}

func TestProberPassesNextErrorAndCancellation(t *testing.T) {
	w := httptest.NewRecorder()
	orig := prepared(httptest.NewRequest(http.MethodGet, "/wp-json/wc/v3/webhooks", nil), w)
	var failing caddyhttp.HandlerFunc = func(http.ResponseWriter, *http.Request) error {
		return caddyhttp.Error(http.StatusBadGateway, errors.New("dial refused"))
	}
	probe := httptest.NewRequest(http.MethodGet, "/?rest_route=/wc/v3/webhooks", nil)
	_, err := newNextProber(orig, failing).Probe(context.Background(), probe)
	assert.ErrorContains(t, err, "dial refused")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var sawCtx caddyhttp.HandlerFunc = func(w http.ResponseWriter, r *http.Request) error {
		if r.Context().Err() != nil {
			return r.Context().Err()
		}
		_, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
		if !ok {
			return errors.New("no replacer")
		}
		return nil
	}
	_, err = newNextProber(orig, sawCtx).Probe(ctx, probe.WithContext(ctx))
	assert.ErrorIs(t, err, context.Canceled, "the probe's context governs cancellation")
	resp, err := newNextProber(orig, sawCtx).Probe(context.Background(), probe)
	require.NoError(t, err, "Caddy's values come from the client request")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "nothing written means 200")

	_, err = newNextProber(orig, sawCtx).Probe(context.Background(), nil)
	assert.Error(t, err)
}

func TestProbeRecorderBounds(t *testing.T) {
	r := newProbeRecorder(8)
	r.WriteHeader(http.StatusEarlyHints)
	r.Header().Set("Content-Length", "20")
	r.WriteHeader(http.StatusForbidden)
	r.WriteHeader(http.StatusOK)
	n, err := r.Write([]byte("0123456789"))
	require.NoError(t, err)
	assert.Equal(t, 10, n, "the whole write is acknowledged")
	n, _ = r.Write([]byte("abcdefghij"))
	assert.Equal(t, 10, n)
	resp := r.response(httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "1xx is skipped, the first final status wins")
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "01234567", string(body))
	assert.EqualValues(t, 8, resp.ContentLength)
	assert.Equal(t, "8", resp.Header.Get("Content-Length"))
	assert.True(t, r.truncated)
}
