package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReconcileState(t *testing.T) {
	ctx := context.Background()
	_, site, rdb := newSite(t, "shop")
	rc := site.Reconcile(time.Minute)

	_, _, ok, err := rc.Watermark(ctx)
	require.NoError(t, err)
	assert.False(t, ok, "no watermark before the first pass")
	at := time.Date(2026, 11, 23, 15, 4, 5, 600, time.UTC)
	require.NoError(t, rc.SetWatermark(ctx, at))
	require.NoError(t, rc.SetWatermark(ctx, at.Add(time.Minute)))
	got, floor, ok, err := rc.Watermark(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, at.Truncate(time.Second).Add(time.Minute), got)
	assert.Equal(t, at.Truncate(time.Second), floor, "the floor is the first watermark")
	assert.Equal(t, "1795446305", rdb.Get(ctx, "wcwh:{shop}:rc:wm").Val())

	// The trash: unknown until snapshotted, even when empty.
	_, ok, err = rc.Trashed(ctx, "order")
	require.NoError(t, err)
	assert.False(t, ok)
	require.NoError(t, rc.ResetTrashed(ctx, "order", nil))
	ids, ok, err := rc.Trashed(ctx, "order")
	require.NoError(t, err)
	assert.True(t, ok, "an empty trash is a snapshot too")
	assert.Empty(t, ids)
	big := make([]int64, 2500)
	for i := range big {
		big[i] = int64(i + 1)
	}
	require.NoError(t, rc.ResetTrashed(ctx, "order", big))
	ids, _, _ = rc.Trashed(ctx, "order")
	assert.Len(t, ids, 2500)
	require.NoError(t, rc.ResetTrashed(ctx, "order", []int64{5, 7}))
	require.NoError(t, rc.UpdateTrashed(ctx, "order", []int64{9}, []int64{5}))
	ids, _, _ = rc.Trashed(ctx, "order")
	assert.ElementsMatch(t, []int64{7, 9}, ids)
	_, ok, _ = rc.Trashed(ctx, "product")
	assert.False(t, ok, "resources are separate")
	require.NoError(t, rc.DropTrashed(ctx, "order"))
	_, ok, _ = rc.Trashed(ctx, "order")
	assert.False(t, ok)
	assert.Zero(t, rdb.Exists(ctx, "wcwh:{shop}:rc:trash:order").Val())

	// Markers.
	ok, err = rc.Exists(ctx, "evid:order.created:5", "evdd:order.updated:5:x")
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = rc.Claim(ctx, "evid:order.created:5")
	require.NoError(t, err)
	assert.True(t, ok)
	ok, _ = rc.Claim(ctx, "evid:order.created:5")
	assert.False(t, ok, "a claim succeeds once")
	ttl := rdb.TTL(ctx, "wcwh:{shop}:evid:order.created:5").Val()
	assert.True(t, ttl > 50*time.Second && ttl <= time.Minute, "marker TTL %v", ttl)
	ok, _ = rc.Exists(ctx, "nothing", "evid:order.created:5")
	assert.True(t, ok)
	require.NoError(t, rc.Mark(ctx, "evid:order.deleted:5"))
	ok, _ = rc.Take(ctx, "evid:order.deleted:5")
	assert.True(t, ok)
	ok, _ = rc.Take(ctx, "evid:order.deleted:5")
	assert.False(t, ok, "a marker is taken once")

	// The lock: one holder; only the holder's token releases it.
	tok, ok, err := rc.Lock(ctx, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = site.Reconcile(0).Lock(ctx, time.Minute)
	require.NoError(t, err)
	assert.False(t, ok, "a second holder is refused")
	require.NoError(t, rc.Unlock(ctx, "not-the-token"))
	assert.Equal(t, int64(1), rdb.Exists(ctx, "wcwh:{shop}:rc:lock").Val())
	require.NoError(t, rc.Unlock(ctx, tok))
	_, ok, _ = rc.Lock(ctx, time.Minute)
	assert.True(t, ok, "free again after unlock")
}
