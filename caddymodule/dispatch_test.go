package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore/redistest"
)

// waitFor is the bound of every wait for asynchronous delivery; tests
// never assert on how long anything takes.
const waitFor = 30 * time.Second

func TestDispatchCaddyfileAllOptions(t *testing.T) {
	d := caddyfile.NewTestDispenser(`wc_webhooks {
		redis redis://127.0.0.1:6379/0
		dispatch {
			http_timeout 30s
			ping_timeout 2s
			retry_ladder 1s 1m 1h
			max_failures 7
			keep_deliveries 10
			max_log_body 16KiB
			job_retention 6h
			max_concurrent 8
			max_per_webhook 2
			allow_networks 127.0.0.0/8 10.1.2.3 fd00::/8
			woocommerce_version 9.9.0
			wordpress_version 6.8.1
		}
	}`)
	var app App
	require.NoError(t, app.UnmarshalCaddyfile(d))
	c := app.Dispatch
	require.NotNil(t, c)
	assert.True(t, c.enabled())
	assert.Equal(t, caddy.Duration(30*time.Second), c.HTTPTimeout)
	assert.Equal(t, caddy.Duration(2*time.Second), c.PingTimeout)
	assert.Equal(t, []caddy.Duration{caddy.Duration(time.Second), caddy.Duration(time.Minute), caddy.Duration(time.Hour)}, c.RetryLadder)
	assert.Equal(t, 7, c.MaxFailures)
	assert.Equal(t, 10, c.KeepDeliveries)
	assert.Equal(t, 16<<10, c.MaxLogBody)
	assert.Equal(t, caddy.Duration(6*time.Hour), c.JobRetention)
	assert.Equal(t, 8, c.MaxConcurrent)
	assert.Equal(t, 2, c.MaxPerWebhook)
	assert.Equal(t, []string{"127.0.0.0/8", "10.1.2.3/32", "fd00::/8"}, c.AllowNetworks)
	assert.Equal(t, "9.9.0", c.WooCommerceVersion)
	assert.Equal(t, "6.8.1", c.WordPressVersion)
	assert.Equal(t, "redis://127.0.0.1:6379/0", app.Redis, "the other options still parse")
}

func TestDispatchCaddyfileOff(t *testing.T) {
	for _, in := range []string{
		"wc_webhooks {\ndispatch off\n}",
		"wc_webhooks {\ndispatch {\noff\n}\n}",
		"wc_webhooks {\ndispatch {\noff\nhttp_timeout 5s\n}\n}",
	} {
		var app App
		require.NoError(t, app.UnmarshalCaddyfile(caddyfile.NewTestDispenser(in)), in)
		require.NotNil(t, app.Dispatch, in)
		assert.False(t, app.Dispatch.enabled(), in)
		raw, err := json.Marshal(app.Dispatch)
		require.NoError(t, err)
		assert.Contains(t, string(raw), `"enabled":false`, in)
	}
	var app App
	require.NoError(t, app.UnmarshalCaddyfile(caddyfile.NewTestDispenser("wc_webhooks {\ndispatch {\n}\n}")))
	assert.True(t, app.Dispatch.enabled(), "an empty block keeps delivery on")
}

func TestDispatchCaddyfileErrors(t *testing.T) {
	cases := map[string]string{
		"argument":         "dispatch on",
		"two arguments":    "dispatch off now",
		"unknown":          "dispatch {\nworkers 3\n}",
		"repeated":         "dispatch {\nmax_failures 3\nmax_failures 4\n}",
		"repeated block":   "dispatch off\ndispatch off",
		"missing arg":      "dispatch {\nhttp_timeout\n}",
		"two timeouts":     "dispatch {\nhttp_timeout 1s 2s\n}",
		"bad timeout":      "dispatch {\nhttp_timeout soon\n}",
		"zero timeout":     "dispatch {\nping_timeout 0s\n}",
		"bad ladder":       "dispatch {\nretry_ladder 1s never\n}",
		"negative ladder":  "dispatch {\nretry_ladder -1s\n}",
		"empty ladder":     "dispatch {\nretry_ladder\n}",
		"zero failures":    "dispatch {\nmax_failures 0\n}",
		"text failures":    "dispatch {\nkeep_deliveries many\n}",
		"bad size":         "dispatch {\nmax_log_body lots\n}",
		"zero retention":   "dispatch {\njob_retention 0s\n}",
		"huge size":        "dispatch {\nmax_log_body 2GiB\n}",
		"bad network":      "dispatch {\nallow_networks localhost\n}",
		"bad version":      "dispatch {\nwoocommerce_version 9.8\\r\\n\n}",
		"version spaces":   "dispatch {\nwordpress_version \"6 8\"\n}",
		"off with arg":     "dispatch {\noff now\n}",
		"nested in option": "dispatch {\nmax_concurrent 3 {\nx\n}\n}",
	}
	for name, in := range cases {
		var app App
		err := app.UnmarshalCaddyfile(caddyfile.NewTestDispenser("wc_webhooks {\n" + in + "\n}"))
		assert.Error(t, err, name)
	}
}

