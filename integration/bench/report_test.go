package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// synthetic returns a result of n requests over elapsed whose latencies
// run evenly from lo to hi.
func synthetic(n int, elapsed, lo, hi time.Duration) result {
	r := result{N: n, Elapsed: elapsed}
	for i := 0; i < n; i++ {
		r.Lat = append(r.Lat, lo+time.Duration(int64(hi-lo)*int64(i)/int64(max(n-1, 1))))
	}
	return r
}

func rate(rate float64, fan int, lo, hi time.Duration) rateResult {
	n := int(rate)
	return rateResult{Rate: rate, FanOut: fan, Sent: n, Got: n * fan, Lat: synthetic(n*fan, time.Second, lo, hi).Lat}
}

func phase(events int, redisCPU, caddyCPU time.Duration) scalePhase {
	return scalePhase{Sites: 1, Hooks: 10, FanOut: 10, Events: events, Got: events * 10,
		Busy: cpuDelta{Wall: time.Second, RedisCPU: redisCPU, CaddyCPU: caddyCPU, CmdCalls: int64(events) * 30},
		Idle: cpuDelta{Wall: time.Second, RedisCPU: redisCPU / 10}}
}

// syntheticReport meets every target but the watched-writes one.
func syntheticReport() *report {
	ms := time.Millisecond
	r := &report{Mode: "quick", Command: "go run ./integration/bench -quick", Sizes: quickSizes, Started: time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC),
		Took: time.Minute, CPUs: 2, CPUModel: "test CPU", GoVersion: "go1.26", Redis: "7.0.15", RSSReset: true}
	r.Pass = passResult{Plain: []result{synthetic(1000, time.Second, ms, 3*ms)}, Module: []result{synthetic(1000, 1010*time.Millisecond, ms, 3*ms)}, RSSKiB: 80 * 1024}
	r.Writes = writeResult{Plain: []result{synthetic(100, time.Second, ms, 2*ms)}, Module: []result{synthetic(100, time.Second, ms, 4*ms)}, Expected: 100, Delivered: 100}
	api := apiRun{List: synthetic(1500, time.Second, ms, 2*ms), Get: synthetic(3000, time.Second, ms, 2*ms), Create: synthetic(2000, time.Second, ms, 2*ms)}
	r.API = apiResult{Keys: api, Upstream: api, SmallN: 100, BigN: 10000, ListSmall: synthetic(100, time.Second, ms, 2*ms),
		ListBig: synthetic(100, time.Second, ms, 2*ms), BytesPerWebhook: 1900}
	r.Mem = memResult{Deliveries: 1000, Webhooks: 40, RequestBodyBytes: 300, RecordBytes: 1200, BytesPerDelivery: 1350}
	r.Dispatch = dispatchResult{N: 1000, Queued: burst{Got: 1000, Time: time.Second}, Endpoint: burst{Got: 1000, Time: 2 * time.Second},
		BareGot: 1000, BareTime: 1500 * time.Millisecond,
		Rates: []rateResult{rate(100, 1, ms, 3*ms), rate(500, 1, ms, 20*ms), rate(1000, 1, 2*ms, 40*ms),
			rate(100, 10, ms, 5*ms), rate(500, 10, 10*ms, 900*ms), rate(1000, 10, 100*ms, 3*time.Second)}}
	r.Scale = scaleResult{Rate: 100, Seconds: 1, HooksPerSite: 10, DefaultPool: 20, PoolSize: 1100,
		One: phase(100, 100*ms, 300*ms), Many: phase(100, 110*ms, 310*ms), Pooled: phase(100, 105*ms, 305*ms)}
	r.Scale.Many.Sites, r.Scale.Many.Hooks = 1000, 10000
	return r
}

func verdicts(r *report) map[string]string {
	out := map[string]string{}
	for _, row := range r.targets() {
		key, _, _ := strings.Cut(row.Target, ":")
		out[key] = row.Verdict
	}
	return out
}

