package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// sizes bound one run's traffic.
type sizes struct {
	PassRounds, PassN, PassConc int
	APIN, APIConc               int
	DispatchN, DispatchConc     int
	BareConc                    int
	RateSeconds                 float64
	Rates                       []float64
}

var (
	quickSizes = sizes{PassRounds: 2, PassN: 1000, PassConc: 16, APIN: 200, APIConc: 8,
		DispatchN: 500, DispatchConc: 8, BareConc: 4, RateSeconds: 2, Rates: []float64{100, 500}}
	fullSizes = sizes{PassRounds: 5, PassN: 5000, PassConc: 16, APIN: 1000, APIConc: 8,
		DispatchN: 3000, DispatchConc: 8, BareConc: 4, RateSeconds: 10, Rates: []float64{100, 500}}
)

// passResult is the pass-through comparison.
type passResult struct {
	Plain, Module []result // one per round
	RSSKiB        int64
}

// runPassThrough alternates rounds of GETs of the small page through the
// plain site and the module's site.
func runPassThrough(e *env, sz sizes) passResult {
	var pr passResult
	c := e.client(sz.PassConc)
	get := func(base string) func(int) error {
		return func(int) error { return send(c, "GET", base+"/shop/", nil, nil, 200) }
	}
	// Warm both paths (connections, Caddy's pools).
	closedLoop(200, sz.PassConc, get(e.plainBase))
	closedLoop(200, sz.PassConc, get(e.modBase))
	e.caddy.ResetPeakRSS()
	for r := 0; r < sz.PassRounds; r++ {
		if r%2 == 0 {
			pr.Plain = append(pr.Plain, closedLoop(sz.PassN, sz.PassConc, get(e.plainBase)))
			pr.Module = append(pr.Module, closedLoop(sz.PassN, sz.PassConc, get(e.modBase)))
		} else {
			pr.Module = append(pr.Module, closedLoop(sz.PassN, sz.PassConc, get(e.modBase)))
			pr.Plain = append(pr.Plain, closedLoop(sz.PassN, sz.PassConc, get(e.plainBase)))
		}
	}
	pr.RSSKiB = e.caddy.PeakRSS()
	return pr
}

// apiResult holds the webhooks API measurements.
type apiResult struct {
	List, Get, Create result
	RSSKiB            int64
}

func (e *env) authHeader() http.Header {
	tok := base64.StdEncoding.EncodeToString([]byte(e.key.CK + ":" + e.key.CS))
	return http.Header{"Authorization": {"Basic " + tok}, "Content-Type": {"application/json"}}
}

