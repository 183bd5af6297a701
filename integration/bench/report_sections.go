package main

import (
	"fmt"
	"strings"
	"time"
)

// clients is "1 client (one request at a time)" or "n concurrent clients".
func clients(n int) string {
	if n == 1 {
		return "1 client (one request at a time)"
	}
	return fmt.Sprintf("%d concurrent clients", n)
}

// skipped writes a note and reports true when scenario did not finish.
func (r *report) skipped(b *strings.Builder, scenario string) bool {
	msg, ok := r.Failed[scenario]
	if ok {
		fmt.Fprintf(b, "Did not finish: `%s`.\n\n", strings.ReplaceAll(firstLine(msg), "`", "'"))
	}
	return ok
}

func (r *report) writePass(b *strings.Builder) {
	sz := r.Sizes
	fmt.Fprintf(b, "## 1. Pass-through\n\nGET of a %d-byte page, HTTP/1.1 keep-alive, %d concurrent clients, "+
		"%d alternating rounds of %s requests each through plain `reverse_proxy` and `wc_webhooks` + `reverse_proxy` "+
		"(same Caddy, same upstream).\n\n", len(smallPage), sz.PassConc, sz.PassRounds, thousands(sz.PassN))
	if r.skipped(b, "pass-through") {
		return
	}
	p := r.Pass
	prps, mrps := sitesTable(b, "requests/s", p.Plain, p.Module)
	ratios := roundRatios(p.Plain, p.Module)
	var rs []string
	for _, x := range ratios {
		rs = append(rs, fmt.Sprintf("%.3f", x))
	}
	fmt.Fprintf(b, "Module / plain requests/s: **%.3f** overall, median of rounds %.3f (rounds: %s). Peak RSS: %s.\n\n",
		safeDiv(mrps, prps), median(ratios), strings.Join(rs, ", "), mib(p.RSSKiB))
	if pc, mc := cpuPerRequest(p.Plain), cpuPerRequest(p.Module); pc > 0 && mc > 0 {
		fmt.Fprintf(b, "Caddy's CPU time per request (from /proc, less sensitive to the machine's other load than "+
			"requests/s): plain %s, with the module %s, plain / module **%.3f**.\n\n",
			us(pc), us(mc), safeDiv(float64(pc), float64(mc)))
	}
}

// cpuPerRequest is Caddy's CPU time per completed request over rounds.
func cpuPerRequest(rs []result) time.Duration {
	var cpu time.Duration
	n := 0
	for _, r := range rs {
		cpu += r.CaddyCPU
		n += r.N - r.Errors
	}
	if n == 0 {
		return 0
	}
	return cpu / time.Duration(n)
}

func (r *report) writeWrites(b *strings.Builder) {
	sz := r.Sizes
	fmt.Fprintf(b, "## 2. Watched writes\n\n`POST /wp-json/wc/v3/orders` (a %d-byte order, Basic auth with the stand-in's key) over HTTPS, "+
		"HTTP/1.1 keep-alive, %s, %d alternating rounds of %s creates each, through plain `reverse_proxy` "+
		"and through `wc_webhooks` + `reverse_proxy` to the same stand-in WooCommerce. The shop has one active `order.created` "+
		"webhook, so every create through the module is captured, turned into an event and delivered while the rounds run.\n\n",
		len(orderBody), clients(sz.WriteConc), sz.WriteRounds, thousands(sz.WriteN))
	if r.skipped(b, "watched writes") {
		return
	}
	w := r.Writes
	sitesTable(b, "creates/s", w.Plain, w.Module)
	a50, a99 := r.writeAdded()
	fmt.Fprintf(b, "Added by the module: **p50 %s ms, p99 %s ms**. `order.created` deliveries received for the module's creates: "+
		"%d of %d. Peak RSS: %s.\n\n", signedMs(a50), signedMs(a99), w.Delivered, w.Expected, mib(w.RSSKiB))
}

