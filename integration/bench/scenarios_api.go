package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// apiRun is list, get and create measured in one authentication mode.
type apiRun struct {
	List, Get, Create result
}

// apiResult holds the webhooks API measurements.
type apiResult struct {
	Keys, Upstream apiRun
	RSSKiB         int64
	// List latency (GET ?per_page=10, one client) in a small and a big site.
	SmallN, BigN       int
	ListSmall, ListBig result
	ListRSSKiB         int64
	// Redis used_memory growth over seeding BigN webhooks.
	BytesPerWebhook float64
}

func setBasic(h http.Header, user, pass string) {
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
}

// authHeader is Basic auth with the shop's Redis key (auth keys).
func (e *env) authHeader() http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	setBasic(h, e.key.CK, e.key.CS)
	return h
}

// createWebhook creates a webhook through wc/v3 over HTTPS (auth keys) and
// returns its id.
func (e *env) createWebhook(c *http.Client, name, topic, status, url string) (int64, error) {
	body := fmt.Sprintf(`{"name":%q,"topic":%q,"delivery_url":%q,"secret":"bench-secret","status":%q}`, name, topic, url, status)
	req, err := http.NewRequest("POST", e.tlsBase+"/wp-json/wc/v3/webhooks", strings.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("new request: %w", err)
	}
	req.Header = e.authHeader()
	res, err := c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("create webhook: %w", err)
	}
	defer res.Body.Close()
	var w struct {
		ID int64 `json:"id"`
	}
	if res.StatusCode != 201 {
		return 0, fmt.Errorf("create webhook: status %d", res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&w); err != nil {
		return 0, fmt.Errorf("decode created webhook: %w", err)
	}
	return w.ID, nil
}

// apiCalls returns the list, get (of id) and create calls on base with
// hdr. Created webhooks are paused (no pings) on topic order.updated, so
// they stay out of the dispatch scenarios.
func apiCalls(e *env, c *http.Client, base string, hdr http.Header, id int64, tag string) [3]func(int) error {
	getURL := fmt.Sprintf("%s/wp-json/wc/v3/webhooks/%d", base, id)
	return [3]func(int) error{
		func(int) error { return send(c, "GET", base+"/wp-json/wc/v3/webhooks", nil, hdr, 200) },
		func(int) error { return send(c, "GET", getURL, nil, hdr, 200) },
		func(i int) error {
			body := fmt.Sprintf(`{"name":"bench %s %d","topic":"order.updated","delivery_url":%q,"secret":"bench-secret","status":"paused"}`, tag, i, e.recvURL)
			return send(c, "POST", base+"/wp-json/wc/v3/webhooks", []byte(body), hdr, 201)
		},
	}
}

// runAPI measures list, get and create over HTTPS with Basic auth, first
// with `auth keys` (a key in Redis), then with `auth upstream` (the
// stand-in's key, verdicts cached by the module), on the same site.
func runAPI(e *env, sz sizes) (apiResult, error) {
	var ar apiResult
	c := e.client(sz.APIConc)
	var first int64
	for i := 0; i < 20; i++ {
		id, err := e.createWebhook(c, fmt.Sprintf("seed %d", i), "order.updated", "paused", e.recvURL)
		if err != nil {
			return ar, err
		}
		if first == 0 {
			first = id
		}
	}
	up := http.Header{"Content-Type": {"application/json"}}
	setBasic(up, e.wooKey.ConsumerKey, e.wooKey.ConsumerSecret)
	// Warm the upstream verdicts (read and write) before timing.
	if err := send(c, "GET", e.upBase+"/wp-json/wc/v3/webhooks", nil, up, 200); err != nil {
		return ar, fmt.Errorf("auth upstream: %w", err)
	}
	body := fmt.Sprintf(`{"name":"warm","topic":"order.updated","delivery_url":%q,"status":"paused"}`, e.recvURL)
	if err := send(c, "POST", e.upBase+"/wp-json/wc/v3/webhooks", []byte(body), up, 201); err != nil {
		return ar, fmt.Errorf("auth upstream: %w", err)
	}
	keys := apiCalls(e, c, e.tlsBase, e.authHeader(), first, "keys")
	ups := apiCalls(e, c, e.upBase, up, first, "upstream")
	for i := 0; i < 2; i++ { // warm list and get in both modes
		closedLoop(sz.APIN/10, sz.APIConc, keys[i])
		closedLoop(sz.APIN/10, sz.APIConc, ups[i])
	}
	e.caddy.ResetPeakRSS()
	// Each kind in both modes back to back, so drift hits both alike.
	dst := [3][2]*result{{&ar.Keys.List, &ar.Upstream.List}, {&ar.Keys.Get, &ar.Upstream.Get}, {&ar.Keys.Create, &ar.Upstream.Create}}
	for i := range dst {
		*dst[i][0] = closedLoop(sz.APIN, sz.APIConc, keys[i])
		*dst[i][1] = closedLoop(sz.APIN, sz.APIConc, ups[i])
	}
	ar.RSSKiB = e.caddy.PeakRSS()
	e.woo.Reset()
	return ar, nil
}

