package redistest_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore/redistest"
)

func TestClient(t *testing.T) {
	c := redistest.Client(t)
	require.NoError(t, c.Ping(context.Background()).Err())
	save, err := c.ConfigGet(context.Background(), "save").Result()
	require.NoError(t, err)
	assert.Equal(t, "", save["save"], "nothing is saved to disk")
}

func TestStartsSeparateServers(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	assert.NotEqual(t, a, b)
}

// fatalTB records Fatalf instead of failing the real test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestStartWithoutRedisServer(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		redistest.Start(f)
	}()
	<-done
	assert.Contains(t, f.msg, "redis-server is not on PATH")
}
