// Command bench measures caddy-wc-webhooks on one machine, loopback only,
// side by side with baselines in the same run: pass-through against plain
// reverse_proxy, the webhooks API from Redis, and dispatch against a bare
// Go POST loop. It prints a Markdown report and writes it to -out.
//
//	go run ./integration/bench -quick        # about 20 s
//	go run ./integration/bench -out bench.md # default run, about 1-2 min
//
// Run it from the repository root: it builds ./caddymodule/cmd/caddy
// (unless -caddy names a binary) and starts its own redis-server (on PATH),
// upstream and receiver on free 127.0.0.1 ports.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/harness"
)

func main() {
	quick := flag.Bool("quick", false, "a short run (small request counts)")
	out := flag.String("out", "", "also write the Markdown report to this file")
	caddyPath := flag.String("caddy", "", "Caddy binary with the module (default: build ./caddymodule/cmd/caddy)")
	flag.Parse()
	if err := run(*quick, *out, *caddyPath); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(quick bool, out, caddyPath string) error {
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
		fmt.Fprintln(os.Stderr, "bench: building ./caddymodule/cmd/caddy")
		if caddyPath, err = harness.BuildCaddy(dir); err != nil {
			return err
		}
	}
	e, err := startEnv(dir, caddyPath)
	defer e.stop()
	if err != nil {
		return err
	}
	rep := &report{Mode: mode, Sizes: sz, Started: time.Now(), CPUs: runtime.NumCPU(), RSSReset: e.caddy.ResetPeakRSS()}
	fmt.Fprintln(os.Stderr, "bench: pass-through")
	rep.Pass = runPassThrough(e, sz)
	fmt.Fprintln(os.Stderr, "bench: webhooks API")
	if rep.API, err = runAPI(e, sz); err != nil {
		return fmt.Errorf("webhooks API: %w", err)
	}
	fmt.Fprintln(os.Stderr, "bench: dispatch")
	if rep.Dispatch, err = runDispatch(e, sz); err != nil {
		return fmt.Errorf("dispatch: %w", err)
	}
	rep.Took = time.Since(rep.Started)
	md := rep.markdown()
	fmt.Print(md)
	if out != "" {
		if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	return nil
}