// createWebhook creates a webhook through wc/v3 over HTTPS and returns its id.
func (e *env) createWebhook(c *http.Client, name, topic, status string) (int64, error) {
	body := fmt.Sprintf(`{"name":%q,"topic":%q,"delivery_url":%q,"secret":"bench-secret","status":%q}`, name, topic, e.recvURL, status)
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

// runAPI measures list, get and create over HTTPS with Basic auth and
// `auth keys`. Created webhooks are paused (no pings) on topic
// order.updated, so they stay out of the dispatch scenario.
func runAPI(e *env, sz sizes) (apiResult, error) {
	var ar apiResult
	c := e.client(sz.APIConc)
	var first int64
	for i := 0; i < 20; i++ {
		id, err := e.createWebhook(c, fmt.Sprintf("seed %d", i), "order.updated", "paused")
		if err != nil {
			return ar, err
		}
		if first == 0 {
			first = id
		}
	}
	h := e.authHeader()
	e.caddy.ResetPeakRSS()
	ar.List = closedLoop(sz.APIN, sz.APIConc, func(int) error {
		return send(c, "GET", e.tlsBase+"/wp-json/wc/v3/webhooks", nil, h, 200)
	})
	getURL := fmt.Sprintf("%s/wp-json/wc/v3/webhooks/%d", e.tlsBase, first)
	ar.Get = closedLoop(sz.APIN, sz.APIConc, func(int) error { return send(c, "GET", getURL, nil, h, 200) })
	ar.Create = closedLoop(sz.APIN, sz.APIConc, func(i int) error {
		body := fmt.Sprintf(`{"name":"bench %d","topic":"order.updated","delivery_url":%q,"secret":"bench-secret","status":"paused"}`, i, e.recvURL)
		return send(c, "POST", e.tlsBase+"/wp-json/wc/v3/webhooks", []byte(body), h, 201)
	})
	ar.RSSKiB = e.caddy.PeakRSS()
	return ar, nil
}

// rateResult is event-to-delivery latency at one fixed event rate.
type rateResult struct {
	Rate              float64
	Sent, Failed, Got int
	Dups              int
	Lat               []time.Duration // sorted
	FirstErr          string
}

// dispatchResult holds the dispatch measurements.
type dispatchResult struct {
	N                  int
	CaddyGot, BareGot  int
	CaddyDups          int
	CaddyTime          time.Duration
	BareTime           time.Duration
	PublishErrors      int
	PublishFirstErr    string
	PublishTime        time.Duration   // publishing all N events
	TputLat            []time.Duration // event-to-delivery latency in the throughput run, sorted
	Rates              []rateResult
	RSSKiB, RateRSSKiB int64
}

// CaddyRate and BareRate are deliveries per second.
func (d dispatchResult) CaddyRate() float64 { return perSec(d.CaddyGot, d.CaddyTime) }
func (d dispatchResult) BareRate() float64  { return perSec(d.BareGot, d.BareTime) }

func perSec(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// runDispatch measures deliveries/s through Caddy against a bare Go POST
// loop to the same receiver, then latency at fixed event rates.
func runDispatch(e *env, sz sizes) (dispatchResult, error) {
	d := dispatchResult{N: sz.DispatchN}
	c := e.client(sz.DispatchConc * 4)
	if _, err := e.createWebhook(c, "bench receiver", "order.created", "active"); err != nil {
		return d, err
	}
	time.Sleep(1500 * time.Millisecond) // the dispatcher caches a site's webhooks for 1 s
	h := e.authHeader()
	publish := func(run string) func(int) error {
		return func(i int) error {
			body := fmt.Sprintf(`{"topic":"order.created","resource_id":%d,"payload":{"run":%q,"k":%d,"t":%d}}`, i+1, run, i, time.Now().UnixNano())
			return send(c, "POST", e.tlsBase+"/wp-json/wc-webhooks/v1/events", []byte(body), h, 202)
		}
	}
	// Warm up: a few events end to end.
	e.recv.reset("warm")
	closedLoop(20, 4, publish("warm"))
	e.recv.wait(20, 10*time.Second)

	e.caddy.ResetPeakRSS()
	e.recv.reset("tput")
	start := time.Now()
	pub := closedLoop(sz.DispatchN, sz.DispatchConc, publish("tput"))
	d.PublishErrors, d.PublishFirstErr = pub.Errors, pub.FirstEr
	lat, dups, last := e.recv.wait(sz.DispatchN-pub.Errors, 90*time.Second)
	d.CaddyGot, d.CaddyDups, d.CaddyTime = len(lat), dups, last.Sub(start)
	d.PublishTime = pub.Elapsed
	sortDur(lat)
	d.TputLat = lat
	d.RSSKiB = e.caddy.PeakRSS()

	// The baseline: the same bodies POSTed straight to the receiver.
	e.recv.reset("bare")
	bc := e.client(sz.BareConc)
	hdr := http.Header{"Content-Type": {"application/json"}}
	bstart := time.Now()
	closedLoop(sz.DispatchN, sz.BareConc, func(i int) error {
		body := fmt.Sprintf(`{"run":"bare","k":%d,"t":%d}`, i, time.Now().UnixNano())
		return send(bc, "POST", e.recvURL, []byte(body), hdr, 200)
	})
	blat, _, blast := e.recv.wait(sz.DispatchN, 10*time.Second)
	d.BareGot, d.BareTime = len(blat), blast.Sub(bstart)

	e.caddy.ResetPeakRSS()
	for _, rate := range sz.Rates {
		run := fmt.Sprintf("rate%.0f", rate)
		n := int(rate * sz.RateSeconds)
		e.recv.reset(run)
		failed, firstErr := openLoop(n, rate, 64, publish(run))
		got, dups, _ := e.recv.wait(n-failed, 60*time.Second)
		sortDur(got)
		d.Rates = append(d.Rates, rateResult{Rate: rate, Sent: n, Failed: failed, Got: len(got), Dups: dups, Lat: got, FirstErr: firstErr})
	}
	d.RateRSSKiB = e.caddy.PeakRSS()
	return d, nil
}
