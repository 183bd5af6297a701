package main

import (
	"fmt"
	"net/http"
	"time"
)

// passResult is the pass-through comparison.
type passResult struct {
	Plain, Module []result // one per round
	RSSKiB        int64
}

// alternate runs rounds of plain and module measurements, swapping which
// side goes first each round so drift hits both alike.
func alternate(rounds int, plain, module func() result) (ps, ms []result) {
	for r := 0; r < rounds; r++ {
		if r%2 == 0 {
			ps = append(ps, plain())
			ms = append(ms, module())
			continue
		}
		ms = append(ms, module())
		ps = append(ps, plain())
	}
	return ps, ms
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
	round := func(base string) func() result {
		return func() result {
			return e.withCaddyCPU(func() result { return closedLoop(sz.PassN, sz.PassConc, get(base)) })
		}
	}
	pr.Plain, pr.Module = alternate(sz.PassRounds, round(e.plainBase), round(e.modBase))
	pr.RSSKiB = e.caddy.PeakRSS()
	return pr
}

// withCaddyCPU runs a batch and records the CPU time Caddy used meanwhile.
func (e *env) withCaddyCPU(batch func() result) result {
	before, err := e.caddy.CPUTime()
	r := batch()
	if after, err2 := e.caddy.CPUTime(); err == nil && err2 == nil {
		r.CaddyCPU = after - before
	}
	return r
}

// writeResult is the watched-writes comparison: REST order creates through
// plain reverse_proxy and through the module, to the same stand-in.
type writeResult struct {
	Plain, Module []result
	Expected      int   // successful creates through the module
	Delivered     int   // order.created deliveries that arrived for them
	HookID        int64 // the shop's order.created webhook
	RSSKiB        int64
}

// orderBody is the order a watched write creates.
const orderBody = `{"status":"processing","currency":"EUR","billing":{"first_name":"Ada","last_name":"Lovelace",` +
	`"email":"ada@example.com"},"line_items":[{"product_id":93,"quantity":2},{"product_id":22,"quantity":1}]}`

// runWatchedWrites creates the shop's active order.created webhook (at
// the receiver's /hook; the dispatch scenario reuses it), then alternates
// rounds of POST /wp-json/wc/v3/orders with the stand-in's key through
// the plain HTTPS site and the module's HTTPS site. Every create through
// the module emits order.created, which is delivered while the rounds run.
func runWatchedWrites(e *env, sz sizes) (writeResult, error) {
	var wr writeResult
	c := e.client(sz.WriteConc)
	id, err := e.createWebhook(c, "orders", "order.created", "active", e.recvURL)
	if err != nil {
		return wr, err
	}
	wr.HookID = id
	time.Sleep(1500 * time.Millisecond) // the module and the dispatcher cache a site's webhooks for 1 s
	hdr := http.Header{"Content-Type": {"application/json"}}
	setBasic(hdr, e.wooKey.ConsumerKey, e.wooKey.ConsumerSecret)
	create := func(base string) func(int) error {
		return func(int) error {
			return send(c, "POST", base+"/wp-json/wc/v3/orders", []byte(orderBody), hdr, 201)
		}
	}
	before := e.recv.waitTopic("order.created", 0, 0)
	closedLoop(50, sz.WriteConc, create(e.plainTLS))
	warm := closedLoop(50, sz.WriteConc, create(e.tlsBase))
	if warm.Errors > 0 {
		return wr, fmt.Errorf("order create through the module: %s", warm.FirstEr)
	}
	e.recv.waitTopic("order.created", before+50, 20*time.Second)
	e.caddy.ResetPeakRSS()
	before = e.recv.waitTopic("order.created", 0, 0)
	wr.Plain, wr.Module = alternate(sz.WriteRounds,
		func() result { return closedLoop(sz.WriteN, sz.WriteConc, create(e.plainTLS)) },
		func() result { return closedLoop(sz.WriteN, sz.WriteConc, create(e.tlsBase)) })
	for _, r := range wr.Module {
		wr.Expected += r.N - r.Errors
	}
	wr.Delivered = e.recv.waitTopic("order.created", before+wr.Expected, 30*time.Second) - before
	wr.RSSKiB = e.caddy.PeakRSS()
	e.woo.Reset() // drop the stand-in's request records
	return wr, nil
}