func TestDispatchProvisionDefaults(t *testing.T) {
	app := new(App)
	provisionApp(t, app)
	c := app.dispatch
	assert.True(t, c.enabled())
	assert.Equal(t, caddy.Duration(DefaultHTTPTimeout), c.HTTPTimeout)
	assert.Equal(t, caddy.Duration(DefaultPingTimeout), c.PingTimeout)
	require.Len(t, c.RetryLadder, len(dispatcher.DefaultRetryLadder))
	assert.Equal(t, caddy.Duration(10*time.Hour), c.RetryLadder[5])
	assert.Equal(t, DefaultMaxFailures, c.MaxFailures)
	assert.Equal(t, DefaultKeepDeliveries, c.KeepDeliveries)
	assert.Equal(t, DefaultMaxLogBody, c.MaxLogBody)
	assert.Equal(t, caddy.Duration(72*time.Hour), c.JobRetention)
	assert.Equal(t, DefaultMaxConcurrent, c.MaxConcurrent)
	assert.Equal(t, DefaultMaxPerWebhook, c.MaxPerWebhook)
	assert.Empty(t, c.AllowNetworks)
	assert.Equal(t, "9.8.1", c.WooCommerceVersion)
	assert.Equal(t, "6.8", c.WordPressVersion)
	assert.Nil(t, app.Dispatch, "the configured settings are left as given")
}

func TestDispatchProvisionErrors(t *testing.T) {
	no := false
	cases := map[string]*DispatchConfig{
		"negative timeout": {HTTPTimeout: -1},
		"negative ping":    {PingTimeout: -1, Enabled: &no},
		"zero step":        {RetryLadder: []caddy.Duration{0}},
		"long ladder":      {RetryLadder: make([]caddy.Duration, 51)},
		"negative ints":    {MaxConcurrent: -1},
		"bad network":      {AllowNetworks: []string{"10.0.0.0/33"}},
		"bad version":      {WordPressVersion: "6.8\r\nX-Evil: 1"},
	}
	before := poolReferences()
	for name, c := range cases {
		app := &App{Dispatch: c}
		require.Error(t, app.Provision(testContext(t)), name)
		require.NoError(t, app.Cleanup(), name)
	}
	assert.Equal(t, before, poolReferences(), "failed provisions hold no pool reference")
}

// startApp provisions and starts an app on addr with extra dispatch
// settings, cleaned up at the end of the test (and earlier by the caller).
func startApp(t *testing.T, addr string, c *DispatchConfig) *App {
	t.Helper()
	app := &App{Redis: "redis://" + addr + "/0", Dispatch: c}
	require.NoError(t, app.Provision(testContext(t)))
	t.Cleanup(func() { _ = app.Cleanup() })
	require.NoError(t, app.Start())
	return app
}

// runner returns the dispatch runner of app's pool entry.
func runner(t *testing.T, app *App) *dispatchRunner {
	t.Helper()
	app.mu.Lock()
	defer app.mu.Unlock()
	require.NotNil(t, app.conn)
	return app.conn.dispatch
}

