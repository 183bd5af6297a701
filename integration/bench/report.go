package main

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// report is everything one run measured.
type report struct {
	Mode      string // "default" or "quick"
	Command   string // the command line that reproduces the run
	Sizes     sizes
	Started   time.Time
	Took      time.Duration
	CPUs      int
	CPUModel  string
	Redis     string // redis-server version
	GoVersion string
	RSSReset  bool   // VmHWM could be reset between scenarios
	ChartPath string // "" when no chart was written
	Pass      passResult
	Writes    writeResult
	API       apiResult
	Mem       memResult
	Dispatch  dispatchResult
	Scale     scaleResult
	Failed    map[string]string // scenario -> error, for scenarios that did not finish
}

// failed records that a scenario did not finish.
func (r *report) failed(scenario string, err error) {
	if r.Failed == nil {
		r.Failed = map[string]string{}
	}
	r.Failed[scenario] = err.Error()
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

// roundRatios is module/plain requests per second, round by round.
func roundRatios(plain, module []result) []float64 {
	var out []float64
	for i := range plain {
		if i < len(module) && plain[i].RPS() > 0 {
			out = append(out, module[i].RPS()/plain[i].RPS())
		}
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
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

// us formats a duration in microseconds.
func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }

// signedMs formats a latency difference in milliseconds with its sign.
func signedMs(d time.Duration) string {
	return fmt.Sprintf("%+.2f", float64(d)/float64(time.Millisecond))
}

// thousands formats n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// markdown renders the whole report.
func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# caddy-wc-webhooks benchmark (%s run)\n\n", r.Mode)
	fmt.Fprintf(&b, "- Date: %s (took %s)\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Took.Round(time.Second))
	fmt.Fprintf(&b, "- Machine: %d CPUs (%s), loopback only; %s, redis-server %s\n", r.CPUs, orUnknown(r.CPUModel), r.GoVersion, orUnknown(r.Redis))
	fmt.Fprintf(&b, "- Mode: %s\n- Command: `%s`\n", r.Mode, r.Command)
	b.WriteString("- Set-up: Caddy with the module, one redis-server (`--save '' --appendonly no`), a Go page upstream, " +
		"the stand-in WooCommerce (`integration/standin`) and a Go webhook receiver, all started by this run. ")
	fmt.Fprintf(&b, "Peak RSS is Caddy's VmHWM, %s.\n\n", rssNote(r.RSSReset))
	if len(r.Failed) > 0 {
		b.WriteString("**Scenarios that did not finish:**\n\n")
		var names []string
		for n := range r.Failed {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "- %s: `%s`\n", n, strings.ReplaceAll(r.Failed[n], "`", "'"))
		}
		b.WriteString("\n")
	}
	r.writeTargets(&b)
	r.writePass(&b)
	r.writeWrites(&b)
	r.writeAPI(&b)
	r.writeDispatch(&b)
	r.writeScale(&b)
	r.writeMemory(&b)
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
