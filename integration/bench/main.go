// Command bench measures caddy-wc-webhooks on one machine, loopback only,
// each figure side by side with its baseline in the same run: pass-through
// and watched writes against plain reverse_proxy, the webhooks API from
// Redis (auth keys and auth upstream, list latency at 100 and 10,000
// webhooks), dispatch against a bare Go POST loop and at fixed event rates
// with fan-out 1 and 10, cost per event with 1 site and with 1,000 sites,
// Caddy's peak RSS and Redis bytes per webhook and per delivery. It prints
// a Markdown report, writes it to -out, and draws the latency chart as a
// PNG (-chart).
//
//	go run ./integration/bench -quick        # about 1-1.5 min, 100 sites
//	go run ./integration/bench -out integration/bench/report.md
//	                                         # default run, about 3-5 min
//
// The chart goes to -chart, by default next to -out with the extension
// .png (integration/bench/report.png above), or bench-latency.png in the
// working directory when -out is not given. Every scenario that fails is
// named in the report and the command exits 1; the others still run.
//
// Run it from the repository root: it builds ./caddymodule/cmd/caddy
// (unless -caddy names a binary) and starts its own redis-server (on PATH),
// upstreams and receiver on free 127.0.0.1 ports.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/harness"
)

func main() {
	quick := flag.Bool("quick", false, "a short run (small request counts, 100 sites instead of 1,000)")
	out := flag.String("out", "", "also write the Markdown report to this file")
	chart := flag.String("chart", "", "PNG file for the latency chart (default: -out with .png, or bench-latency.png)")
	caddyPath := flag.String("caddy", "", "Caddy binary with the module (default: build ./caddymodule/cmd/caddy)")
	flag.Parse()
	if *chart == "" {
		*chart = "bench-latency.png"
		if *out != "" {
			*chart = strings.TrimSuffix(*out, filepath.Ext(*out)) + ".png"
		}
	}
	if err := run(*quick, *out, *chart, *caddyPath); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// command is the command line that reproduces this run.
func command() string {
	args := []string{"go", "run", "./integration/bench"}
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "caddy" {
			return // a local path; the default builds the same binary
		}
		if f.Value.String() == "true" {
			args = append(args, "-"+f.Name)
			return
		}
		args = append(args, "-"+f.Name, f.Value.String())
	})
	return strings.Join(args, " ")
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %s: "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func run(quick bool, out, chart, caddyPath string) error {
	sz, mode := fullSizes, "default"
	if quick {
		sz, mode = quickSizes, "quick"
	}
	dir, err := os.MkdirTemp("", "wcwh-bench-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	if caddyPath == "" {
		progress("building ./caddymodule/cmd/caddy")
		if caddyPath, err = harness.BuildCaddy(dir); err != nil {
			return err
		}
	}
	e, err := startEnv(dir, caddyPath)
	defer e.stop()
	if err != nil {
		return err
	}
	rep := &report{Mode: mode, Command: command(), Sizes: sz, Started: time.Now(), CPUs: runtime.NumCPU(),
		CPUModel: cpuModel(), GoVersion: runtime.Version(), RSSReset: e.caddy.ResetPeakRSS()}
	if info, err := harness.RedisInfo(context.Background(), e.rdb, "server"); err == nil {
		rep.Redis = info["redis_version"]
	}
	runScenarios(e, sz, rep)
	rep.Took = time.Since(rep.Started)
	if err := writeChart(chart, rep.Dispatch.Rates); err != nil {
		progress("no chart: %v", err)
	} else {
		rep.ChartPath = chart
		if out != "" {
			if rel, err := filepath.Rel(filepath.Dir(out), chart); err == nil {
				rep.ChartPath = rel
			}
		}
	}
	md := rep.markdown()
	fmt.Print(md)
	if out != "" {
		if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	if len(rep.Failed) > 0 {
		return fmt.Errorf("%d scenario(s) did not finish (see the report)", len(rep.Failed))
	}
	return nil
}

// runScenarios runs every scenario in order; a failed one is recorded in
// the report and the run goes on with the next.
func runScenarios(e *env, sz sizes, rep *report) {
	progress("pass-through")
	rep.Pass = runPassThrough(e, sz)
	progress("watched writes")
	var err error
	if rep.Writes, err = runWatchedWrites(e, sz); err != nil {
		rep.failed("watched writes", err)
	}
	progress("memory per logged delivery")
	if rep.Writes.HookID == 0 {
		rep.failed("memory", fmt.Errorf("no order.created webhook"))
	} else if rep.Mem, err = runMemory(e, sz, rep.Writes.HookID); err != nil {
		rep.failed("memory", err)
	}
	progress("webhooks API")
	if rep.API, err = runAPI(e, sz); err != nil {
		rep.failed("webhooks API", err)
	}
	progress("list latency")
	if err := runListLatency(e, sz, &rep.API); err != nil {
		rep.failed("list latency", err)
	}
	progress("dispatch")
	if rep.Writes.HookID == 0 {
		rep.failed("dispatch", fmt.Errorf("no order.created webhook"))
	} else if rep.Dispatch, err = runDispatch(e, sz); err != nil {
		rep.failed("dispatch", err)
	}
	progress("cost per event, 1 site and %d sites", sz.ScaleSites)
	if rep.Scale, err = runScale(e, sz); err != nil {
		rep.failed("scale", err)
	}
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
