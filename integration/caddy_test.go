package integration

import (
	"fmt"
	"testing"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/harness"
)

// caddyProc is one running `caddy run`, stopped in t.Cleanup.
type caddyProc struct {
	*harness.Caddy
	t testing.TB
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	p, err := harness.FreePort()
	must(t, err, "free port")
	return p
}

// caddyEnv is the environment of a Caddy child (see harness.ChildEnv).
func caddyEnv(dir string) []string { return harness.ChildEnv(dir) }

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string { return harness.LastLines(s, n) }

// startCaddy writes caddyfile and runs `caddy run --config F --adapter
// caddyfile`, then waits until the admin endpoint and every waitAddr
// accept connections. The Caddyfile's global block must hold
// `admin <adminAddr>`.
func startCaddy(t testing.TB, dir, adminAddr, caddyfile string, waitAddrs ...string) *caddyProc {
	t.Helper()
	c, err := harness.StartCaddy(caddyBinary(t), dir, adminAddr, caddyfile, waitAddrs...)
	if c != nil {
		t.Cleanup(func() {
			c.Stop()
			if t.Failed() {
				t.Logf("Caddyfile:\n%s\ncaddy output (last 60 lines):\n%s", caddyfile, lastLines(c.Log.String(), 60))
			}
		})
	}
	must(t, err, "start caddy")
	return &caddyProc{Caddy: c, t: t}
}

// stop ends Caddy (SIGTERM, SIGKILL after 10 s).
func (p *caddyProc) stop() { p.Stop() }

// kill9 kills Caddy with SIGKILL and waits until it is gone.
func (p *caddyProc) kill9() { p.Kill9() }

// reload loads a new Caddyfile through the admin API; it returns once
// Caddy runs the new config.
func (p *caddyProc) reload(caddyfile string) {
	p.t.Helper()
	must(p.t, p.Reload(caddyfile), "reload")
}

// runCaddyCLI runs the Caddy binary with args in dir's environment and
// returns its stdout; it fails the test on a non-zero exit.
func runCaddyCLI(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := harness.RunCLI(caddyBinary(t), dir, args...)
	must(t, err, "caddy CLI")
	return out
}

// apiKey is a consumer key and secret.
type apiKey = harness.APIKey

// addKey adds an API key to a site with `caddy wc-webhooks add-key`.
func addKey(t testing.TB, dir, redisURL, site, permissions string) apiKey {
	t.Helper()
	key, err := harness.AddKey(caddyBinary(t), dir, redisURL, site, permissions)
	must(t, err, "add-key")
	return key
}

// must fails the test on err.
func must(t testing.TB, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}