// sitesTable writes the plain `reverse_proxy` and module rows of one
// scenario (rate in unit, p50, p99, errors over all rounds) and returns
// the two rates.
func sitesTable(b *strings.Builder, unit string, plain, module []result) (plainRate, moduleRate float64) {
	fmt.Fprintf(b, "| site | %s | p50 ms | p99 ms | errors |\n| --- | ---: | ---: | ---: | ---: |\n", unit)
	row := func(name string, rs []result) float64 {
		rate, p50, p99, errs := merged(rs)
		fmt.Fprintf(b, "| %s | %.0f | %s | %s | %d |\n", name, rate, ms(p50), ms(p99), errs)
		return rate
	}
	plainRate = row("plain `reverse_proxy`", plain)
	moduleRate = row("`wc_webhooks` + `reverse_proxy`", module)
	b.WriteString("\n")
	return plainRate, moduleRate
}

func apiRow(b *strings.Builder, name string, k, u result) {
	fmt.Fprintf(b, "| %s | %.0f | %s | %s | %.0f | %s | %s | %d |\n", name,
		k.RPS(), ms(pct(k.Lat, 50)), ms(pct(k.Lat, 99)), u.RPS(), ms(pct(u.Lat, 50)), ms(pct(u.Lat, 99)), k.Errors+u.Errors)
}

func (r *report) writeAPI(b *strings.Builder) {
	sz := r.Sizes
	fmt.Fprintf(b, "## 3. Webhooks API (wc/v3, from Redis)\n\nHTTPS with a self-signed certificate, Basic auth, HTTP/1.1 keep-alive, "+
		"%d concurrent clients, %s requests of each kind; the site holds 20 webhooks before the run (list: first page of 10). "+
		"`auth keys`: a key from `caddy wc-webhooks add-key --redis ...`. `auth upstream`: the stand-in's key, judged by the "+
		"stand-in once and then cached by the module (`auth_cache_ttl` 30 s).\n\n", sz.APIConc, thousands(sz.APIN))
	if !r.skipped(b, "webhooks API") {
		a := r.API
		b.WriteString("| request | keys req/s | keys p50 ms | keys p99 ms | upstream req/s | upstream p50 ms | upstream p99 ms | errors |\n")
		b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		apiRow(b, "list `GET /wp-json/wc/v3/webhooks`", a.Keys.List, a.Upstream.List)
		apiRow(b, "get `GET /wp-json/wc/v3/webhooks/<id>`", a.Keys.Get, a.Upstream.Get)
		apiRow(b, "create `POST /wp-json/wc/v3/webhooks`", a.Keys.Create, a.Upstream.Create)
		fmt.Fprintf(b, "\nPeak RSS: %s.%s\n\n", mib(a.RSSKiB), firstErr(a.Keys.List.FirstEr, a.Keys.Get.FirstEr, a.Keys.Create.FirstEr,
			a.Upstream.List.FirstEr, a.Upstream.Get.FirstEr, a.Upstream.Create.FirstEr))
	}
	fmt.Fprintf(b, "### List latency against site size\n\n`GET /wp-json/wc/v3/webhooks?per_page=10` (`auth keys`, HTTPS), one client, %s requests per site, "+
		"in a site of %s and a site of %s webhooks (stored through `redisstore` before the timing).\n\n",
		thousands(sz.ListN), thousands(sz.ListSmall), thousands(sz.ListBig))
	if r.skipped(b, "list latency") {
		return
	}
	a := r.API
	b.WriteString("| webhooks in the site | requests/s | p50 ms | p99 ms | errors |\n| ---: | ---: | ---: | ---: | ---: |\n")
	for _, x := range []struct {
		n   int
		res result
	}{{a.SmallN, a.ListSmall}, {a.BigN, a.ListBig}} {
		fmt.Fprintf(b, "| %s | %.0f | %s | %s | %d |\n", thousands(x.n), x.res.RPS(), ms(pct(x.res.Lat, 50)), ms(pct(x.res.Lat, 99)), x.res.Errors)
	}
	fmt.Fprintf(b, "\np50 ratio %s / %s webhooks: %.2f. Peak RSS: %s.%s\n\n", thousands(a.BigN), thousands(a.SmallN),
		safeDiv(float64(pct(a.ListBig.Lat, 50)), float64(pct(a.ListSmall.Lat, 50))), mib(a.ListRSSKiB), firstErr(a.ListSmall.FirstEr, a.ListBig.FirstEr))
}