func TestDispatcherLifecycle(t *testing.T) {
	addr := redistest.Start(t)
	base := runningDispatchers.Load()

	// First config: one dispatcher, started in Start.
	a1 := &App{Redis: "redis://" + addr + "/0"}
	require.NoError(t, a1.Provision(testContext(t)))
	t.Cleanup(func() { _ = a1.Cleanup() })
	r := runner(t, a1)
	assert.Nil(t, r.running(), "Provision starts no dispatcher")
	require.NoError(t, a1.Start())
	d1 := r.running()
	require.NotNil(t, d1)
	assert.Equal(t, base+1, runningDispatchers.Load())
	require.NoError(t, a1.Start(), "Start is idempotent")
	assert.Equal(t, base+1, runningDispatchers.Load())

	// A reload with the same settings keeps it: the new config starts
	// before the old stops and is cleaned up.
	a2 := startApp(t, addr, &DispatchConfig{})
	assert.Same(t, d1, r.running())
	assert.Equal(t, base+1, runningDispatchers.Load(), "no second set of workers")
	require.NoError(t, a1.Stop())
	require.NoError(t, a1.Cleanup())
	assert.Same(t, d1, r.running(), "the old config's cleanup leaves the dispatcher running")

	// Changed settings replace it: still exactly one.
	a3 := startApp(t, addr, &DispatchConfig{MaxConcurrent: 3})
	d3 := r.running()
	require.NotNil(t, d3)
	assert.NotSame(t, d1, d3)
	assert.Equal(t, base+1, runningDispatchers.Load())
	require.NoError(t, a2.Cleanup())

	// A config with dispatch off stops it.
	no := false
	a4 := startApp(t, addr, &DispatchConfig{Enabled: &no})
	assert.Nil(t, r.running())
	assert.Equal(t, base, runningDispatchers.Load())
	require.NoError(t, a3.Cleanup())

	// Turned on again, then the last reference goes: stopped.
	a5 := startApp(t, addr, nil)
	require.NotNil(t, r.running())
	assert.Equal(t, base+1, runningDispatchers.Load())
	require.NoError(t, a4.Cleanup())
	require.NoError(t, a5.Stop())
	assert.NotNil(t, r.running(), "Stop of the app leaves the pool's dispatcher to Cleanup")
	require.NoError(t, a5.Cleanup())
	assert.Nil(t, r.running())
	assert.Equal(t, base, runningDispatchers.Load())

	// A Start after Cleanup starts nothing.
	require.NoError(t, a5.Start())
	assert.Equal(t, base, runningDispatchers.Load())
}

func TestValidateStartsNoDispatcher(t *testing.T) {
	addr := redistest.Start(t)
	base := runningDispatchers.Load()
	cfgJSON := `{"admin":{"disabled":true},"apps":{"wc_webhooks":{"redis":"redis://` + addr + `/0",
		"dispatch":{"max_concurrent":2,"allow_networks":["127.0.0.0/8"]}}}}`
	var cfg caddy.Config
	require.NoError(t, json.Unmarshal([]byte(cfgJSON), &cfg))
	before := poolReferences()
	require.NoError(t, caddy.Validate(&cfg))
	assert.Equal(t, base, runningDispatchers.Load())
	assert.Equal(t, before, poolReferences())
	// Nothing was written to Redis either (no site, no group).
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	n, err := c.DBSize(context.Background()).Result()
	require.NoError(t, err)
	assert.Zero(t, n)
}

// receiver records the webhook requests it gets.
type receiver struct {
	mu   sync.Mutex
	reqs []recorded
	got  chan struct{}
}

type recorded struct {
	header http.Header
	body   string
}

func newReceiver(t *testing.T) (*receiver, *httptest.Server) {
	rc := &receiver{got: make(chan struct{}, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, recorded{r.Header.Clone(), string(b)})
		rc.mu.Unlock()
		rc.got <- struct{}{}
	}))
	t.Cleanup(srv.Close)
	return rc, srv
}

// wait waits for the next request and returns it.
func (rc *receiver) wait(t *testing.T) recorded {
	t.Helper()
	select {
	case <-rc.got:
	case <-time.After(waitFor):
		t.Fatal("no webhook request arrived")
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.reqs[len(rc.reqs)-1]
}

// metricValue sums the samples of a metric family in reg whose labels
// include want.
func metricValue(t *testing.T, reg prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	total := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	sample:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue sample
				}
			}
			switch {
			case m.Counter != nil:
				total += m.GetCounter().GetValue()
			case m.Gauge != nil:
				total += m.GetGauge().GetValue()
			case m.Histogram != nil:
				total += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return total
}

// deliverOne creates an active webhook to url on site and publishes one
// event through the site's adapter, returning the event's payload.
func deliverOne(t *testing.T, app *App, siteName, url string) string {
	t.Helper()
	ctx := context.Background()
	site, err := app.Store().Site(siteName)
	require.NoError(t, err)
	hook := &redisstore.Webhook{Name: "h", Topic: "order.created", DeliveryURL: url, Secret: "s3cret", APIVersion: "wp_api_v3"}
	require.NoError(t, site.CreateWebhook(ctx, hook))
	disp := &siteDispatch{app: app, site: site, home: "https://" + siteName}
	payload := `{"id":42,"note":"caf\u00e9"}`
	_, err = disp.Publish(ctx, "order.created", 42, []byte(payload))
	require.NoError(t, err)
	return payload
}

