package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	npmOnce sync.Once
	npmErr  string
)

// jsDir is the directory of the npm client scenarios.
func jsDir() string { return filepath.Join(repoRoot, "integration", "js") }

// ensureNodeModules checks that node and npm are installed and runs
// `npm ci` once when integration/js/node_modules is missing. It fails the
// test (never skips it) when the clients cannot be made ready.
func ensureNodeModules(t testing.TB) {
	t.Helper()
	npmOnce.Do(func() {
		for _, tool := range []string{"node", "npm"} {
			if _, err := exec.LookPath(tool); err != nil {
				npmErr = tool + " is not installed (needed for the npm client tests; bash .ci/test installs nothing for it: install Node.js 18+ with npm)"
				return
			}
		}
		if _, err := os.Stat(filepath.Join(jsDir(), "node_modules")); err == nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = jsDir()
		if out, err := cmd.CombinedOutput(); err != nil {
			npmErr = "npm ci in integration/js failed: " + err.Error() + "\n" + string(out)
		}
	})
	if npmErr != "" {
		t.Fatal(npmErr)
	}
}

// jsStep is one step a client scenario reports.
type jsStep struct {
	Name    string            `json:"name"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Data    json.RawMessage   `json:"data"`
	Error   string            `json:"error"`
}

// jsRun is a finished scenario, its steps by name.
type jsRun struct {
	t     testing.TB
	steps map[string]jsStep
	order []string
}

// step returns the named step, failing the test when it did not run.
func (r jsRun) step(name string) jsStep {
	r.t.Helper()
	s, ok := r.steps[name]
	require.True(r.t, ok, "step %q did not run; steps run: %v", name, r.order)
	require.Empty(r.t, s.Error, "step %q threw", name)
	return s
}

// data decodes a step's data into v.
func (s jsStep) data(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(s.Data, v), "step %s data: %s", s.Name, s.Data)
}

// runScenario runs `node <script>` in integration/js with env and parses the
// steps it prints.
func runScenario(t testing.TB, script string, env map[string]string) jsRun {
	t.Helper()
	ensureNodeModules(t)
	cmd := exec.Command("node", script)
	cmd.Dir = jsDir()
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	require.NoError(t, cmd.Start())
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "node %s failed:\nstdout:\n%s\nstderr:\n%s", script, stdout.String(), stderr.String())
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("node %s did not finish within 2 minutes:\n%s", script, stderr.String())
	}
	var out struct {
		Steps []jsStep `json:"steps"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &out), "node %s printed no JSON:\n%s\nstderr:\n%s", script, stdout.String(), stderr.String())
	run := jsRun{t: t, steps: map[string]jsStep{}}
	for _, s := range out.Steps {
		run.steps[s.Name] = s
		run.order = append(run.order, s.Name)
	}
	return run
}
