package caddymodule

import (
	"context"
	"os"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore/redistest"
)

func TestMain(m *testing.M) {
	// Keep Caddy's autosave and storage out of the real home directory.
	dir, err := os.MkdirTemp("", "wcwh-caddy-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	os.Setenv("XDG_DATA_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testContext returns a caddy.Context without config, cancelled (and its
// modules cleaned up) at the end of the test.
func testContext(t *testing.T) caddy.Context {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	return ctx
}

// provisionApp provisions app and registers its Cleanup.
func provisionApp(t *testing.T, app *App) {
	t.Helper()
	require.NoError(t, app.Provision(testContext(t)))
	t.Cleanup(func() { _ = app.Cleanup() })
}

func TestAppProvisionDefaultsWithoutRedis(t *testing.T) {
	app := new(App)
	provisionApp(t, app)
	assert.Equal(t, DefaultKeyPrefix, app.KeyPrefix)
	assert.EqualValues(t, DefaultIDFloor, app.IDFloor)
	require.NotNil(t, app.conn)
	assert.True(t, app.conn.embedded)
	app.conn.mu.Lock()
	defer app.conn.mu.Unlock()
	assert.Nil(t, app.conn.client, "Provision creates no client")
	assert.Nil(t, app.conn.mini, "Provision starts no embedded server")
}

func TestAppProvisionURLDoesNotDial(t *testing.T) {
	// Nothing listens on port 1: Provision, Start, Stop and Cleanup must all
	// succeed anyway, since only the background check talks to Redis.
	app := &App{Redis: "redis://:pw@127.0.0.1:1/0"}
	core, logs := observer.New(zapcore.InfoLevel)
	require.NoError(t, app.Provision(testContext(t)))
	app.logger = zap.New(core)
	assert.False(t, app.conn.embedded)
	require.NoError(t, app.Start())
	require.NoError(t, app.Stop())
	require.NoError(t, app.Cleanup())
	for _, e := range logs.All() {
		assert.NotContains(t, e.Message, "pw@")
		for _, f := range e.Context {
			assert.NotContains(t, f.String, ":pw@", "password in log field %s", f.Key)
		}
	}
}

func TestAppPlaceholderAndEmptyEnv(t *testing.T) {
	t.Setenv("WCWH_TEST_REDIS", "")
	app := &App{Redis: "{env.WCWH_TEST_REDIS}"}
	provisionApp(t, app)
	assert.True(t, app.conn.embedded, "an empty resolved URL means embedded")
	assert.Equal(t, "{env.WCWH_TEST_REDIS}", app.Redis, "the config keeps the placeholder")

	t.Setenv("WCWH_TEST_REDIS", "redis://127.0.0.1:1/3")
	app2 := &App{Redis: "{env.WCWH_TEST_REDIS}"}
	provisionApp(t, app2)
	assert.False(t, app2.conn.embedded)
	assert.Equal(t, 3, app2.conn.opts.DB)
}

func TestAppAcceptsURLForms(t *testing.T) {
	for _, u := range []string{
		"redis://localhost:6379/0",
		"redis://user:p%40ss@localhost:6379/2",
		"rediss://redis.example:6380",
		"unix:///run/redis/redis.sock?db=1",
	} {
		app := &App{Redis: u}
		provisionApp(t, app)
		assert.False(t, app.conn.embedded, u)
		assert.NotContains(t, app.conn.redacted, "p%40ss", u)
	}
	app := &App{Redis: "rediss://redis.example:6380"}
	provisionApp(t, app)
	assert.NotNil(t, app.conn.opts.TLSConfig, "rediss means TLS")
}

func TestAppProvisionErrors(t *testing.T) {
	cases := map[string]*App{
		"bad scheme":       {Redis: "http://localhost:6379"},
		"bad port":         {Redis: "redis://localhost:notaport"},
		"bad db":           {Redis: "redis://localhost:6379/x"},
		"prefix braces":    {KeyPrefix: "a{b}"},
		"prefix space":     {KeyPrefix: "a b"},
		"negative floor":   {IDFloor: -1},
		"unencoded secret": {Redis: "redis://user:pa/ss@localhost:6379"},
	}
	before := poolReferences()
	for name, app := range cases {
		err := app.Provision(testContext(t))
		require.Error(t, err, name)
		assert.NotContains(t, err.Error(), "pa/ss", name)
		assert.NotContains(t, err.Error(), ":pa", name)
		// The loader calls Cleanup after a failed Provision.
		require.NoError(t, app.Cleanup(), name)
		require.NoError(t, app.Cleanup(), name)
	}
	assert.Equal(t, before, poolReferences(), "failed provisions hold no pool reference")
}

func TestAppLifecycleAnyOrder(t *testing.T) {
	orders := [][]string{
		{"start", "stop", "cleanup"},
		{"cleanup", "stop", "start", "cleanup"},
		{"stop", "stop", "cleanup", "cleanup"},
		{"start", "start", "cleanup", "stop", "start"},
		{"start", "cleanup", "cleanup", "stop"},
		{"stop", "start", "stop", "start", "cleanup"},
	}
	before := poolReferences()
	for _, order := range orders {
		app := &App{Redis: "redis://127.0.0.1:1/0"}
		require.NoError(t, app.Provision(testContext(t)))
		for _, step := range order {
			var err error
			switch step {
			case "start":
				err = app.Start()
			case "stop":
				err = app.Stop()
			case "cleanup":
				err = app.Cleanup()
			}
			require.NoError(t, err, "%v at %s", order, step)
		}
		require.NoError(t, app.Cleanup())
		assert.Equal(t, before, poolReferences(), "%v leaves no reference", order)
	}
	// Stop and Cleanup on an app that was never provisioned.
	var never App
	require.NoError(t, never.Stop())
	require.NoError(t, never.Cleanup())
}

func TestPoolReuseAcrossProvisions(t *testing.T) {
	const url = "redis://127.0.0.1:1/5"
	before := poolReferences()
	a1 := &App{Redis: url}
	require.NoError(t, a1.Provision(testContext(t)))
	c1 := a1.Store().Client()

	// A reload: the new config is provisioned before the old is cleaned up.
	a2 := &App{Redis: url, KeyPrefix: "other"}
	require.NoError(t, a2.Provision(testContext(t)))
	assert.Same(t, c1, a2.Store().Client(), "same URL, same client")
	refs, ok := redisPool.References(urlPoolKey(url))
	require.True(t, ok)
	assert.Equal(t, 2, refs)

	require.NoError(t, a1.Cleanup())
	// The client is still open for a2: a command fails with a dial error,
	// not with redis.ErrClosed.
	err := a2.Store().Client().Ping(context.Background()).Err()
	require.Error(t, err)
	assert.NotErrorIs(t, err, redis.ErrClosed)

	// A different URL gets its own client.
	a3 := &App{Redis: "redis://127.0.0.1:1/6"}
	require.NoError(t, a3.Provision(testContext(t)))
	assert.NotSame(t, c1, a3.Store().Client())
	require.NoError(t, a3.Cleanup())

	require.NoError(t, a2.Cleanup())
	assert.Equal(t, before, poolReferences())
	// Last reference gone: the client is closed, and the store says so
	// instead of panicking.
	assert.ErrorIs(t, a2.Store().Client().Ping(context.Background()).Err(), redis.ErrClosed)
}

func TestEmbeddedKeepsDataAcrossReload(t *testing.T) {
	ctx := context.Background()
	a1 := new(App)
	require.NoError(t, a1.Provision(testContext(t)))
	require.NoError(t, a1.Start())
	require.NoError(t, a1.Store().Client().Set(ctx, "k", "v", 0).Err())

	a2 := new(App)
	require.NoError(t, a2.Provision(testContext(t)))
	require.NoError(t, a2.Start())
	require.NoError(t, a1.Stop())
	require.NoError(t, a1.Cleanup())

	got, err := a2.Store().Client().Get(ctx, "k").Result()
	require.NoError(t, err)
	assert.Equal(t, "v", got)

	client := a2.Store().Client()
	require.NoError(t, a2.Stop())
	require.NoError(t, a2.Cleanup())
	assert.Error(t, client.Get(ctx, "k").Err(), "the embedded Redis is gone with its last config")

	// The next embedded Redis starts empty.
	a3 := new(App)
	provisionApp(t, a3)
	assert.ErrorIs(t, a3.Store().Client().Get(ctx, "k").Err(), redis.Nil)
}

func TestEmbeddedWarning(t *testing.T) {
	app := new(App)
	provisionApp(t, app)
	core, logs := observer.New(zapcore.WarnLevel)
	app.logger = zap.New(core)
	require.NoError(t, app.Start())
	require.Equal(t, 1, logs.FilterMessage(embeddedWarning).Len())
}

func TestStoreAfterCleanupFailsCleanly(t *testing.T) {
	app := new(App)
	provisionApp(t, app)
	require.NoError(t, app.Cleanup())
	site, err := app.Store().Site("shop")
	require.NoError(t, err)
	_, err = site.ListAPIKeys(context.Background())
	assert.Error(t, err)
}

func TestStartChecksDurability(t *testing.T) {
	addr := redistest.Start(t) // runs with appendonly no
	app := &App{Redis: "redis://" + addr + "/0"}
	provisionApp(t, app)
	core, logs := observer.New(zapcore.InfoLevel)
	app.logger = zap.New(core)
	require.NoError(t, app.Start())
	// Stop waits for the background check; it has either finished or been
	// cancelled. Wait for it to finish instead, via the done channel.
	app.mu.Lock()
	done := app.done
	app.mu.Unlock()
	<-done
	require.NoError(t, app.Stop())
	warns := logs.FilterMessage("redis is not configured for durability").All()
	require.NotEmpty(t, warns)
	assert.Contains(t, warns[0].ContextMap()["problem"], "appendonly")
}

func TestStartWithRedisDownLogsError(t *testing.T) {
	app := &App{Redis: "redis://127.0.0.1:1/0"}
	provisionApp(t, app)
	core, logs := observer.New(zapcore.InfoLevel)
	app.logger = zap.New(core)
	require.NoError(t, app.Start(), "Start never fails because Redis is down")
	app.mu.Lock()
	done := app.done
	app.mu.Unlock()
	<-done
	assert.Equal(t, 1, logs.FilterLevelExact(zapcore.ErrorLevel).Len())
}