func TestTargetsJudgeSyntheticNumbers(t *testing.T) {
	r := syntheticReport()
	got := verdicts(r)
	want := map[string]string{
		"Pass-through":                               verdictMet,    // 0.99 ≥ 0.97
		"Watched writes":                             verdictMissed, // +2 ms at p99
		"Webhooks API from Redis":                    verdictMet,    // lowest 1,500/s
		"Dispatch":                                   verdictMet,    // 1.5 ≥ 0.5
		"Event-to-delivery at 500 events/s":          verdictMet,    // p50 ~10.5 ms? see below
		"Cost per event proportional to subscribers": verdictMet,
		"`kill -9` of Caddy or a Redis restart (AOF) during a burst": verdictNotMeasured,
	}
	// 500/s fan-out 1 runs evenly from 1 to 20 ms: p50 is 10.5 ms, over 5 ms.
	want["Event-to-delivery at 500 events/s"] = verdictMissed
	want["One slow or dead receiver never delays the others"] = verdictNotMeasured
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: verdict %q, want %q (all: %v)", k, got[k], v, got)
		}
	}

	r.Dispatch.Rates[1] = rate(500, 1, msec(1), msec(9))
	if v := verdicts(r)["Event-to-delivery at 500 events/s"]; v != verdictMet {
		t.Errorf("500/s from 1 to 9 ms: %q, want met", v)
	}
	r.Dispatch.Rates[1].Got-- // one delivery missing fails the target whatever the latency
	if v := verdicts(r)["Event-to-delivery at 500 events/s"]; v != verdictMissed {
		t.Errorf("500/s with a delivery missing: %q, want missed", v)
	}
	r.Scale.Many.Busy.RedisCPU = 300 * time.Millisecond // 3× the one-site cost
	if v := verdicts(r)["Cost per event proportional to subscribers"]; v != verdictMissed {
		t.Errorf("3× Redis CPU per event: %q, want missed", v)
	}
	r.failed("pass-through", os.ErrDeadlineExceeded)
	if v := verdicts(r)["Pass-through"]; v != verdictMissed {
		t.Errorf("failed pass-through scenario: %q, want missed", v)
	}
}

func msec(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestMarkdownHasEverySection(t *testing.T) {
	r := syntheticReport()
	r.ChartPath = "bench.png"
	r.failed("memory", os.ErrNotExist)
	md := r.markdown()
	for _, s := range []string{
		"# caddy-wc-webhooks benchmark (quick run)", "2026-11-23 15:00 UTC", "2 CPUs (test CPU)", "`go run ./integration/bench -quick`",
		"## Targets", "## 1. Pass-through", "## 2. Watched writes", "## 3. Webhooks API", "### List latency against site size",
		"## 4. Dispatch", "### Cost per event as webhooks grow", "## 5. Memory", "![event-to-delivery latency against event rate](bench.png)",
		"Added by the module: **p50 +0.99 ms, p99 +1.98 ms**", "| 1000 | 10 | 1000 | 0 | 10000 / 10000 | 0 |",
		"| stored webhook (record + 8 indexes) | 1900 |", "memory: `file does not exist`", "1,000 sites, default pool",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("report lacks %q", s)
		}
	}
	if strings.Contains(md, "logged delivery (record") {
		t.Error("a failed memory scenario must not print its (zero) figures")
	}
}

func TestChartIsAPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latency.png")
	if err := writeChart(path, syntheticReport().Dispatch.Rates); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 300 {
		t.Errorf("chart is %v, want at least 600×300", b)
	}
	if err := writeChart(filepath.Join(t.TempDir(), "empty.png"), []rateResult{{Rate: 100, FanOut: 1}}); err == nil {
		t.Error("a chart without latencies must be an error")
	}
}

func TestHelpers(t *testing.T) {
	for in, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1000: "-1,000"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%d) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]int64{"/hook": 0, "/hook/": 0, "/hook/7": 7, "/hook/255": 255, "/hook/256": 0, "/hook/x": 0, "/other": 0} {
		if got := pathIndex(in); got != want {
			t.Errorf("pathIndex(%q) = %d, want %d", in, got, want)
		}
	}
	lat := synthetic(101, time.Second, 0, 100*time.Millisecond).Lat
	if p := pct(lat, 50); p != 50*time.Millisecond {
		t.Errorf("p50 = %v, want 50ms", p)
	}
	if p := pct(nil, 99); p != 0 {
		t.Errorf("p99 of nothing = %v, want 0", p)
	}
}
