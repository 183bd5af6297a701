package integration

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// aofRedis is a redis-server with appendonly yes and appendfsync always in
// a directory of the test's, which can be killed with SIGKILL and started
// again on the same port and data.
type aofRedis struct {
	t      testing.TB
	dir    string
	port   int
	Addr   string
	cmd    *exec.Cmd
	exited chan struct{}
	log    *lockedBuffer
}

// startAOFRedis starts the server and stops it in t.Cleanup.
func startAOFRedis(t testing.TB) *aofRedis {
	t.Helper()
	r := &aofRedis{t: t, dir: t.TempDir(), port: freePort(t)}
	r.Addr = fmt.Sprintf("127.0.0.1:%d", r.port)
	r.start()
	t.Cleanup(r.kill9)
	return r
}

func (r *aofRedis) start() {
	r.t.Helper()
	r.log = &lockedBuffer{}
	r.exited = make(chan struct{})
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--dir", r.dir, "--daemonize", "no", "--logfile", "")
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	exited := r.exited
	go func() { _ = r.cmd.Wait(); close(exited) }()
	c := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		select {
		case <-exited:
			r.t.Fatalf("redis-server exited: %s", lastLines(r.log.String(), 10))
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server did not answer PING: %s", lastLines(r.log.String(), 10))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill9 kills the server with SIGKILL and waits until it is gone.
func (r *aofRedis) kill9() {
	select {
	case <-r.exited:
		return
	default:
	}
	_ = r.cmd.Process.Kill()
	<-r.exited
}

// restart kills the server with SIGKILL and starts it again on its data.
func (r *aofRedis) restart() {
	r.t.Helper()
	r.kill9()
	r.start()
}
