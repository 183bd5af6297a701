package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// caddyProc is one running `caddy run`, stopped in t.Cleanup.
type caddyProc struct {
	t      testing.TB
	dir    string // per-test HOME / XDG dirs and config files
	admin  string // "127.0.0.1:port"
	cmd    *exec.Cmd
	log    *lockedBuffer
	exited chan struct{}
}

// lockedBuffer collects a process's output for the failure report.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// caddyEnv is the environment of a Caddy child: HOME and the XDG dirs in the
// test's own directory, so data (certificates, locks, autosave) never leaks.
func caddyEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+dir,
		"XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
	)
}

// startCaddy writes caddyfile and runs `caddy run --config F --adapter
// caddyfile`, then waits until the admin endpoint and every waitAddr
// accept connections. The Caddyfile's global block must hold
// `admin <adminAddr>`.
func startCaddy(t testing.TB, dir, adminAddr, caddyfile string, waitAddrs ...string) *caddyProc {
	t.Helper()
	bin := caddyBinary(t)
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		t.Fatalf("write Caddyfile: %v", err)
	}
	p := &caddyProc{t: t, dir: dir, admin: adminAddr, log: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	p.cmd.Dir = dir
	p.cmd.Env = caddyEnv(dir)
	p.cmd.Stdout = p.log
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start caddy: %v", err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("Caddyfile:\n%s\ncaddy output (last 60 lines):\n%s", caddyfile, lastLines(p.log.String(), 60))
		}
	})
	for _, addr := range append([]string{adminAddr}, waitAddrs...) {
		p.waitListening(addr)
	}
	return p
}

// waitListening waits up to 30 s for addr to accept TCP connections, failing
// early when Caddy has exited.
func (p *caddyProc) waitListening(addr string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			p.t.Fatalf("caddy exited before %s was listening:\n%s", addr, lastLines(p.log.String(), 60))
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("caddy: %s not listening after 30s:\n%s", addr, lastLines(p.log.String(), 60))
}

// stop sends SIGTERM, then kills Caddy if it has not exited within 10 s.
func (p *caddyProc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// reload loads a new Caddyfile through the admin API (POST /load with
// Content-Type text/caddyfile); it returns once Caddy runs the new config.
func (p *caddyProc) reload(caddyfile string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+p.admin+"/load", strings.NewReader(caddyfile))
	if err != nil {
		p.t.Fatalf("reload: %v", err)
	}
	req.Header.Set("Content-Type", "text/caddyfile")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("reload: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("reload: admin answered %d: %s", res.StatusCode, body)
	}
}

// runCaddyCLI runs the Caddy binary with args in dir's environment and
// returns its stdout; it fails the test on a non-zero exit.
func runCaddyCLI(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(caddyBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = caddyEnv(dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("caddy %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

var (
	reConsumerKey    = regexp.MustCompile(`\bck_[A-Za-z0-9]+`)
	reConsumerSecret = regexp.MustCompile(`\bcs_[A-Za-z0-9]+`)
)

// apiKey is a consumer key and secret.
type apiKey struct{ CK, CS string }

// addKey adds an API key to a site with `caddy wc-webhooks add-key` and
// reads the consumer key and secret (ck_..., cs_...) from its output,
// whatever the surrounding format.
func addKey(t testing.TB, dir, redisURL, site, permissions string) apiKey {
	t.Helper()
	out := runCaddyCLI(t, dir, "wc-webhooks", "add-key", "--redis", redisURL, "--site", site, "--permissions", permissions)
	ck, cs := reConsumerKey.FindString(out), reConsumerSecret.FindString(out)
	if ck == "" || cs == "" {
		t.Fatalf("add-key printed no ck_/cs_ pair:\n%s", out)
	}
	return apiKey{CK: ck, CS: cs}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// must fails the test on err.
func must(t testing.TB, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}
