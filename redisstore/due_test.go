package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

func TestNextDue(t *testing.T) {
	ctx := context.Background()
	s, site, _, jobs := parkSetup(t, 2)
	idle, err := s.Site("idle")
	require.NoError(t, err)
	got, err := s.NextDue(ctx, []*redisstore.Site{site, idle})
	require.NoError(t, err)
	require.Equal(t, []time.Duration{-1, -1}, got, "nothing delayed")

	require.NoError(t, site.DeferJob(ctx, jobs[0], time.Hour))
	got, err = s.NextDue(ctx, []*redisstore.Site{site, idle})
	require.NoError(t, err)
	require.Greater(t, got[0], 59*time.Minute)
	require.LessOrEqual(t, got[0], time.Hour)
	require.Equal(t, time.Duration(-1), got[1])

	require.NoError(t, site.DeferJob(ctx, jobs[1], 0))
	got, err = s.NextDue(ctx, []*redisstore.Site{site})
	require.NoError(t, err)
	require.Equal(t, []time.Duration{0}, got, "due now")
}
