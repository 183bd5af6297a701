package redisstore_test

import (
	"context"
	"net"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore/redistest"
)

func TestCheckDurability(t *testing.T) {
	ctx := context.Background()
	addr := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	s := redisstore.New(rdb, redisstore.Options{})

	warn, err := s.CheckDurability(ctx)
	require.NoError(t, err)
	require.Len(t, warn, 1)
	assert.Contains(t, warn[0], "appendonly")

	require.NoError(t, rdb.ConfigSet(ctx, "appendonly", "yes").Err())
	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err())
	warn, err = s.CheckDurability(ctx)
	require.NoError(t, err)
	require.Len(t, warn, 1)
	assert.Contains(t, warn[0], "maxmemory-policy")
	assert.Contains(t, warn[0], "allkeys-lru")

	require.NoError(t, rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err())
	warn, err = s.CheckDurability(ctx)
	require.NoError(t, err)
	assert.Empty(t, warn)

	// A user without CONFIG: a warning, not an error.
	require.NoError(t, rdb.Do(ctx, "ACL", "SETUSER", "app", "on", ">pw", "~*", "+@all", "-config").Err())
	limited := redis.NewClient(&redis.Options{Addr: addr, Username: "app", Password: "pw"})
	t.Cleanup(func() { _ = limited.Close() })
	warn, err = redisstore.New(limited, redisstore.Options{}).CheckDurability(ctx)
	require.NoError(t, err)
	require.Len(t, warn, 1)
	assert.Contains(t, warn[0], "could not check")

	// No Redis at all: an error.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	require.NoError(t, l.Close())
	gone := redis.NewClient(&redis.Options{Addr: dead, MaxRetries: -1})
	t.Cleanup(func() { _ = gone.Close() })
	_, err = redisstore.New(gone, redisstore.Options{}).CheckDurability(ctx)
	assert.Error(t, err)
}