func (r *report) writeDispatch(b *strings.Builder) {
	sz := r.Sizes
	d := r.Dispatch
	fmt.Fprintf(b, "## 4. Dispatch\n\nWebhooks point at a local Go receiver (answers 200 at once; `allow_networks 127.0.0.0/8`, other dispatch "+
		"settings default: `max_per_webhook 4`, `max_concurrent 64`). Events are POSTed to `/wp-json/wc-webhooks/v1/events` over HTTPS (the burst also appends them straight to the event stream).\n\n")
	if r.skipped(b, "dispatch") {
		return
	}
	fmt.Fprintf(b, "**Burst**: %s events to the one `order.created` webhook, timed from the first publish to the last delivery, "+
		"published by %d concurrent clients either straight into the site's event stream (XADD through `redisstore`, as the "+
		"proxy does: the dispatcher's own rate) or through the events endpoint over HTTPS; against a bare Go HTTP POST loop "+
		"with %d workers (the per-webhook limit) sending as many bodies to the same receiver.\n\n",
		thousands(d.N), sz.DispatchConc, sz.BareConc)
	b.WriteString("| path | delivered | duplicates | seconds | deliveries/s | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, row := range []struct {
		name string
		b    burst
	}{{"events queued in Redis → dispatcher → receiver", d.Queued}, {"events endpoint (HTTPS) → dispatcher → receiver", d.Endpoint}} {
		fmt.Fprintf(b, "| %s | %d / %d | %d | %.2f | %.0f | %s | %s |\n", row.name, row.b.Got, d.N, row.b.Dups,
			row.b.Time.Seconds(), row.b.Rate(), ms(pct(row.b.Lat, 50)), ms(pct(row.b.Lat, 99)))
	}
	fmt.Fprintf(b, "| bare Go POST loop | %d / %d | | %.2f | %.0f | | |\n\n", d.BareGot, d.N, d.BareTime.Seconds(), d.BareRate())
	fmt.Fprintf(b, "**Dispatcher / bare loop: %.3f**; through the events endpoint %.3f (publish errors: %d; POSTing the events took "+
		"%.2f s, %.0f events/s accepted). Peak RSS: %s.%s\n\n",
		safeDiv(d.Queued.Rate(), d.BareRate()), safeDiv(d.Endpoint.Rate(), d.BareRate()), d.PublishErrors, d.PublishTime.Seconds(),
		perSec(d.N-d.PublishErrors, d.PublishTime), mib(d.RSSKiB), firstErr(d.PublishFirstErr))
	fmt.Fprintf(b, "**Fixed rates**: event-to-delivery latency (send time in the payload to arrival at the receiver), %.0f s per rate, "+
		"open loop; fan-out 1 is the `order.created` webhook, fan-out 10 is ten `product.created` webhooks, each at its own receiver "+
		"path (every delivery counted). A run waits at most %s for its deliveries.\n\n", sz.RateSeconds, sz.Drain)
	b.WriteString("| events/s | fan-out | events | publish errors | delivered / expected | duplicates | p50 ms | p95 ms | p99 ms |\n")
	b.WriteString("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	var errs []string
	for _, x := range d.Rates {
		fmt.Fprintf(b, "| %.0f | %d | %d | %d | %d / %d | %d | %s | %s | %s |\n", x.Rate, x.FanOut, x.Sent, x.Failed, x.Got, x.Expected(), x.Dups,
			ms(pct(x.Lat, 50)), ms(pct(x.Lat, 95)), ms(pct(x.Lat, 99)))
		errs = append(errs, x.FirstErr)
	}
	fmt.Fprintf(b, "\nPeak RSS over the fixed-rate runs: %s.%s\n\n", mib(d.RateRSSKiB), firstErr(errs...))
	if r.ChartPath != "" {
		fmt.Fprintf(b, "![event-to-delivery latency against event rate](%s)\n\n", r.ChartPath)
	}
}

func perEventRow(b *strings.Builder, name string, p scalePhase) {
	marg := func(pick func(cpuDelta) time.Duration) string {
		return us(p.perEvent(marginal(p.Busy, p.Idle, pick)))
	}
	calls := func(d cpuDelta) float64 { return safeDiv(float64(d.CmdCalls), float64(p.Events-p.Failed)) }
	fmt.Fprintf(b, "| %s | %s | %s | %d / %d | %s | %s | %.1f | %s | %s | %s | %s | %d (%d blocked) |\n",
		name, thousands(p.Known), thousands(p.Hooks), p.Got, p.expected(), ms(pct(p.Lat, 50)), ms(pct(p.Lat, 99)),
		calls(p.Busy), us(p.perEvent(time.Duration(p.Busy.CmdUsec)*time.Microsecond)),
		us(p.perEvent(p.Busy.RedisCPU)), us(p.perEvent(p.Busy.CaddyCPU)),
		marg(func(d cpuDelta) time.Duration { return d.RedisCPU })+" / "+marg(func(d cpuDelta) time.Duration { return d.CaddyCPU }),
		p.Clients, p.Blocked)
}

// expected is the deliveries the phase should produce.
func (p scalePhase) expected() int { return (p.Events - p.Failed) * p.FanOut }

func (r *report) writeScale(b *strings.Builder) {
	sz := r.Sizes
	s := r.Scale
	fmt.Fprintf(b, "### Cost per event as webhooks grow\n\nEvents are appended straight to one site's event stream (XADD through `redisstore`, "+
		"as the module does) at %.0f events/s for %.0f s; that site has %d `product.created` webhooks, each at its own receiver path. "+
		"Measured with that site alone; again after %s more sites of %d `product.created` webhooks each were stored "+
		"(never sent an event) for the dispatcher to discover, with Caddy's Redis pool at go-redis's default (%d connections); and "+
		"once more after reloading Caddy with `?pool_size=%d` on the Redis URL. CPU: Redis `used_cpu_user+sys`, Caddy `utime+stime` "+
		"(/proc, 10 ms resolution), from the first publish to the last delivery; Redis commands from `INFO commandstats` (which counts the commands scripts run, too). "+
		"Marginal = run minus the idle rate (a window of the same length without events just before) over the run's length. "+
		"\"Known sites\" counts the dispatcher's known-sites set (the benchmark's other sites included); \"blocked\" is Redis's "+
		"`blocked_clients` at the end of the run: the dispatcher's readers waiting in XREADGROUP, one per site it reads at that moment.\n\n",
		sz.ScaleRate, sz.ScaleSeconds, sz.ScaleHooks, thousands(sz.ScaleSites-1), sz.ScaleHooks, s.DefaultPool, s.PoolSize)
	if r.skipped(b, "scale") {
		return
	}
	b.WriteString("| phase | known sites | webhooks stored | delivered | p50 ms | p99 ms | Redis calls / event | Redis command time / event | " +
		"Redis CPU / event | Caddy CPU / event | marginal Redis / Caddy CPU per event | Redis clients (blocked) |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	perEventRow(b, "1 site", s.One)
	perEventRow(b, fmt.Sprintf("%s sites, default pool", thousands(s.Many.Sites)), s.Many)
	if s.Pooled.Sites > 0 {
		perEventRow(b, fmt.Sprintf("%s sites, pool_size %d", thousands(s.Pooled.Sites), s.PoolSize), s.Pooled)
	}
	rr, cr := r.scaleRatios()
	fmt.Fprintf(b, "\nMany sites (default pool) / one site, CPU per event: **Redis %.2f×, Caddy %.2f×**", rr, cr)
	if s.Pooled.Sites > 0 {
		pr, pc := r.pooledRatios()
		mr, mc := r.marginalRatios(s.Pooled)
		fmt.Fprintf(b, "; with pool_size %d: **Redis %.2f×, Caddy %.2f×** (marginal: Redis %.2f×, Caddy %.2f×)", s.PoolSize, pr, pc, mr, mc)
	}
	fmt.Fprintf(b, ". Peak RSS: %s.\n\nIdle (no events), per second:\n\n| phase | Redis calls | Redis command time | Redis CPU | Caddy CPU | top commands by time |\n"+
		"| --- | ---: | ---: | ---: | ---: | --- |\n", mib(s.RSSKiB))
	for _, x := range []struct {
		name string
		p    scalePhase
	}{{"1 site", s.One}, {"many sites, default pool", s.Many}, {"many sites, pool_size", s.Pooled}} {
		if x.p.Sites == 0 {
			continue
		}
		sec := x.p.Idle.Wall.Seconds()
		fmt.Fprintf(b, "| %s | %.0f | %s | %s | %s | %s |\n", x.name, safeDiv(float64(x.p.Idle.CmdCalls), sec),
			us(time.Duration(safeDiv(float64(x.p.Idle.CmdUsec), sec))*time.Microsecond),
			us(time.Duration(safeDiv(float64(x.p.Idle.RedisCPU), sec))), us(time.Duration(safeDiv(float64(x.p.Idle.CaddyCPU), sec))), x.p.Idle.Top)
	}
	b.WriteString("\n")
	for _, n := range s.Notes {
		fmt.Fprintf(b, "Note: %s.\n", n)
	}
	if len(s.Notes) > 0 {
		b.WriteString("\n")
	}
}

func (r *report) writeMemory(b *strings.Builder) {
	b.WriteString("## 5. Memory\n\nCaddy's peak RSS per scenario (VmHWM):\n\n| scenario | peak RSS |\n| --- | ---: |\n")
	for _, x := range []struct {
		name, scenario string
		kib            int64
	}{{"pass-through", "pass-through", r.Pass.RSSKiB}, {"watched writes", "watched writes", r.Writes.RSSKiB},
		{"webhooks API (keys and upstream)", "webhooks API", r.API.RSSKiB}, {"list latency (100 / 10,000 webhooks)", "list latency", r.API.ListRSSKiB},
		{"dispatch burst", "dispatch", r.Dispatch.RSSKiB}, {"dispatch fixed rates", "dispatch", r.Dispatch.RateRSSKiB},
		{"cost per event (both phases)", "scale", r.Scale.RSSKiB}} {
		v := mib(x.kib)
		if _, bad := r.Failed[x.scenario]; bad {
			v = "did not finish"
		}
		fmt.Fprintf(b, "| %s | %s |\n", x.name, v)
	}
	b.WriteString("\nRedis (`INFO memory` used_memory growth):\n\n| what | bytes each | measured over |\n| --- | ---: | --- |\n")
	if _, bad := r.Failed["list latency"]; !bad {
		fmt.Fprintf(b, "| stored webhook (record + 8 indexes) | %.0f | %s webhooks in one site |\n", r.API.BytesPerWebhook, thousands(r.API.BigN))
	}
	if _, bad := r.Failed["memory"]; !bad {
		m := r.Mem
		fmt.Fprintf(b, "| logged delivery (record %d bytes as JSON, request body %d bytes: a real `order.created` payload) | %.0f | %s deliveries, "+
			"%d webhooks × 25 (the default `keep_deliveries`) |\n", m.RecordBytes, m.RequestBodyBytes, m.BytesPerDelivery, thousands(m.Deliveries), m.Webhooks)
	}
	if _, bad := r.Failed["dispatch"]; !bad {
		n := 0
		for _, x := range r.Dispatch.Rates {
			n += x.Got
		}
		fmt.Fprintf(b, "| delivery through the dispatcher (log entry, the finished job kept for redelivery, stream remnants) | %.0f | "+
			"the %s deliveries of the fixed-rate runs |\n", r.Dispatch.BytesPerDispatched, thousands(n))
	}
	b.WriteString("\n")
}
