package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// BuildCaddy builds ./caddymodule/cmd/caddy of the module the current
// directory belongs to into dir and returns the binary's path.
func BuildCaddy(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("find module root (run from the repository): %v", err)
	}
	bin := filepath.Join(dir, "caddy")
	cmd := exec.Command("go", "build", "-o", bin, "./caddymodule/cmd/caddy")
	cmd.Dir = filepath.Dir(mod)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./caddymodule/cmd/caddy: %w\n%s", err, b)
	}
	return bin, nil
}

// ChildEnv is the environment of a Caddy child: HOME and the XDG dirs in
// dir, so data (certificates, locks, autosave) never leaks.
func ChildEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
}

// Caddy is one running `caddy run --config <dir>/Caddyfile`.
type Caddy struct {
	// Bin is the binary, Dir its HOME and config directory.
	Bin, Dir string
	// Admin is the admin endpoint's "127.0.0.1:port" (the Caddyfile's
	// global `admin` option).
	Admin string
	// Log is Caddy's output.
	Log *LockedBuffer
	// Exited is closed once the process has exited.
	Exited chan struct{}

	cmd *exec.Cmd
}

// StartCaddy writes caddyfile to dir/Caddyfile, runs it, and waits until
// admin and every waitAddr accept connections. The Caddyfile's global
// block must hold `admin <admin>`.
func StartCaddy(bin, dir, admin, caddyfile string, waitAddrs ...string) (*Caddy, error) {
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		return nil, fmt.Errorf("write Caddyfile: %w", err)
	}
	p := &Caddy{Bin: bin, Dir: dir, Admin: admin, Log: &LockedBuffer{}, Exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	p.cmd.Dir, p.cmd.Env = dir, ChildEnv(dir)
	p.cmd.Stdout, p.cmd.Stderr = p.Log, p.Log
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start caddy: %w", err)
	}
	go func() { _ = p.cmd.Wait(); close(p.Exited) }()
	for _, addr := range append([]string{admin}, waitAddrs...) {
		if err := WaitListening(addr, p.Exited); err != nil {
			p.Stop()
			return p, fmt.Errorf("caddy: %w\n%s", err, LastLines(p.Log.String(), 40))
		}
	}
	return p, nil
}

// PID is Caddy's process id.
func (p *Caddy) PID() int { return p.cmd.Process.Pid }

// Kill9 kills Caddy with SIGKILL and waits until it is gone.
func (p *Caddy) Kill9() {
	_ = p.cmd.Process.Kill()
	<-p.Exited
}

// Stop sends SIGTERM, then kills Caddy if it has not exited within 10 s.
func (p *Caddy) Stop() {
	select {
	case <-p.Exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.Exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.Exited
	}
}

// Reload loads a new Caddyfile through the admin API (POST /load with
// Content-Type text/caddyfile); it returns once Caddy runs the new config
// and has closed the old config's listeners (see waitOldListenersClosed).
func (p *Caddy) Reload(caddyfile string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.Admin+"/load", strings.NewReader(caddyfile))
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	req.Header.Set("Content-Type", "text/caddyfile")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("reload: admin answered %d: %s", res.StatusCode, body)
	}
	return waitOldListenersClosed(p.PID(), 10*time.Second)
}

// ResetPeakRSS resets the process's VmHWM (writing 5 to clear_refs); it
// reports whether that worked.
func (p *Caddy) ResetPeakRSS() bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.PID()), []byte("5"), 0) == nil
}

// PeakRSS reads the process's VmHWM in KiB (0 when unreadable).
func (p *Caddy) PeakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID()))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// RunCLI runs the Caddy binary bin with args in dir's environment and
// returns its stdout (stderr is in the error on a non-zero exit).
func RunCLI(bin, dir string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, ChildEnv(dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("caddy %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

var (
	reConsumerKey    = regexp.MustCompile(`\bck_[A-Za-z0-9]+`)
	reConsumerSecret = regexp.MustCompile(`\bcs_[A-Za-z0-9]+`)
)

// APIKey is a WooCommerce consumer key and secret.
type APIKey struct{ CK, CS string }

// AddKey adds an API key to a site with `caddy wc-webhooks add-key` and
// reads the pair (ck_..., cs_...) from its output.
func AddKey(bin, dir, redisURL, site, permissions string) (APIKey, error) {
	out, err := RunCLI(bin, dir, "wc-webhooks", "add-key", "--redis", redisURL, "--site", site, "--permissions", permissions)
	if err != nil {
		return APIKey{}, err
	}
	ck, cs := reConsumerKey.FindString(out), reConsumerSecret.FindString(out)
	if ck == "" || cs == "" {
		return APIKey{}, fmt.Errorf("add-key printed no ck_/cs_ pair")
	}
	return APIKey{CK: ck, CS: cs}, nil
}
