package redisstore_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// commandCalls runs fn and returns how many times each Redis command ran
// (scripts' inner calls included), from INFO commandstats.
func commandCalls(t *testing.T, rdb *redis.Client, fn func()) map[string]int {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, rdb.ConfigResetStat(ctx).Err())
	fn()
	info, err := rdb.Info(ctx, "commandstats").Result()
	require.NoError(t, err)
	out := map[string]int{}
	for _, m := range regexp.MustCompile(`cmdstat_([a-z|]+):calls=(\d+)`).FindAllStringSubmatch(info, -1) {
		n, _ := strconv.Atoi(m[2])
		out[m[1]] = n
	}
	return out
}

// TestListCostIsPageSized checks that the common queries touch only the page
// (by counting Redis commands, not by timing): a deep page of 10 out of 600
// webhooks reads 10 records and walks no range.
func TestListCostIsPageSized(t *testing.T) {
	ctx := context.Background()
	_, site, rdb := newSite(t, "shop")
	for i := range 600 {
		w := sampleWebhook(fmt.Sprintf("hook %d", i%37))
		w.Status = []string{redisstore.StatusActive, redisstore.StatusPaused}[i%2]
		w.Created = refBase.Add(time.Duration(i%50) * time.Minute)
		require.NoError(t, site.CreateWebhook(ctx, w))
	}
	after := refBase.Add(10 * time.Minute)
	fast := []redisstore.ListQuery{
		{Offset: 250, Limit: 10, Desc: true},
		{Offset: 250, Limit: 10, OrderBy: redisstore.OrderByName},
		{Offset: 100, Limit: 10, OrderBy: redisstore.OrderByID, Status: redisstore.StatusPaused, Desc: true},
		{Offset: 100, Limit: 10, OrderBy: redisstore.OrderByModified},
		{Offset: 100, Limit: 10, CreatedAfter: &after, Status: redisstore.StatusActive},
		{Offset: 100, Limit: 10, CreatedAfter: &after, Desc: true},
	}
	for _, q := range fast {
		var res redisstore.ListResult
		calls := commandCalls(t, rdb, func() {
			var err error
			res, err = site.ListWebhooks(ctx, q)
			require.NoError(t, err)
		})
		require.Len(t, res.Items, 10)
		assert.Equal(t, 10, calls["hget"], "records read for %+v", q)
		assert.Equal(t, 1, calls["zrange"]+calls["zrevrange"], "%+v", q)
		assert.Zero(t, calls["zrangebyscore"]+calls["zscore"]+calls["zrank"], "%+v", q)
	}
	// A search scans, and the count shows it: the check above can fail.
	calls := commandCalls(t, rdb, func() {
		_, err := site.ListWebhooks(ctx, redisstore.ListQuery{Search: "hook 1"})
		require.NoError(t, err)
	})
	assert.Greater(t, calls["hget"], 600)
}