func TestDeliveryMetrics(t *testing.T) {
	addr := redistest.Start(t)
	rc, srv := newReceiver(t)
	ctx := testContext(t)
	app := &App{Redis: "redis://" + addr + "/0", Dispatch: &DispatchConfig{AllowNetworks: []string{"127.0.0.0/8"}}}
	require.NoError(t, app.Provision(ctx))
	t.Cleanup(func() { _ = app.Cleanup() })
	require.NoError(t, app.Start())
	reg := ctx.GetMetricsRegistry()
	site := "metrics.example"
	before := metricValue(t, reg, "caddy_wc_webhooks_delivery_attempts_total", map[string]string{"site": site, "outcome": "success"})

	payload := deliverOne(t, app, site, srv.URL+"/hook")
	got := rc.wait(t)
	assert.Equal(t, payload, got.body, "the payload is delivered byte for byte")
	assert.Equal(t, "order.created", got.header.Get("X-WC-Webhook-Topic"))
	assert.Equal(t, "https://"+site+"/", got.header.Get("X-WC-Webhook-Source"), "the adapter's home URL is the source")
	assert.Equal(t, "WooCommerce/9.8.1 Hookshot (WordPress/6.8)", got.header.Get("User-Agent"))

	// The counters are updated after the outcome is recorded: wait for them.
	require.Eventually(t, func() bool {
		return metricValue(t, reg, "caddy_wc_webhooks_delivery_attempts_total",
			map[string]string{"site": site, "outcome": "success"}) == before+1
	}, waitFor, 20*time.Millisecond)
	assert.GreaterOrEqual(t, metricValue(t, reg, "caddy_wc_webhooks_delivery_attempt_duration_seconds", map[string]string{"site": site}), 1.0)
	assert.GreaterOrEqual(t, metricValue(t, reg, "caddy_wc_webhooks_events_total", map[string]string{"site": site}), 1.0)

	// The queue gauges come from QueueStats.
	metrics.refreshQueues(context.Background(), runner(t, app).running(), app.Store(), app.logger)
	families, err := reg.Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	assert.True(t, names["caddy_wc_webhooks_stream_lag"], "stream lag gauge registered and set")
	assert.True(t, names["caddy_wc_webhooks_stream_pending"])

	// A reload registers the same collectors in the new registry: the
	// count survives.
	ctx2 := testContext(t)
	app2 := &App{Redis: "redis://" + addr + "/0", Dispatch: &DispatchConfig{AllowNetworks: []string{"127.0.0.0/8"}}}
	require.NoError(t, app2.Provision(ctx2))
	t.Cleanup(func() { _ = app2.Cleanup() })
	assert.Equal(t, before+1, metricValue(t, ctx2.GetMetricsRegistry(), "caddy_wc_webhooks_delivery_attempts_total",
		map[string]string{"site": site, "outcome": "success"}))
}

func TestDeliveryRefusedWithoutAllowNetworks(t *testing.T) {
	addr := redistest.Start(t)
	rc, srv := newReceiver(t)
	ctx := testContext(t)
	app := &App{Redis: "redis://" + addr + "/0"}
	require.NoError(t, app.Provision(ctx))
	t.Cleanup(func() { _ = app.Cleanup() })
	require.NoError(t, app.Start())
	reg := ctx.GetMetricsRegistry()
	site := "guarded.example"
	deliverOne(t, app, site, srv.URL+"/hook")
	require.Eventually(t, func() bool {
		return metricValue(t, reg, "caddy_wc_webhooks_delivery_attempts_total",
			map[string]string{"site": site, "outcome": "failed"}) == 1
	}, waitFor, 20*time.Millisecond)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	assert.Empty(t, rc.reqs, "the SSRF guard refuses loopback by default")
}

func TestEmbeddedStoreAndDispatch(t *testing.T) {
	rc, srv := newReceiver(t)
	app := &App{Dispatch: &DispatchConfig{AllowNetworks: []string{"127.0.0.0/8"}}}
	provisionApp(t, app)
	require.NoError(t, app.Start())
	ctx := context.Background()

	// The store works as before.
	site, err := app.Store().Site("embedded.example")
	require.NoError(t, err)
	_, _, key, err := site.AddAPIKey(ctx, 1, "test", "read_write")
	require.NoError(t, err)
	keys, err := site.ListAPIKeys(ctx)
	require.NoError(t, err)
	require.Len(t, keys, 1)
	assert.Equal(t, key.KeyID, keys[0].KeyID)

	// And delivery runs on it.
	payload := deliverOne(t, app, "embedded.example", srv.URL+"/hook")
	assert.Equal(t, payload, rc.wait(t).body)
}

