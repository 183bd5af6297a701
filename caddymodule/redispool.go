package caddymodule

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"

	"github.com/alicebob/miniredis/v2"
	"github.com/caddyserver/caddy/v2"
	"github.com/redis/go-redis/v9"
)

// redisPool holds one Redis connection per effective Redis URL (and one for
// the embedded server), shared by every config that names it, so a reload
// keeps its connections (and the embedded server keeps its data).
var redisPool = caddy.NewUsagePool()

// embeddedPoolKey is the pool key of the embedded in-memory Redis.
const embeddedPoolKey = "embedded"

// poolKeySalt makes pool keys of URLs one-way even for weak passwords; it is
// random per process, so keys are stable for the process's lifetime only.
var poolKeySalt = func() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return b
}()

// urlPoolKey is the pool key of a Redis URL: a salted hash, so the password
// never sits in the pool's keys.
func urlPoolKey(raw string) string {
	h := sha256.New()
	h.Write(poolKeySalt)
	h.Write([]byte(raw))
	return "url:" + hex.EncodeToString(h.Sum(nil))
}

// redisConn is the pooled value: the settings of one Redis and, once first
// used, its client. Nothing is dialled and no goroutine starts until Client
// is called (and, for the embedded server, until the first command).
type redisConn struct {
	opts     *redis.Options // nil for the embedded server
	redacted string         // URL with the password masked, for logs
	embedded bool
	dispatch *dispatchRunner // the webhook dispatcher on this Redis

	mu     sync.Mutex
	client *redis.Client
	mini   *miniredis.Miniredis
	closed bool
}

// errEmbeddedClosed is what commands get once the embedded server is gone.
var errEmbeddedClosed = errors.New("embedded redis is closed")

// newURLConn validates a Redis URL and returns an unconnected redisConn.
func newURLConn(raw string) (*redisConn, error) {
	opts, err := parseRedisURL(raw)
	if err != nil {
		return nil, err
	}
	return &redisConn{opts: opts, redacted: redactURL(raw), dispatch: newDispatchRunner()}, nil
}

// newEmbeddedConn returns an unstarted embedded in-memory Redis.
func newEmbeddedConn() *redisConn {
	return &redisConn{embedded: true, redacted: "embedded", dispatch: newDispatchRunner()}
}

// closedConn returns a redisConn whose client fails every command; it stands
// in when no pool reference is held, so the request path never panics.
func closedConn() *redisConn {
	r := newDispatchRunner()
	r.closed = true
	return &redisConn{embedded: true, redacted: "closed", closed: true, dispatch: r}
}

// Client returns the connection's client, creating it on first call. After
// Destruct it returns a closed client whose commands fail with an error.
func (c *redisConn) Client() *redis.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != nil {
		return c.client
	}
	opts := c.opts
	if c.embedded {
		// Protocol 2: miniredis speaks RESP2 reliably; the client sends no
		// HELLO handshake it might refuse.
		opts = &redis.Options{Addr: "embedded", Dialer: c.dialEmbedded, Protocol: 2, DisableIdentity: true}
	}
	c.client = redis.NewClient(opts)
	if c.closed {
		_ = c.client.Close()
	}
	return c.client
}

// dialEmbedded connects to the embedded server over an in-memory pipe,
// creating the server on first use. No TCP port is ever opened.
func (c *redisConn) dialEmbedded(_ context.Context, _, _ string) (net.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errEmbeddedClosed
	}
	if c.mini == nil {
		m := miniredis.NewMiniRedis()
		m.ClockTTL(true) // TTLs run on the wall clock, as in a real Redis
		c.mini = m
	}
	conn, err := c.mini.Dial()
	if err != nil {
		return nil, fmt.Errorf("dialling embedded redis: %w", err)
	}
	return conn, nil
}

// Destruct stops the dispatcher, then closes the client and the embedded
// server; it implements caddy.Destructor and is safe to call more than once.
func (c *redisConn) Destruct() error {
	// Outside c.mu: the dispatcher's last attempts still use the client.
	_ = c.dispatch.close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var err error
	if c.client != nil {
		err = c.client.Close()
	}
	if c.mini != nil {
		c.mini.Close()
	}
	if err != nil && !errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("closing redis client: %w", err)
	}
	return nil
}

// parseRedisURL validates raw with go-redis's ParseURL. Errors never repeat
// the URL, which may carry a password.
func parseRedisURL(raw string) (*redis.Options, error) {
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid redis URL %s: %s", redactURL(raw), scrub(err, raw))
	}
	if opts.Network != "unix" && opts.Addr == "" {
		return nil, fmt.Errorf("invalid redis URL %s: no host", redactURL(raw))
	}
	return opts, nil
}

// redactURL returns raw with its password masked, or a placeholder when raw
// does not parse as a URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// scrub returns a safe message for a ParseURL error. url.Parse errors quote
// the input (and parts of it, such as a "port" that is really part of an
// unencoded password), so they are replaced by a fixed hint; go-redis's own
// errors name only the scheme, path or query, but any credentials are cut
// out of them all the same.
func scrub(err error, raw string) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return "it does not parse as a URL (is the password URL-encoded?)"
	}
	msg := strings.ReplaceAll(err.Error(), raw, "(redacted)")
	if info := userinfo(raw); info != "" {
		msg = strings.ReplaceAll(msg, info, "(redacted)")
	}
	return msg
}

// userinfo returns the text between "://" and the last "@" before the path,
// which holds the credentials of a URL that parsed.
func userinfo(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	i := strings.LastIndex(rest, "@")
	if i <= 0 {
		return ""
	}
	return rest[:i]
}

// Interface guards
var _ caddy.Destructor = (*redisConn)(nil)
