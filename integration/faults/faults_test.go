package main

import (
	"os"
	"testing"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/harness"
)

// caddyBinEnv names an environment variable that, when set, gives a Caddy
// binary (with the module) to use instead of building one (the same
// variable as the integration tests').
const caddyBinEnv = "WCWH_CADDY_BIN"

// TestFaultSuiteShort runs the -short fault suite (all six scenarios, about
// 90 s plus the Caddy build) through the same code as the command and
// fails on any lost event, bad signature or scenario that could not run.
// Duplicates beyond the in-flight count and the hang scenario's latency
// comparison are reported, not asserted (the in-flight count is sampled,
// and no timing is asserted in tests).
func TestFaultSuiteShort(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault suite takes about two minutes")
	}
	bin := os.Getenv(caddyBinEnv)
	if bin == "" {
		var err error
		if bin, err = harness.BuildCaddy(t.TempDir()); err != nil {
			t.Fatalf("build caddy: %v", err)
		}
	}
	s := &suite{bin: bin, root: t.TempDir(), keepLogs: t.TempDir(), sz: shortSizes, short: true, log: testWriter{t}}
	rp := s.runSuite()
	t.Log("\n" + rp.markdown("go test ./integration/faults"))
	if len(rp.Results) != len(scenarios) {
		t.Fatalf("%d scenarios ran, want %d", len(rp.Results), len(scenarios))
	}
	for _, r := range rp.Results {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Name, r.Err)
		}
		if r.Published == 0 {
			t.Errorf("%s: no event was published", r.Name)
		}
		if r.Lost > 0 {
			t.Errorf("%s: %d acknowledged events lost: %v", r.Name, r.Lost, r.LostIDs)
		}
		if r.BadSignatures > 0 {
			t.Errorf("%s: %d deliveries with a bad signature", r.Name, r.BadSignatures)
		}
		if !r.pass() {
			t.Logf("%s: %s (see the report above)", r.Name, r.verdict())
		}
	}
}

// testWriter sends the suite's progress lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
