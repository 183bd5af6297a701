// Package caddymodule is the Caddy glue of caddy-wc-webhooks: the
// `wc_webhooks` app (Redis connection, global option), the
// `http.handlers.wc_webhooks` handler (Caddyfile directive `wc_webhooks`)
// and the `caddy wc-webhooks` CLI command.
package caddymodule

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

func init() {
	caddy.RegisterModule(new(App))
	caddy.RegisterModule(new(Handler))
}

// Defaults of the wc_webhooks app.
const (
	// DefaultKeyPrefix is the default prefix of every Redis key.
	DefaultKeyPrefix = redisstore.DefaultPrefix
	// DefaultIDFloor is the default floor of webhook ids: new ids start
	// above it, so they never clash with webhooks still stored in WordPress.
	DefaultIDFloor = redisstore.DefaultIDFloor
)

// embeddedWarning is logged when no Redis is configured.
const embeddedWarning = "no redis configured: using an embedded in-memory Redis; webhooks are lost when Caddy stops"

// durabilityTimeout bounds the durability check run at start.
const durabilityTimeout = 5 * time.Second

// App is the `wc_webhooks` app. It owns the Redis connection shared by
// every wc_webhooks handler of the config; handlers find it with
// ctx.App("wc_webhooks"), so it works even when it is not configured (it
// then runs with all defaults: the embedded Redis).
//
// The Redis client is kept in a process-wide pool keyed by the Redis URL,
// so a config reload that keeps the URL keeps the connections (and the
// embedded Redis keeps its data). Provision only validates settings; the
// client is created in Start or on first use, never dialled in Provision,
// so `caddy validate` and `caddy adapt --validate` need no Redis.
type App struct {
	// Redis is the URL of the Redis server:
	// `redis://[user:password@]host:port/db`, `rediss://...` for TLS, or
	// `unix:///path/to/redis.sock?db=N`. Placeholders such as
	// `{env.WC_WEBHOOKS_REDIS}` are resolved when the config loads, which
	// keeps the password out of the config; if the result is empty it counts
	// as unset. Default: unset, which runs an embedded in-memory Redis for
	// trying the module out: its data is lost when Caddy stops, and a
	// warning says so at start.
	Redis string `json:"redis,omitempty"`

	// KeyPrefix is the first segment of every Redis key, so several
	// deployments can share one Redis. It must not contain whitespace or
	// braces. Default: "wcwh".
	KeyPrefix string `json:"key_prefix,omitempty"`

	// IDFloor is the floor of webhook ids: each site's new webhooks get ids
	// above it, so they never clash with webhooks still stored in WordPress.
	// Default: 100000 (0 means the default).
	IDFloor int64 `json:"id_floor,omitempty"`

	// Dispatch configures webhook delivery (see DispatchConfig). Default:
	// delivery enabled with every default.
	Dispatch *DispatchConfig `json:"dispatch,omitempty"`

	dispatch DispatchConfig // Dispatch with defaults applied
	logger   *zap.Logger
	mu       sync.Mutex
	poolKey  string     // pool key of the held reference
	conn     *redisConn // non-nil while a pool reference is held
	store    atomic.Pointer[redisstore.Store]
	started  bool
	cleaned  bool               // Cleanup ran: Start must not acquire again
	cancel   context.CancelFunc // stops the background start check
	done     chan struct{}      // closed when the start check returns
	// events publishes the events of answered writes off the request
	// path, for every handler of this config; Cleanup waits for it before
	// the Redis connection is released.
	events backgroundWork
}

// CaddyModule returns the Caddy module information.
func (*App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "wc_webhooks",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision resolves placeholders, applies defaults, validates the Redis
// URL and the dispatch settings, registers the delivery metrics in the
// config's registry and takes a reference on the pooled connection. It
// dials nothing and starts no goroutine.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	if a.Dispatch != nil {
		a.dispatch = *a.Dispatch
		a.dispatch.RetryLadder = append([]caddy.Duration(nil), a.Dispatch.RetryLadder...)
		a.dispatch.AllowNetworks = append([]string(nil), a.Dispatch.AllowNetworks...)
	}
	if err := a.dispatch.provision(); err != nil {
		return fmt.Errorf("wc_webhooks: %w", err)
	}
	if err := metrics.register(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("wc_webhooks: %w", err)
	}
	if a.KeyPrefix == "" {
		a.KeyPrefix = DefaultKeyPrefix
	}
	if strings.ContainsAny(a.KeyPrefix, "{} \t\r\n") {
		return fmt.Errorf("wc_webhooks: key_prefix %q must not contain braces or whitespace", a.KeyPrefix)
	}
	if a.IDFloor < 0 {
		return fmt.Errorf("wc_webhooks: id_floor must not be negative, got %d", a.IDFloor)
	}
	if a.IDFloor == 0 {
		a.IDFloor = DefaultIDFloor
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.acquireLocked()
}

