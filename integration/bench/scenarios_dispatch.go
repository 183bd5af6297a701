package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// Topics of the dispatch scenarios: fan-out 1 uses the shop's one
// order.created webhook (made by the watched-writes scenario), fan-out 10
// ten product.created webhooks, each at its own receiver path.
const (
	topicFanOut1  = "order.created"
	topicFanOut10 = "product.created"
)

// rateResult is event-to-delivery latency at one fixed event rate and
// fan-out.
type rateResult struct {
	Rate              float64
	FanOut            int
	Sent, Failed, Got int // events sent, publish errors, deliveries that arrived
	Dups              int
	Lat               []time.Duration // sorted, one per delivery
	FirstErr          string
}

// Expected is the number of deliveries the run should produce.
func (r rateResult) Expected() int { return (r.Sent - r.Failed) * r.FanOut }

// burst is one timed burst of events to the one order.created webhook,
// from the first publish to the last delivery.
type burst struct {
	Got, Dups int
	Time      time.Duration
	Lat       []time.Duration // event-to-delivery latency, sorted
}

// Rate is deliveries per second.
func (b burst) Rate() float64 { return perSec(b.Got, b.Time) }

// dispatchResult holds the dispatch measurements.
type dispatchResult struct {
	N int
	// Queued: the events appended straight to the site's event stream, as
	// the module's proxy does (the dispatcher's own rate, the headline).
	// Endpoint: the events POSTed to the events endpoint over HTTPS.
	Queued, Endpoint burst
	BareGot          int
	BareTime         time.Duration
	PublishErrors    int
	PublishFirstErr  string
	PublishTime      time.Duration // POSTing all N events to the endpoint
	Rates            []rateResult
	RSSKiB           int64 // peak over both bursts
	RateRSSKiB       int64
	// Redis used_memory growth per delivery over the fixed-rate runs
	// (delivery log, finished jobs kept for redelivery, stream remnants).
	BytesPerDispatched float64
}

// BareRate is the bare loop's deliveries per second.
func (d dispatchResult) BareRate() float64 { return perSec(d.BareGot, d.BareTime) }

func perSec(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// publisher returns a function POSTing event i of run to the events
// endpoint with the send time in the payload.
func (e *env) publisher(c *http.Client, topic, run string) func(int) error {
	h := e.authHeader()
	return func(i int) error {
		body := fmt.Sprintf(`{"topic":%q,"resource_id":%d,"payload":{"run":%q,"k":%d,"t":%d}}`, topic, i+1, run, i, time.Now().UnixNano())
		return send(c, "POST", e.tlsBase+"/wp-json/wc-webhooks/v1/events", []byte(body), h, 202)
	}
}

// drain waits until the site's event and work queues are empty.
func drain(ctx context.Context, site *redisstore.Site, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		qs, err := site.QueueStats(ctx)
		if err == nil && qs.Events == 0 && qs.Ready == 0 && qs.Delayed == 0 && qs.Parked == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runDispatch measures deliveries/s of a burst through Caddy against a
// bare Go POST loop to the same receiver, then event-to-delivery latency
// at fixed event rates with fan-out 1 and 10.
func runDispatch(e *env, sz sizes) (dispatchResult, error) {
	d := dispatchResult{N: sz.DispatchN}
	ctx := context.Background()
	shop, err := e.store.Site(siteName)
	if err != nil {
		return d, err
	}
	c := e.client(64)
	for i := 1; i <= 10; i++ {
		if _, err := e.createWebhook(c, fmt.Sprintf("fan-out %d", i), topicFanOut10, "active", fmt.Sprintf("%s/%d", e.recvURL, i)); err != nil {
			return d, err
		}
	}
	time.Sleep(1500 * time.Millisecond) // the dispatcher caches a site's webhooks for 1 s
	// Warm up: a few events end to end.
	e.recv.reset("warm")
	closedLoop(20, 4, e.publisher(c, topicFanOut1, "warm"))
	e.recv.wait(20, 10*time.Second)

	e.caddy.ResetPeakRSS()
	e.recv.reset("queued")
	start := time.Now()
	closedLoop(sz.DispatchN, sz.DispatchConc, func(i int) error {
		body := fmt.Sprintf(`{"run":"queued","k":%d,"t":%d}`, i, time.Now().UnixNano())
		_, err := shop.PublishEvent(ctx, topicFanOut1, int64(i+1), []byte(body), time.Now())
		return err
	})
	d.Queued = e.recv.burst(sz.DispatchN, start)

	e.recv.reset("tput")
	start = time.Now()
	pub := closedLoop(sz.DispatchN, sz.DispatchConc, e.publisher(c, topicFanOut1, "tput"))
	d.PublishErrors, d.PublishFirstErr, d.PublishTime = pub.Errors, pub.FirstEr, pub.Elapsed
	d.Endpoint = e.recv.burst(sz.DispatchN-pub.Errors, start)
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

	drain(ctx, shop, sz.Drain)
	memBefore, err := usedMemory(ctx, e.rdb)
	if err != nil {
		return d, err
	}
	delivered := 0
	e.caddy.ResetPeakRSS()
	for _, fan := range sz.FanOuts {
		topic := topicFanOut1
		if fan > 1 {
			topic = topicFanOut10
		}
		for _, rate := range sz.Rates {
			run := fmt.Sprintf("rate%.0f-f%d", rate, fan)
			n := int(rate * sz.RateSeconds)
			e.recv.reset(run)
			failed, firstErr := openLoop(n, rate, 64, e.publisher(c, topic, run))
			rr := rateResult{Rate: rate, FanOut: fan, Sent: n, Failed: failed, FirstErr: firstErr}
			got, dups, _ := e.recv.waitStall(rr.Expected(), sz.Drain, 5*time.Second)
			sortDur(got)
			rr.Got, rr.Dups, rr.Lat = len(got), dups, got
			delivered += len(got)
			d.Rates = append(d.Rates, rr)
			drain(ctx, shop, sz.Drain) // a backlog left over must not load the next run
		}
	}
	d.RateRSSKiB = e.caddy.PeakRSS()
	if memAfter, err := usedMemory(ctx, e.rdb); err == nil && delivered > 0 {
		d.BytesPerDispatched = float64(memAfter-memBefore) / float64(delivered)
	}
	return d, nil
}
