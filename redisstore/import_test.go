package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

func importSample() []redisstore.Webhook {
	a := *sampleWebhook("Order created")
	a.ID, a.Created = 12, time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	a.FailureCount, a.PendingDelivery = 2, true
	b := *sampleWebhook("Paused one")
	b.ID, b.Status, b.APIVersion = 7, redisstore.StatusPaused, redisstore.APIVersionLegacyV3
	b.Created = time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)
	b.Modified = time.Date(2022, 7, 1, 0, 0, 0, 0, time.UTC)
	return []redisstore.Webhook{a, b}
}

func actions(rep redisstore.ImportReport) []string {
	var out []string
	for _, r := range rep.Results {
		out = append(out, r.Action)
	}
	return out
}

func TestImportWebhooks(t *testing.T) {
	ctx := context.Background()
	_, site, rdb := newSite(t, "shop")
	in := importSample()

	dry, err := site.ImportWebhooks(ctx, in, true)
	require.NoError(t, err)
	assert.Equal(t, []string{"created", "created"}, actions(dry))
	n, err := rdb.DBSize(ctx).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "a dry run writes nothing")

	rep, err := site.ImportWebhooks(ctx, in, false)
	require.NoError(t, err)
	assert.Equal(t, []string{"created", "created"}, actions(rep))
	assert.Equal(t, int64(12), rep.Counter)
	for _, w := range in {
		got, err := site.GetWebhook(ctx, w.ID)
		require.NoError(t, err)
		assert.Equal(t, w, *got, "webhook %d kept every field", w.ID)
	}
	paused, err := site.ListWebhooks(ctx, redisstore.ListQuery{Status: redisstore.StatusPaused})
	require.NoError(t, err)
	require.Len(t, paused.Items, 1)
	assert.Equal(t, int64(7), paused.Items[0].ID)
	byName, err := site.ListWebhooks(ctx, redisstore.ListQuery{OrderBy: redisstore.OrderByName, Limit: -1})
	require.NoError(t, err)
	require.Equal(t, 2, byName.Total)
	assert.Equal(t, int64(12), byName.Items[0].ID, "name index: Order < Paused")

	before, err := rdb.Keys(ctx, "*").Result()
	require.NoError(t, err)
	again, err := site.ImportWebhooks(ctx, in, false)
	require.NoError(t, err)
	assert.Equal(t, []string{"unchanged", "unchanged"}, actions(again), "idempotent")
	after, err := rdb.Keys(ctx, "*").Result()
	require.NoError(t, err)
	assert.ElementsMatch(t, before, after)

	changed := importSample()
	changed[1].Status, changed[1].Name = redisstore.StatusActive, "Zed"
	rep, err = site.ImportWebhooks(ctx, changed, false)
	require.NoError(t, err)
	assert.Equal(t, []string{"unchanged", "updated"}, actions(rep))
	paused, err = site.ListWebhooks(ctx, redisstore.ListQuery{Status: redisstore.StatusPaused})
	require.NoError(t, err)
	assert.Zero(t, paused.Total, "the update moved the status index")
	active, err := site.ListWebhooks(ctx, redisstore.ListQuery{Status: redisstore.StatusActive, OrderBy: redisstore.OrderByName, Limit: -1})
	require.NoError(t, err)
	require.Equal(t, 2, active.Total)
	assert.Equal(t, "Zed", active.Items[1].Name, "the old name member is gone")
}

func TestImportCounter(t *testing.T) {
	ctx := context.Background()
	_, _, rdb := newSite(t, "shop")
	// No id floor: the counter itself must move above the imported ids.
	site, err := redisstore.New(rdb, redisstore.Options{IDFloor: -1}).Site("nofloor")
	require.NoError(t, err)
	in := importSample()
	_, err = site.ImportWebhooks(ctx, in, false)
	require.NoError(t, err)
	w := sampleWebhook("new")
	require.NoError(t, site.CreateWebhook(ctx, w))
	assert.Equal(t, int64(13), w.ID, "the next id is above the highest imported one")

	// A counter already higher is never lowered.
	rep, err := site.ImportWebhooks(ctx, in, false)
	require.NoError(t, err)
	assert.Equal(t, int64(13), rep.Counter)
}

func TestImportAllOrNothing(t *testing.T) {
	ctx := context.Background()
	_, site, rdb := newSite(t, "shop")
	cases := map[string]func([]redisstore.Webhook){
		"bad status": func(in []redisstore.Webhook) { in[1].Status = "pending" },
		"zero id":    func(in []redisstore.Webhook) { in[1].ID = 0 },
		"repeat id":  func(in []redisstore.Webhook) { in[1].ID = in[0].ID },
		"no created": func(in []redisstore.Webhook) { in[1].Created = time.Time{} },
		"bad date":   func(in []redisstore.Webhook) { in[1].Modified = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
	for name, spoil := range cases {
		in := importSample()
		spoil(in)
		_, err := site.ImportWebhooks(ctx, in, false)
		require.Error(t, err, name)
		assert.NotContains(t, err.Error(), in[0].Secret, "%s: no secret in errors", name)
		n, err := rdb.DBSize(ctx).Result()
		require.NoError(t, err)
		assert.Zero(t, n, "%s: nothing imported", name)
	}
}
