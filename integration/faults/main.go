// Command faults runs the fault suite of caddy-wc-webhooks: each scenario
// starts a fresh redis-server (appendonly yes, appendfsync always), Caddy
// built with the module and signature-checking receivers that count every
// event id, injects one fault while events are published through
// POST /wp-json/wc-webhooks/v1/events, and reports events published
// (answered 2xx), delivered, lost and duplicated, and the deliveries in
// flight at the fault, with PASS or FAIL against "zero lost; duplicates
// only for in-flight deliveries". The exit status is 1 when a scenario
// fails.
//
//	go run ./integration/faults -short          # about 90 s
//	go run ./integration/faults -out faults.md  # about 5.5 min
//
// Run it from the repository root: it builds ./caddymodule/cmd/caddy
// (unless -caddy names a binary); everything listens on 127.0.0.1.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/harness"
)

func main() {
	short := flag.Bool("short", false, "the short run (5 s faults, fewer events)")
	out := flag.String("out", "", "also write the Markdown report to this file")
	caddyPath := flag.String("caddy", "", "Caddy binary with the module (default: build ./caddymodule/cmd/caddy)")
	only := flag.String("only", "", "comma-separated scenario numbers to run (default: all)")
	logs := flag.String("logs", "", "write the logs of failed scenarios under this directory (default: a temp dir kept on failure)")
	flag.Parse()
	code, err := run(*short, *out, *caddyPath, *only, *logs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func run(short bool, out, caddyPath, only, logs string) (int, error) {
	root, err := mkdirTemp()
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(root)
	if caddyPath == "" {
		fmt.Fprintln(os.Stderr, "faults: building ./caddymodule/cmd/caddy")
		if caddyPath, err = harness.BuildCaddy(root); err != nil {
			return 0, err
		}
	}
	if logs == "" {
		if logs, err = os.MkdirTemp("", "wcwh-faults-logs-"); err != nil {
			return 0, fmt.Errorf("log dir: %w", err)
		}
	}
	s := &suite{bin: caddyPath, root: root, keepLogs: logs, sz: fullSizes, short: short, log: os.Stderr, only: map[int]bool{}}
	if short {
		s.sz = shortSizes
	}
	for _, f := range strings.Split(only, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > len(scenarios) {
			return 0, fmt.Errorf("-only: no scenario %q", f)
		}
		s.only[n] = true
	}
	rp := s.runSuite()
	cmd := "go run ./integration/faults"
	if short {
		cmd += " -short"
	}
	md := rp.markdown(cmd)
	fmt.Print(md)
	if out != "" {
		if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
			return 0, fmt.Errorf("write report: %w", err)
		}
	}
	if rp.failed() {
		fmt.Fprintf(os.Stderr, "faults: FAIL (logs of failed scenarios under %s)\n", logs)
		return 1, nil
	}
	_ = os.Remove(logs) // empty when nothing failed
	return 0, nil
}
