package main

import (
	"fmt"
	"strings"
	"time"
)

// downDispatch are the dispatch settings of the receiver-down scenario.
// failure_count counts deliveries that failed for good (every retry of
// the ladder failed), not attempts; a ladder that spans more than the
// outage (here 1+2+4+8+6×15 = 105 s, at least 84 s with the -20 % jitter,
// against a 60 s outage) means no delivery fails, so max_failures (5, the
// default, written out) never disables the webhook, and the longest wait
// after the receiver is back is one 15 s step.
var downDispatch = []string{"retry_ladder 1s 2s 4s 8s 15s 15s 15s 15s 15s 15s", "max_failures 5"}

// defaultsNote says what the receiver-down scenario does with the default
// settings (derived from them, not measured: it would take over 5 min).
const defaultsNote = "With the defaults (retry_ladder 5s 5m 30m 2h 5h 10h, max_failures 5) nothing is lost " +
	"and the webhook is not disabled either (a delivery fails for good only after its whole ~17.6 h ladder), " +
	"but an event whose first attempt and 5 s retry both fall inside a 60 s outage waits about 5 min (±20 %) " +
	"for its next attempt."

// receiverDown: events go to two webhooks, "down" and a "witness"; the
// down receiver closes its listener and connections for DownFor, then
// listens again on the same address. Every event must reach both, the
// down webhook must stay active with failure_count 0. In flight at the
// fault: requests inside the receiver's handler when it went down.
func (s *suite) receiverDown(r *result) (*env, error) {
	r.Settings = strings.Join(downDispatch, "; ")
	e, rcs, ids, err := s.setup("down", downDispatch, 1, "order.updated", "down", "witness")
	defer closeAll(rcs)
	if err != nil {
		return e, err
	}
	lead := 2 * time.Second
	if !s.short {
		lead = 5 * time.Second
	}
	span := lead + s.sz.DownFor + lead
	n := int(s.sz.DownRate * span.Seconds())
	p := publish(e, bases(e), "order.updated", "dn", n, s.sz.DownRate, publishWorkers, time.Now().Add(span+s.sz.DrainWithin))
	defer p.halt()
	time.Sleep(lead)
	r.InFlight = rcs[0].down()
	r.InFlightNote = "requests inside the receiver's handler when it went down"
	time.Sleep(s.sz.DownFor)
	if err := rcs[0].up(); err != nil {
		return e, err
	}
	back := time.Now()
	if err := s.finish(e, p, r, rcs...); err != nil {
		return e, err
	}
	status, fails, err := e.webhookState(ids[0])
	if err != nil {
		return e, err
	}
	r.require(status == "active" && fails == 0, "the down webhook stays active with failure_count 0 (status %s, failure_count %d)", status, fails)
	r.note("receiver down %s; every event at both receivers %s after it was back", s.sz.DownFor, time.Since(back).Round(100*time.Millisecond))
	r.note("%s", defaultsNote)
	return e, nil
}

// receiverHang: events go to a "hang" receiver and three fast ones. For
// HangFor the fast ones' baseline is measured; then every request to the
// hanging receiver waits until HangFor has passed (below the 60 s
// http_timeout, so no attempt times out), while publishing goes on at the
// same rate. The fast receivers' event-to-delivery p99 for events
// published during the hang must stay within noise of the baseline
// (at most 2× + 5 ms); every event must reach all four.
func (s *suite) receiverHang(r *result) (*env, error) {
	r.Settings = "defaults (http_timeout 60s, max_per_webhook 4, max_concurrent 64)"
	e, rcs, _, err := s.setup("hang", nil, 1, "product.updated", "hang", "fast1", "fast2", "fast3")
	defer closeAll(rcs)
	if err != nil {
		return e, err
	}
	d := s.sz.HangFor
	n := int(s.sz.HangRate * 2 * d.Seconds())
	start := time.Now()
	p := publish(e, bases(e), "product.updated", "hg", n, s.sz.HangRate, publishWorkers, start.Add(2*d+s.sz.DrainWithin))
	defer p.halt()
	time.Sleep(d)
	hangStart := time.Now()
	rcs[0].hangFor(d)
	hangEnd := hangStart.Add(d)
	time.Sleep(time.Until(hangEnd.Add(-200 * time.Millisecond)))
	if qs, err := e.stats(); err == nil {
		r.note("queues just before the hang ended: %d jobs in the work stream (%d read, unfinished), %d waiting in the delayed set, %d parked",
			qs.Ready, qs.ReadyPending, qs.Delayed, qs.Parked)
	}
	if err := s.finish(e, p, r, rcs...); err != nil {
		return e, err
	}
	r.InFlight = 0
	r.InFlightNote = "no fault (the hung requests are answered 200)"
	var base, with []time.Duration
	window := max(d/6, time.Second)
	windows := make([][]time.Duration, int((d+window-1)/window))
	for _, rc := range rcs[1:] {
		_, first, _, _ := rc.snapshot()
		for _, a := range first {
			switch {
			case a.published.Before(start.Add(500 * time.Millisecond)):
				// warm-up: connections being opened
			case a.published.Before(hangStart):
				base = append(base, a.latency)
			case a.published.Before(hangEnd):
				with = append(with, a.latency)
				if i := int(a.published.Sub(hangStart) / window); i < len(windows) {
					windows[i] = append(windows[i], a.latency)
				}
			}
		}
	}
	var parts []string
	for i, w := range windows {
		parts = append(parts, fmt.Sprintf("%s–%s: %s / %s", time.Duration(i)*window, time.Duration(i+1)*window, ms(pct(w, 50)), ms(pct(w, 99))))
	}
	r.note("fast receivers' p50 / p99 by publish time into the hang: %s", strings.Join(parts, "; "))
	b50, b99, w50, w99 := pct(base, 50), pct(base, 99), pct(with, 50), pct(with, 99)
	r.note("fast receivers' event-to-delivery latency without the hang: p50 %s, p99 %s (%d deliveries); "+
		"during the hang: p50 %s, p99 %s (%d deliveries)", ms(b50), ms(b99), len(base), ms(w50), ms(w99), len(with))
	r.note("the hanging receiver held at most %d requests at once (max_per_webhook 4)", rcs[0].peak.Load())
	r.require(len(base) > 0 && len(with) > 0 && w99 <= 2*b99+5*time.Millisecond,
		"fast receivers' p99 during the hang (%s) within noise of without (%s; at most 2× + 5 ms)", ms(w99), ms(b99))
	return e, nil
}