// acquireLocked takes a pool reference for the configured Redis unless one
// is held. The caller holds a.mu.
func (a *App) acquireLocked() error {
	if a.conn != nil {
		return nil
	}
	raw := strings.TrimSpace(caddy.NewReplacer().ReplaceAll(a.Redis, ""))
	key := embeddedPoolKey
	build := func() (caddy.Destructor, error) { return newEmbeddedConn(), nil }
	if raw != "" {
		// Validate before touching the pool, so a bad URL holds nothing.
		if _, err := parseRedisURL(raw); err != nil {
			return fmt.Errorf("wc_webhooks: %w", err)
		}
		key = urlPoolKey(raw)
		build = func() (caddy.Destructor, error) { return newURLConn(raw) }
	}
	val, _, err := redisPool.LoadOrNew(key, build)
	if err != nil {
		return fmt.Errorf("wc_webhooks: preparing redis connection: %w", err)
	}
	a.poolKey, a.conn = key, val.(*redisConn)
	return nil
}

// releaseLocked drops the pool reference, if one is held. The caller holds a.mu.
func (a *App) releaseLocked() error {
	if a.conn == nil {
		return nil
	}
	key := a.poolKey
	a.conn, a.poolKey = nil, ""
	if _, err := redisPool.Delete(key); err != nil {
		return fmt.Errorf("wc_webhooks: releasing redis connection: %w", err)
	}
	return nil
}

// Start creates the Redis client (acquiring it if Provision did not),
// starts the Redis's webhook dispatcher unless dispatch is disabled (or
// keeps the one a previous config started, replacing it when the dispatch
// settings changed; with dispatch disabled a running one is stopped), and
// checks, in the background, that Redis is reachable and configured for
// durability (appendonly yes, maxmemory-policy noeviction), logging what it
// finds. It never fails because Redis is down. It is idempotent, and does
// nothing after Cleanup.
func (a *App) Start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started || a.cleaned {
		return nil
	}
	if a.logger == nil {
		a.logger = zap.NewNop()
	}
	if err := a.acquireLocked(); err != nil {
		return err
	}
	a.started = true
	conn := a.conn
	conn.Client()
	store := a.storeLocked()
	if err := conn.dispatch.configure(&a.dispatch, store, a.KeyPrefix, a.IDFloor, a.logger.Named("dispatch")); err != nil {
		return fmt.Errorf("wc_webhooks: %w", err)
	}
	if conn.embedded {
		a.logger.Warn(embeddedWarning)
		return nil
	}
	a.logger.Info("using redis", zap.String("redis", conn.redacted))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	a.cancel, a.done = cancel, done
	go func() {
		defer close(done)
		a.checkDurability(ctx, store, conn.redacted)
	}()
	return nil
}

// checkDurability logs the outcome of the store's durability check.
func (a *App) checkDurability(ctx context.Context, store *redisstore.Store, redacted string) {
	ctx, cancel := context.WithTimeout(ctx, durabilityTimeout)
	defer cancel()
	warnings, err := store.CheckDurability(ctx)
	if err != nil {
		if ctx.Err() != nil && ctx.Err() != context.DeadlineExceeded {
			return // stopped
		}
		a.logger.Error("redis is not reachable; webhooks API requests fail until it is",
			zap.String("redis", redacted), zap.Error(err))
		return
	}
	for _, w := range warnings {
		a.logger.Warn("redis is not configured for durability", zap.String("redis", redacted), zap.String("problem", w))
	}
}

// Stop stops the background start check. It is idempotent, and safe
// before Start and after Cleanup.
func (a *App) Stop() error {
	a.mu.Lock()
	cancel, done := a.cancel, a.done
	a.cancel, a.done = nil, nil
	a.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}

// Cleanup stops background work and releases the pooled Redis connection,
// which closes when no config uses it any more. It is idempotent, and safe
// after a failed Provision and before or after Stop.
func (a *App) Cleanup() error {
	if err := a.Stop(); err != nil {
		return err
	}
	a.events.wait() // events of writes already answered
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cleaned = true
	return a.releaseLocked()
}

// Store returns the webhook store on this app's Redis, with the app's key
// prefix and id floor. It never returns nil and never dials: commands on it
// connect on demand. Once the app is cleaned up and its connection closed,
// every call on the store fails with an error instead of panicking.
func (a *App) Store() *redisstore.Store {
	if s := a.store.Load(); s != nil {
		return s
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.storeLocked()
}

// storeLocked builds the store once. The caller holds a.mu.
func (a *App) storeLocked() *redisstore.Store {
	if s := a.store.Load(); s != nil {
		return s
	}
	conn := a.conn
	if conn == nil {
		conn = closedConn()
	}
	prefix, floor := a.KeyPrefix, a.IDFloor
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	if floor <= 0 {
		floor = DefaultIDFloor
	}
	s := redisstore.New(conn.Client(), redisstore.Options{Prefix: prefix, IDFloor: floor})
	a.store.Store(s)
	return s
}

// ensureSite registers a site for delivery with the dispatcher of the
// app's Redis (see dispatchRunner.ensureSite). It fails when the app holds
// no connection (cleaned up).
func (a *App) ensureSite(ctx context.Context, site *redisstore.Site, home string, override bool) error {
	a.mu.Lock()
	conn := a.conn
	a.mu.Unlock()
	if conn == nil {
		return fmt.Errorf("wc_webhooks: registering site %s: the app is not running", site.Name())
	}
	return conn.dispatch.ensureSite(ctx, site, home, override)
}

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