// TestEndToEndDispatch runs Caddy in process on a real Redis: creating an
// active webhook through the API pings its URL, an event posted to the
// events route is delivered, and the admin /metrics endpoint counts it.
func TestEndToEndDispatch(t *testing.T) {
	redisAddr := redistest.Start(t)
	rc, recv := newReceiver(t)
	wp := new(standInWordPress)
	upstream := httptest.NewServer(wp)
	t.Cleanup(upstream.Close)
	addr, adminAddr := freeAddr(t), freeAddr(t)
	config := fmt.Sprintf(`{
		"admin": {"listen": %q, "config": {"persist": false}},
		"logging": {"logs": {"default": {"level": "ERROR"}}},
		"apps": {
			"wc_webhooks": {"redis": "redis://%s/0", "dispatch": {"allow_networks": ["127.0.0.0/8"]}},
			"http": {"grace_period": 1, "servers": {"srv0": {
				"listen": [%q],
				"automatic_https": {"disable": true},
				"routes": [{"handle": [
					{"handler": "wc_webhooks", "site": "e2e.example", "home_url": "https://e2e.example"},
					{"handler": "reverse_proxy", "upstreams": [{"dial": %q}]}
				]}]
			}}}
		}
	}`, adminAddr, redisAddr, addr, strings.TrimPrefix(upstream.URL, "http://"))
	base := runningDispatchers.Load()
	loadCaddy(t, config)
	assert.Equal(t, base+1, runningDispatchers.Load())

	post := func(path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Basic Z29vZDpjcmVkcw==")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post("/wp-json/wc/v3/webhooks",
		`{"name":"e2e","status":"active","topic":"order.created","delivery_url":"`+recv.URL+`/hook"}`)
	require.Equal(t, http.StatusCreated, code, body)
	ping := rc.wait(t)
	assert.Regexp(t, `^webhook_id=\d+$`, ping.body, "creating an active webhook pings it")

	code, body = post("/wp-json/wc-webhooks/v1/events", `{"topic":"order.created","resource_id":7,"payload":{"id":7}}`)
	require.Equal(t, http.StatusAccepted, code, body)
	got := rc.wait(t)
	assert.Equal(t, `{"id":7}`, got.body)
	assert.Equal(t, "https://e2e.example/", got.header.Get("X-WC-Webhook-Source"))

	// A reload with the same config keeps the one dispatcher.
	require.NoError(t, caddy.Load([]byte(config), true))
	assert.Equal(t, base+1, runningDispatchers.Load())

	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + adminAddr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `caddy_wc_webhooks_delivery_attempts_total{outcome="success",site="e2e.example"} 1`) &&
			strings.Contains(string(b), `caddy_wc_webhooks_pings_total{result="ok",site="e2e.example"} 1`)
	}, waitFor, 50*time.Millisecond, "the admin endpoint serves the delivery metrics after a reload")

	require.NoError(t, caddy.Stop())
	assert.Equal(t, base, runningDispatchers.Load(), "stopping Caddy stops the dispatcher")
}

func TestDispatchOffRegistersSitesAndHomes(t *testing.T) {
	addr := redistest.Start(t)
	no := false
	app := startApp(t, addr, &DispatchConfig{Enabled: &no})
	r := runner(t, app)
	require.Nil(t, r.running(), "dispatch off runs no dispatcher")
	ctx := context.Background()
	site, err := app.Store().Site("api-only.example")
	require.NoError(t, err)

	// Queues are created and the site recorded, for other processes.
	disp := &siteDispatch{app: app, site: site, home: "http://api-only.example"}
	_, err = disp.Publish(ctx, "order.created", 1, []byte(`{"id":1}`))
	require.NoError(t, err)
	known, err := app.Store().KnownSites(ctx)
	require.NoError(t, err)
	assert.Contains(t, known, "api-only.example")
	st, err := site.QueueStats(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, st.Events, "the event waits in Redis for a dispatcher")

	// The first request's home is kept; a configured home_url wins.
	assert.Equal(t, "http://api-only.example", r.siteDefaults("api-only.example").HomeURL)
	require.NoError(t, app.ensureSite(ctx, site, "https://other.example", false))
	assert.Equal(t, "http://api-only.example", r.siteDefaults("api-only.example").HomeURL)
	require.NoError(t, app.ensureSite(ctx, site, "https://shop.example", true))
	assert.Equal(t, "https://shop.example", r.siteDefaults("api-only.example").HomeURL)
	assert.Equal(t, "https://unknown.example", r.siteDefaults("unknown.example").HomeURL)

	// A cleaned-up app refuses instead of panicking.
	require.NoError(t, app.Cleanup())
	_, err = disp.Publish(ctx, "order.created", 1, nil)
	assert.Error(t, err)
}
