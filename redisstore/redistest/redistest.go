// Package redistest starts throwaway redis-server processes for tests.
// redis-server must be on PATH; nothing is saved to disk.
package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wcwebhooks/caddy-wc-webhooks/internal/freeport"
)

// startAttempts is how many free ports Start tries before giving up (another
// process may grab a port between the probe and redis-server's bind).
const startAttempts = 3

// readyTimeout is how long Start waits for PING to answer.
const readyTimeout = 15 * time.Second

// Start runs `redis-server --port <free> --save "" --appendonly no` bound to
// 127.0.0.1 in a temporary directory, waits until it answers PING, kills it
// in t.Cleanup and returns its address "127.0.0.1:<port>". It calls t.Fatal
// when redis-server is not on PATH or does not come up.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redistest: redis-server is not on PATH (install Redis, e.g. apt-get install redis-server): %v", err)
	}
	var lastErr error
	for range startAttempts {
		addr, err := start(t, bin)
		if err == nil {
			return addr
		}
		lastErr = err
	}
	t.Fatalf("redistest: redis-server did not start: %v", lastErr)
	return ""
}

// Client starts a redis-server (see Start) and returns a client for it,
// closed in t.Cleanup.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: Start(t)})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// start makes one attempt on one free port.
func start(t testing.TB, bin string) (string, error) {
	port, err := freeport.Pick()
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	out := &syncBuffer{}
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--daemonize", "no", "--logfile", "")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("run %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		if ping(addr) {
			t.Cleanup(stop)
			return addr, nil
		}
		select {
		case <-exited:
			return "", fmt.Errorf("redis-server on port %d exited: %s", port, lastLines(out.String()))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("redis-server on port %d did not answer PING within %s: %s", port, readyTimeout, lastLines(out.String()))
		}
	}
}

// ping reports whether addr answers PING with PONG.
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

func lastLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}

// syncBuffer is a bytes.Buffer safe for the process's output goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
