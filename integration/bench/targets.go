package main

import (
	"fmt"
	"strings"
	"time"
)

// Verdicts of a target in this run.
const (
	verdictMet         = "met"
	verdictMissed      = "**missed**"
	verdictNotMeasured = "not measured here"
)

// Thresholds from ../shared/DESIGN.md and the issue.
const (
	passRatioTarget   = 0.97                  // pass-through: at least 97% of plain reverse_proxy
	writeP99Target    = time.Millisecond      // watched writes: under 1 ms added at p99
	apiRPSTarget      = 1000.0                // webhooks API: "thousands" of requests/s
	dispatchRatio     = 0.5                   // at least half the bare POST loop
	latencyRate       = 500.0                 // events/s of the latency target
	latencyP50Target  = 5 * time.Millisecond  // at 500 events/s
	latencyP99Target  = 50 * time.Millisecond // at 500 events/s
	scaleRatioTarget  = 1.25                  // cost per event, many sites / one site
	scaleTargetSource = "issue 5: cost per event proportional to the subscribers of the topic"
)

// targetRow is one line of the targets table.
type targetRow struct {
	Target, Measured, Verdict string
}

func verdict(ok bool) string {
	if ok {
		return verdictMet
	}
	return verdictMissed
}

// findRate returns the fixed-rate run of rate and fan-out.
func findRate(rs []rateResult, rate float64, fan int) (rateResult, bool) {
	for _, r := range rs {
		if r.Rate == rate && r.FanOut == fan {
			return r, true
		}
	}
	return rateResult{}, false
}

// writeAdded is the module's added latency at p50 and p99 (pooled rounds).
func (r *report) writeAdded() (p50, p99 time.Duration) {
	_, a50, a99, _ := merged(r.Writes.Plain)
	_, b50, b99, _ := merged(r.Writes.Module)
	return b50 - a50, b99 - a99
}

// scaleRatios is many-sites / one-site Redis and Caddy CPU per event.
func (r *report) scaleRatios() (redisRatio, caddyRatio float64) {
	one, many := r.Scale.One, r.Scale.Many
	redisRatio = safeDiv(float64(many.perEvent(many.Busy.RedisCPU)), float64(one.perEvent(one.Busy.RedisCPU)))
	caddyRatio = safeDiv(float64(many.perEvent(many.Busy.CaddyCPU)), float64(one.perEvent(one.Busy.CaddyCPU)))
	return redisRatio, caddyRatio
}

// pooledRatios is many-sites (pool sized above the sites) / one-site Redis
// and Caddy CPU per event.
func (r *report) pooledRatios() (redisRatio, caddyRatio float64) {
	one, many := r.Scale.One, r.Scale.Pooled
	redisRatio = safeDiv(float64(many.perEvent(many.Busy.RedisCPU)), float64(one.perEvent(one.Busy.RedisCPU)))
	caddyRatio = safeDiv(float64(many.perEvent(many.Busy.CaddyCPU)), float64(one.perEvent(one.Busy.CaddyCPU)))
	return redisRatio, caddyRatio
}

// marginalRatios is many / one marginal (idle rate removed) Redis and
// Caddy CPU per event.
func (r *report) marginalRatios(many scalePhase) (redisRatio, caddyRatio float64) {
	one := r.Scale.One
	m := func(p scalePhase, pick func(cpuDelta) time.Duration) float64 {
		return float64(p.perEvent(marginal(p.Busy, p.Idle, pick)))
	}
	redisCPU := func(d cpuDelta) time.Duration { return d.RedisCPU }
	caddyCPU := func(d cpuDelta) time.Duration { return d.CaddyCPU }
	return safeDiv(m(many, redisCPU), m(one, redisCPU)), safeDiv(m(many, caddyCPU), m(one, caddyCPU))
}

