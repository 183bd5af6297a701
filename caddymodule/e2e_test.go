package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wcwebhooks/caddy-wc-webhooks/internal/freeport"
)

// standInWordPress answers probes like WooCommerce would for one good
// Authorization header, and every other request with "wordpress <path>".
type standInWordPress struct {
	probes atomic.Int64
}

func (s *standInWordPress) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := r.URL.Query().Get("rest_route")
	if !strings.HasPrefix(route, "/wc/") {
		fmt.Fprintf(w, "wordpress %s", r.URL.Path)
		return
	}
	s.probes.Add(1)
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Basic Z29vZDpjcmVkcw==" {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"code":"woocommerce_rest_authentication_error","message":"Consumer key is invalid.","data":{"status":401}}`)
		return
	}
	io.WriteString(w, `[]`)
}

// loadCaddy runs config in this process and stops it at the end of the test.
func loadCaddy(t *testing.T, config string) {
	t.Helper()
	require.NoError(t, caddy.Load([]byte(config), true))
	t.Cleanup(func() { _ = caddy.Stop() })
}

func freeAddr(t *testing.T) string {
	t.Helper()
	port, err := freeport.Pick()
	require.NoError(t, err)
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// TestEndToEndEmbedded runs Caddy in process with the handler in front of
// reverse_proxy (inside a handle block, as a Caddyfile makes it), the
// embedded Redis and upstream authentication.
func TestEndToEndEmbedded(t *testing.T) {
	wp := new(standInWordPress)
	upstream := httptest.NewServer(wp)
	t.Cleanup(upstream.Close)
	addr, adminAddr := freeAddr(t), freeAddr(t)
	config := fmt.Sprintf(`{
		"admin": {"listen": %q, "config": {"persist": false}},
		"logging": {"logs": {"default": {"level": "ERROR"}}},
		"apps": {"http": {"grace_period": 1, "servers": {"srv0": {
			"listen": [%q],
			"automatic_https": {"disable": true},
			"routes": [{"handle": [
				{"handler": "wc_webhooks", "timezone": "Europe/Berlin"},
				{"handler": "subroute", "routes": [{"group": "g", "handle": [
					{"handler": "reverse_proxy", "upstreams": [{"dial": %q}]}
				]}]}
			]}]
		}}}}
	}`, adminAddr, addr, strings.TrimPrefix(upstream.URL, "http://"))
	loadCaddy(t, config)
	base := "http://" + addr

	get := func(path, auth string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	code, body := get("/shop/cart", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "wordpress /shop/cart", body, "other requests pass through")

	code, body = get("/wp-json/wc/v3/webhooks", "Basic "+"YmFkOmNyZWRz")
	assert.Equal(t, http.StatusUnauthorized, code, body)
	assert.NotContains(t, body, "wordpress")
	assert.Equal(t, int64(1), wp.probes.Load(), "the credentials were judged by the upstream")

	code, body = get("/wp-json/wc/v3/webhooks", "Basic Z29vZDpjcmVkcw==")
	assert.Equal(t, http.StatusOK, code, body)
	var list []any
	require.NoError(t, json.Unmarshal([]byte(body), &list), body)
	assert.Empty(t, list)
	assert.Equal(t, int64(2), wp.probes.Load())

	req, err := http.NewRequest(http.MethodPost, base+"/wp-json/wc/v3/webhooks",
		strings.NewReader(`{"name":"Order hook","topic":"order.created","delivery_url":"https://receiver.example/hook"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Basic Z29vZDpjcmVkcw==")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	created, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(created))

	// A reload with the same config keeps the embedded Redis (and its
	// data): the pool keeps one reference, never zero, never two.
	refsBefore, ok := redisPool.References(embeddedPoolKey)
	require.True(t, ok)
	require.NoError(t, caddy.Load([]byte(config), true))
	refsAfter, ok := redisPool.References(embeddedPoolKey)
	require.True(t, ok)
	assert.Equal(t, refsBefore, refsAfter)

	code, body = get("/shop/cart", "")
	assert.Equal(t, "wordpress /shop/cart", body)
	assert.Equal(t, http.StatusOK, code)

	code, body = get("/wp-json/wc/v3/webhooks", "Basic Z29vZDpjcmVkcw==")
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, "Order hook", "the webhook survived the reload")

	// Without --redis the CLI manages keys through the admin API, which
	// reaches the embedded Redis.
	t.Setenv(RedisEnv, "")
	out, err := runCLI(t, "add-key", "--site", "127.0.0.1", "--address", adminAddr, "--description", "via admin")
	require.NoError(t, err)
	secret := regexp.MustCompile(`consumer_secret:\s+(cs_[0-9a-f]+)`).FindStringSubmatch(out)
	id := regexp.MustCompile(`key_id:\s+(\d+)`).FindStringSubmatch(out)
	require.Len(t, secret, 2, out)
	require.Len(t, id, 2, out)
	out, err = runCLI(t, "list-keys", "--site", "127.0.0.1", "--address", adminAddr)
	require.NoError(t, err)
	assert.Contains(t, out, "via admin")
	assert.NotContains(t, out, secret[1])
	keys, err := (&adminBackend{addr: adminAddr, site: "127.0.0.1"}).list(context.Background())
	require.NoError(t, err)
	require.Len(t, keys, 1)
	raw, _ := json.Marshal(keys)
	assert.NotContains(t, string(raw), "cs_", "the admin list carries no secret")
	_, err = runCLI(t, "delete-key", "--site", "127.0.0.1", "--address", adminAddr, "--id", id[1])
	require.NoError(t, err)
	_, err = runCLI(t, "delete-key", "--site", "127.0.0.1", "--address", adminAddr, "--id", id[1])
	assert.ErrorContains(t, err, "not found")
	_, err = runCLI(t, "list-keys", "--site", "a{b}", "--address", adminAddr)
	assert.ErrorContains(t, err, "HTTP 400")
}
