package integration

import (
	"testing"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/harness"
)

// aofRedis is a redis-server with appendonly yes and appendfsync always in
// a directory of the test's, which can be killed with SIGKILL and started
// again on the same port and data.
type aofRedis struct {
	*harness.Redis
	t testing.TB
}

// startAOFRedis starts the server and stops it in t.Cleanup.
func startAOFRedis(t testing.TB) *aofRedis {
	t.Helper()
	r, err := harness.StartRedis(t.TempDir(), true)
	if r != nil {
		t.Cleanup(r.Kill9)
	}
	must(t, err, "start redis-server")
	return &aofRedis{Redis: r, t: t}
}

// restart kills the server with SIGKILL and starts it again on its data.
func (r *aofRedis) restart() {
	r.t.Helper()
	must(r.t, r.Restart(), "restart redis-server")
}