// targets evaluates every target of DESIGN.md (and the scaling
// requirement) against this run.
func (r *report) targets() []targetRow {
	var rows []targetRow
	skip := func(target, scenario string) bool {
		if msg, ok := r.Failed[scenario]; ok {
			rows = append(rows, targetRow{target, "scenario failed: " + firstLine(msg), verdictMissed})
			return true
		}
		return false
	}

	t := "Pass-through: ≥ 97% of plain `reverse_proxy` requests/s"
	if !skip(t, "pass-through") {
		prps, _, _, _ := merged(r.Pass.Plain)
		mrps, _, _, _ := merged(r.Pass.Module)
		ratio := safeDiv(mrps, prps)
		got := fmt.Sprintf("%.3f (median of rounds %.3f)", ratio, median(roundRatios(r.Pass.Plain, r.Pass.Module)))
		if pc, mc := cpuPerRequest(r.Pass.Plain), cpuPerRequest(r.Pass.Module); pc > 0 && mc > 0 {
			got += fmt.Sprintf("; Caddy CPU per request plain / module %.3f", safeDiv(float64(pc), float64(mc)))
		}
		rows = append(rows, targetRow{t, got, verdict(ratio >= passRatioTarget)})
	}
	t = "Watched writes: < 1 ms added at p99 (REST order create)"
	if !skip(t, "watched writes") {
		a50, a99 := r.writeAdded()
		rows = append(rows, targetRow{t, fmt.Sprintf("p99 %s ms added (p50 %s ms)", signedMs(a99), signedMs(a50)), verdict(a99 < writeP99Target)})
	}
	t = "Webhooks API from Redis: thousands of requests/s on 2 cores (each of list, get, create ≥ 1,000/s, both auth modes)"
	if !skip(t, "webhooks API") {
		lowest, name := -1.0, ""
		for _, x := range []struct {
			n string
			v result
		}{{"list (keys)", r.API.Keys.List}, {"get (keys)", r.API.Keys.Get}, {"create (keys)", r.API.Keys.Create},
			{"list (upstream)", r.API.Upstream.List}, {"get (upstream)", r.API.Upstream.Get}, {"create (upstream)", r.API.Upstream.Create}} {
			if lowest < 0 || x.v.RPS() < lowest {
				lowest, name = x.v.RPS(), x.n
			}
		}
		rows = append(rows, targetRow{t, fmt.Sprintf("lowest: %s %.0f/s", name, lowest), verdict(lowest >= apiRPSTarget)})
	}
	t = "Dispatch: ≥ 0.5 × the bare Go POST loop's deliveries/s"
	if !skip(t, "dispatch") {
		d := r.Dispatch
		ratio := safeDiv(d.Queued.Rate(), d.BareRate())
		rows = append(rows, targetRow{t, fmt.Sprintf("%.3f (%.0f vs %.0f deliveries/s; through the events endpoint %.0f/s)",
			ratio, d.Queued.Rate(), d.BareRate(), d.Endpoint.Rate()),
			verdict(ratio >= dispatchRatio && d.Queued.Got == d.N)})
	}
	t = "Event-to-delivery at 500 events/s: p50 < 5 ms and p99 < 50 ms (fan-out 1)"
	if !skip(t, "dispatch") {
		if rr, ok := findRate(r.Dispatch.Rates, latencyRate, 1); ok {
			p50, p99 := pct(rr.Lat, 50), pct(rr.Lat, 99)
			ok := p50 < latencyP50Target && p99 < latencyP99Target && rr.Got == rr.Expected()
			rows = append(rows, targetRow{t, fmt.Sprintf("p50 %s ms, p99 %s ms, %d/%d delivered", ms(p50), ms(p99), rr.Got, rr.Expected()), verdict(ok)})
		} else {
			rows = append(rows, targetRow{t, "no 500 events/s run", verdictNotMeasured})
		}
	}
	t = "Cost per event proportional to subscribers: " + fmt.Sprintf("%s sites × %d webhooks vs 1 site (CPU per event ratio ≤ %.2f)",
		thousands(r.Sizes.ScaleSites), r.Sizes.ScaleHooks, scaleRatioTarget)
	if !skip(t, "scale") {
		rr, cr := r.scaleRatios()
		many := r.Scale.Many
		ok := rr > 0 && rr <= scaleRatioTarget && cr <= scaleRatioTarget && many.Got == many.expected()
		m := fmt.Sprintf("default pool: Redis %.2f×, Caddy %.2f×, %d/%d delivered", rr, cr, many.Got, many.expected())
		if p := r.Scale.Pooled; p.Sites > 0 {
			pr, pc := r.pooledRatios()
			mr, mc := r.marginalRatios(p)
			m += fmt.Sprintf("; pool_size %d: Redis %.2f×, Caddy %.2f× (marginal, idle cost removed: %.2f×, %.2f×), %d/%d delivered",
				r.Scale.PoolSize, pr, pc, mr, mc, p.Got, p.expected())
		}
		rows = append(rows, targetRow{t, m, verdict(ok)})
	}
	rows = append(rows,
		targetRow{"`kill -9` of Caddy or a Redis restart (AOF) during a burst: zero lost", "the fault suite measures this", verdictNotMeasured},
		targetRow{"One slow or dead receiver never delays the others", "the fault suite measures this", verdictNotMeasured})
	return rows
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// writeTargets renders the targets table.
func (r *report) writeTargets(b *strings.Builder) {
	b.WriteString("## Targets\n\nFrom `../shared/DESIGN.md` (and " + scaleTargetSource + "), judged on this run:\n\n")
	b.WriteString("| target | this run | verdict |\n| --- | --- | --- |\n")
	for _, row := range r.targets() {
		fmt.Fprintf(b, "| %s | %s | %s |\n", row.Target, row.Measured, row.Verdict)
	}
	b.WriteString("\n")
}