// seedWebhooks stores n webhooks in site straight through redisstore,
// with 8 concurrent writers.
func seedWebhooks(ctx context.Context, site *redisstore.Site, n int, topic, url string) error {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	const secret = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN" // 50 characters, as WooCommerce's
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				h := &redisstore.Webhook{Name: fmt.Sprintf("Webhook %05d", i), Status: redisstore.StatusActive,
					Topic: topic, DeliveryURL: fmt.Sprintf("%s/%d", url, i%maxPaths), Secret: secret,
					APIVersion: redisstore.APIVersionWPV3, UserID: 1, Created: time.Now()}
				if err := site.CreateWebhook(ctx, h); err != nil {
					errs <- fmt.Errorf("seed webhook %d of %s: %w", i, site.Name(), err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// listSite seeds a site with n webhooks and a read key; it returns the
// Basic auth header of that key.
func (e *env) listSite(ctx context.Context, name string, n int) (http.Header, error) {
	site, err := e.store.Site(name)
	if err != nil {
		return nil, err
	}
	ck, cs, _, err := site.AddAPIKey(ctx, 1, "bench", redisstore.PermRead)
	if err != nil {
		return nil, fmt.Errorf("add key to %s: %w", name, err)
	}
	if err := seedWebhooks(ctx, site, n, "order.updated", "https://hooks.example.com/wc"); err != nil {
		return nil, err
	}
	h := http.Header{}
	setBasic(h, ck, cs)
	return h, nil
}

// runListLatency seeds a small and a big site (outside the timing) and
// measures GET /wp-json/wc/v3/webhooks?per_page=10 with one client in
// each; the memory growth over the big seeding gives bytes per webhook.
func runListLatency(e *env, sz sizes, ar *apiResult) error {
	ctx := context.Background()
	ar.SmallN, ar.BigN = sz.ListSmall, sz.ListBig
	small, err := e.listSite(ctx, siteSmall, sz.ListSmall)
	if err != nil {
		return err
	}
	before, err := usedMemory(ctx, e.rdb)
	if err != nil {
		return err
	}
	big, err := e.listSite(ctx, siteBig, sz.ListBig)
	if err != nil {
		return err
	}
	after, err := usedMemory(ctx, e.rdb)
	if err != nil {
		return err
	}
	ar.BytesPerWebhook = float64(after-before) / float64(sz.ListBig)
	c := e.client(1)
	list := func(base string, h http.Header) func(int) error {
		return func(int) error { return send(c, "GET", base+"/wp-json/wc/v3/webhooks?per_page=10", nil, h, 200) }
	}
	closedLoop(50, 1, list(e.smallBase, small))
	closedLoop(50, 1, list(e.bigBase, big))
	e.caddy.ResetPeakRSS()
	ar.ListSmall = closedLoop(sz.ListN, 1, list(e.smallBase, small))
	ar.ListBig = closedLoop(sz.ListN, 1, list(e.bigBase, big))
	ar.ListRSSKiB = e.caddy.PeakRSS()
	return nil
}
