package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore/redistest"
)

// newSite starts a redis-server and returns a store on it and its site name.
func newSite(t testing.TB, name string) (*redisstore.Store, *redisstore.Site, *redis.Client) {
	t.Helper()
	rdb := redistest.Client(t)
	s := redisstore.New(rdb, redisstore.Options{})
	site, err := s.Site(name)
	require.NoError(t, err)
	return s, site, rdb
}
