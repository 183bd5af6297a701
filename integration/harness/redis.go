package harness

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a throwaway redis-server on a loopback port. With AOF it runs
// appendonly yes, appendfsync always, and can be killed with SIGKILL and
// started again on the same port and data (Restart).
type Redis struct {
	// Addr is "127.0.0.1:port".
	Addr string
	// URL is "redis://127.0.0.1:port".
	URL string
	// Log is the server's output.
	Log *LockedBuffer

	dir    string
	port   int
	aof    bool
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartRedis starts redis-server (from PATH) with its data in dir; aof
// turns the append-only file on. It returns once the server answers PING.
func StartRedis(dir string, aof bool) (*Redis, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	r := &Redis{dir: dir, port: port, aof: aof,
		Addr: fmt.Sprintf("127.0.0.1:%d", port), URL: fmt.Sprintf("redis://127.0.0.1:%d", port)}
	return r, r.start()
}

func (r *Redis) start() error {
	args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "",
		"--dir", r.dir, "--daemonize", "no", "--logfile", ""}
	if r.aof {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	r.Log = &LockedBuffer{}
	r.exited = make(chan struct{})
	r.cmd = exec.Command("redis-server", args...)
	r.cmd.Stdout, r.cmd.Stderr = r.Log, r.Log
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := r.exited
	go func() { _ = r.cmd.Wait(); close(exited) }()
	c := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited: %s", LastLines(r.Log.String(), 10))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server did not answer PING: %s", LastLines(r.Log.String(), 10))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// Kill9 kills the server with SIGKILL and waits until it is gone.
func (r *Redis) Kill9() {
	if r == nil || r.cmd == nil {
		return
	}
	select {
	case <-r.exited:
		return
	default:
	}
	_ = r.cmd.Process.Kill()
	<-r.exited
}

// Restart kills the server with SIGKILL and starts it again on its data.
func (r *Redis) Restart() error {
	r.Kill9()
	return r.start()
}
