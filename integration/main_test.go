package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

var (
	// repoRoot is the module's root directory.
	repoRoot string
	// caddyBin is the Caddy binary built for this run, "" when the build failed.
	caddyBin string
	// caddyBuildErr explains why caddyBin is "" (the build's output).
	caddyBuildErr error
)

// CaddyBinEnv names an environment variable that, when set, gives a Caddy
// binary (with the module) to use instead of building one.
const CaddyBinEnv = "WCWH_CADDY_BIN"

// TestMain builds the Caddy binary with the module once for the whole run;
// every test that needs it calls caddyBinary.
func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Dir(filepath.Dir(file))
	if bin := os.Getenv(CaddyBinEnv); bin != "" {
		caddyBin = bin
		os.Exit(m.Run())
	}
	tmp, err := os.MkdirTemp("", "wcwh-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: temp dir:", err)
		os.Exit(1)
	}
	bin := filepath.Join(tmp, "caddy")
	cmd := exec.Command("go", "build", "-o", bin, "./caddymodule/cmd/caddy")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		caddyBuildErr = fmt.Errorf("go build ./caddymodule/cmd/caddy: %w\n%s", err, out)
	} else {
		caddyBin = bin
	}
	code := m.Run()
	_ = os.RemoveAll(tmp)
	os.Exit(code)
}

// caddyBinary returns the path of the Caddy binary, failing the test with
// the build's output when it could not be built.
func caddyBinary(t testing.TB) string {
	t.Helper()
	if caddyBin == "" {
		t.Fatalf("the Caddy binary with the module could not be built:\n%v", caddyBuildErr)
	}
	return caddyBin
}
