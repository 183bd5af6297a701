package main

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// report is everything one run measured.
type report struct {
	Mode     string
	Sizes    sizes
	Started  time.Time
	Took     time.Duration
	CPUs     int
	RSSReset bool // VmHWM could be reset between scenarios
	Pass     passResult
	API      apiResult
	Dispatch dispatchResult
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// merged pools the rounds: total rate and pooled percentiles.
func merged(rs []result) (rps float64, p50, p99 time.Duration, errs int) {
	var lat []time.Duration
	var ok int
	var el time.Duration
	for _, r := range rs {
		lat = append(lat, r.Lat...)
		ok += r.N - r.Errors
		el += r.Elapsed
		errs += r.Errors
	}
	sortDur(lat)
	return perSec(ok, el), pct(lat, 50), pct(lat, 99), errs
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func (r *report) markdown() string {
	var b strings.Builder
	sz := r.Sizes
	fmt.Fprintf(&b, "# caddy-wc-webhooks benchmark (%s run)\n\n", r.Mode)
	fmt.Fprintf(&b, "%s, %d CPUs, loopback only, took %s. Caddy with the module, one redis-server "+
		"(`--save '' --appendonly no`), a Go upstream and a Go receiver, all in this run. Peak RSS is Caddy's VmHWM, "+
		"%s.\n\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), r.CPUs, r.Took.Round(time.Second), rssNote(r.RSSReset))

	p := r.Pass
	prps, p50, p99, perr := merged(p.Plain)
	mrps, m50, m99, merr := merged(p.Module)
	var ratios []float64
	for i := range p.Plain {
		if i < len(p.Module) && p.Plain[i].RPS() > 0 {
			ratios = append(ratios, p.Module[i].RPS()/p.Plain[i].RPS())
		}
	}
	fmt.Fprintf(&b, "## 1. Pass-through\n\nGET of a %d-byte page, HTTP/1.1 keep-alive, %d concurrent clients, "+
		"%d alternating rounds of %d requests each.\n\n", len(smallPage), sz.PassConc, sz.PassRounds, sz.PassN)
	b.WriteString("| site | requests/s | p50 ms | p99 ms | errors |\n| --- | ---: | ---: | ---: | ---: |\n")
	fmt.Fprintf(&b, "| plain `reverse_proxy` | %.0f | %s | %s | %d |\n", prps, ms(p50), ms(p99), perr)
	fmt.Fprintf(&b, "| `wc_webhooks` + `reverse_proxy` | %.0f | %s | %s | %d |\n\n", mrps, ms(m50), ms(m99), merr)
	var rs []string
	for _, x := range ratios {
		rs = append(rs, fmt.Sprintf("%.3f", x))
	}
	fmt.Fprintf(&b, "Module / plain requests/s: **%.3f** overall, median of rounds %.3f (rounds: %s). Peak RSS: %s.\n\n",
		safeDiv(mrps, prps), median(ratios), strings.Join(rs, ", "), mib(p.RSSKiB))

	a := r.API
	fmt.Fprintf(&b, "## 2. Webhooks API (wc/v3, from Redis, `auth keys`)\n\nHTTPS with a self-signed certificate, Basic auth "+
		"with a key from `caddy wc-webhooks add-key --redis ...`, HTTP/1.1 keep-alive, %d concurrent clients, %d requests each; "+
		"the site holds 20 webhooks before the run (list: first page of 10).\n\n", sz.APIConc, sz.APIN)
	b.WriteString("| request | requests/s | p50 ms | p99 ms | errors |\n| --- | ---: | ---: | ---: | ---: |\n")
	for _, row := range []struct {
		name string
		res  result
	}{{"list `GET /wp-json/wc/v3/webhooks`", a.List}, {"get `GET /wp-json/wc/v3/webhooks/<id>`", a.Get}, {"create `POST /wp-json/wc/v3/webhooks`", a.Create}} {
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %d |\n", row.name, row.res.RPS(), ms(pct(row.res.Lat, 50)), ms(pct(row.res.Lat, 99)), row.res.Errors)
	}
	fmt.Fprintf(&b, "\nPeak RSS: %s.%s\n\n", mib(a.RSSKiB), firstErr(a.List.FirstEr, a.Get.FirstEr, a.Create.FirstEr))

	d := r.Dispatch
	fmt.Fprintf(&b, "## 3. Dispatch\n\nOne active `order.created` webhook pointing at a local Go receiver (answers 200 at once; "+
		"`allow_networks 127.0.0.0/8`, other dispatch settings default: `max_per_webhook 4`, `max_concurrent 64`). "+
		"%d events POSTed to `/wp-json/wc-webhooks/v1/events` over HTTPS by %d concurrent clients; time from the first "+
		"publish to the last delivery. Baseline: a bare Go HTTP POST loop with %d workers (the module's per-webhook limit) "+
		"sending the same number of bodies to the same receiver.\n\n", d.N, sz.DispatchConc, sz.BareConc)
	b.WriteString("| path | delivered | seconds | deliveries/s |\n| --- | ---: | ---: | ---: |\n")
	fmt.Fprintf(&b, "| Caddy (publish + dispatch + deliver) | %d / %d | %.2f | %.0f |\n", d.CaddyGot, d.N, d.CaddyTime.Seconds(), d.CaddyRate())
	fmt.Fprintf(&b, "| bare Go POST loop | %d / %d | %.2f | %.0f |\n\n", d.BareGot, d.N, d.BareTime.Seconds(), d.BareRate())
	fmt.Fprintf(&b, "**Caddy / bare loop: %.3f** (duplicates at the receiver: %d, publish errors: %d). Peak RSS: %s.%s\n\n",
		safeDiv(d.CaddyRate(), d.BareRate()), d.CaddyDups, d.PublishErrors, mib(d.RSSKiB), firstErr(d.PublishFirstErr))
	fmt.Fprintf(&b, "In that burst, publishing the %d events took %.2f s (%.0f events/s accepted); event-to-delivery latency "+
		"p50 %s ms, p95 %s ms, p99 %s ms.\n\n", d.N, d.PublishTime.Seconds(), perSec(d.N-d.PublishErrors, d.PublishTime),
		ms(pct(d.TputLat, 50)), ms(pct(d.TputLat, 95)), ms(pct(d.TputLat, 99)))
	fmt.Fprintf(&b, "Event-to-delivery latency (send time in the payload to arrival at the receiver) at fixed event rates, "+
		"fan-out 1, %.0f s per rate:\n\n", sz.RateSeconds)
	b.WriteString("| events/s | sent | publish errors | delivered | duplicates | p50 ms | p95 ms | p99 ms |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	var errs []string
	for _, x := range d.Rates {
		fmt.Fprintf(&b, "| %.0f | %d | %d | %d | %d | %s | %s | %s |\n", x.Rate, x.Sent, x.Failed, x.Got, x.Dups,
			ms(pct(x.Lat, 50)), ms(pct(x.Lat, 95)), ms(pct(x.Lat, 99)))
		errs = append(errs, x.FirstErr)
	}
	fmt.Fprintf(&b, "\nPeak RSS over the fixed-rate runs: %s.%s\n", mib(d.RateRSSKiB), firstErr(errs...))
	return b.String()
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// firstErr renders the first non-empty error as a note.
func firstErr(errs ...string) string {
	for _, e := range errs {
		if e != "" {
			return " First error: `" + strings.ReplaceAll(e, "`", "'") + "`."
		}
	}
	return ""
}

func rssNote(reset bool) string {
	if reset {
		return "reset before each scenario (clear_refs)"
	}
	return "which could not be reset here, so each figure is the peak since Caddy started"
}
