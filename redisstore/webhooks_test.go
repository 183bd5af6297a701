package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore/redistest"
)

func sampleWebhook(name string) *redisstore.Webhook {
	return &redisstore.Webhook{
		Name:        name,
		Status:      redisstore.StatusActive,
		Topic:       "order.created",
		DeliveryURL: "https://example.com/hook",
		Secret:      "s3cret!@#",
		APIVersion:  redisstore.APIVersionWPV3,
		UserID:      1,
	}
}

func TestWebhookCRUD(t *testing.T) {
	ctx := context.Background()
	_, site, _ := newSite(t, "shop")

	w := sampleWebhook("Order created")
	before := time.Now().UTC().Truncate(time.Microsecond)
	require.NoError(t, site.CreateWebhook(ctx, w))
	assert.Equal(t, int64(100001), w.ID, "first id is IDFloor+1")
	assert.False(t, w.Created.Before(before))
	assert.Equal(t, time.UTC, w.Created.Location())
	assert.Zero(t, w.Created.Nanosecond()%1000, "microsecond precision")
	assert.True(t, w.Modified.IsZero())

	got, err := site.GetWebhook(ctx, w.ID)
	require.NoError(t, err)
	assert.Equal(t, *w, *got)
	assert.Equal(t, "s3cret!@#", got.Secret)

	got.Name = "Renamed"
	got.Status = redisstore.StatusPaused
	got.Modified = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
	require.NoError(t, site.SaveWebhook(ctx, got))
	assert.Equal(t, time.Date(2024, 5, 6, 6, 8, 9, 123456000, time.UTC), got.Modified)
	again, err := site.GetWebhook(ctx, w.ID)
	require.NoError(t, err)
	assert.Equal(t, *got, *again)

	paused, err := site.ListWebhooks(ctx, redisstore.ListQuery{Status: redisstore.StatusPaused})
	require.NoError(t, err)
	require.Len(t, paused.Items, 1)
	active, err := site.ListWebhooks(ctx, redisstore.ListQuery{Status: redisstore.StatusActive})
	require.NoError(t, err)
	assert.Empty(t, active.Items, "save moved the status index")
	assert.Equal(t, 0, active.Total)

	w2 := sampleWebhook("second")
	require.NoError(t, site.CreateWebhook(ctx, w2))
	assert.Equal(t, int64(100002), w2.ID)
	list, err := site.GetWebhooks(ctx, []int64{w2.ID, 5, w.ID})
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, w2.ID, list[0].ID)
	assert.Equal(t, w.ID, list[1].ID)

	d := &redisstore.Delivery{WebhookID: w.ID, Summary: "HTTP 200 OK"}
	require.NoError(t, site.AppendDelivery(ctx, d, 0))

	ok, err := site.DeleteWebhook(ctx, w.ID)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = site.DeleteWebhook(ctx, w.ID)
	require.NoError(t, err)
	assert.False(t, ok)
	_, err = site.GetWebhook(ctx, w.ID)
	assert.ErrorIs(t, err, redisstore.ErrNotFound)
	ds, err := site.ListDeliveries(ctx, w.ID)
	require.NoError(t, err)
	assert.Empty(t, ds, "delete removes the delivery log")
	_, err = site.GetDelivery(ctx, w.ID, d.ID)
	assert.ErrorIs(t, err, redisstore.ErrNotFound)

	got.Name = "ghost"
	assert.ErrorIs(t, site.SaveWebhook(ctx, got), redisstore.ErrNotFound)
	all, err := site.ListWebhooks(ctx, redisstore.ListQuery{Limit: -1})
	require.NoError(t, err)
	require.Len(t, all.Items, 1, "saving a deleted webhook does not resurrect it")
	assert.Equal(t, w2.ID, all.Items[0].ID)
}

func TestWebhookDeleteLeavesNoKeys(t *testing.T) {
	ctx := context.Background()
	_, site, rdb := newSite(t, "shop")
	w := sampleWebhook("x")
	require.NoError(t, site.CreateWebhook(ctx, w))
	require.NoError(t, site.AppendDelivery(ctx, &redisstore.Delivery{WebhookID: w.ID}, 3))
	_, err := site.DeleteWebhook(ctx, w.ID)
	require.NoError(t, err)
	keys, err := rdb.Keys(ctx, "*").Result()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"wcwh:{shop}:wh:seq", "wcwh:{shop}:dl:seq"}, keys)
}

func TestWebhookValidation(t *testing.T) {
	ctx := context.Background()
	_, site, _ := newSite(t, "shop")

	assert.Error(t, site.CreateWebhook(ctx, nil))
	bad := sampleWebhook("x")
	bad.Status = "publish"
	assert.ErrorContains(t, site.CreateWebhook(ctx, bad), "invalid webhook status")
	far := sampleWebhook("x")
	far.Created = time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.ErrorContains(t, site.CreateWebhook(ctx, far), "out of range")

	def := sampleWebhook("x")
	def.Status = ""
	require.NoError(t, site.CreateWebhook(ctx, def))
	assert.Equal(t, redisstore.StatusActive, def.Status)

	def.Created = time.Time{}
	assert.Error(t, site.SaveWebhook(ctx, def), "zero created on save")
	assert.ErrorIs(t, site.SaveWebhook(ctx, &redisstore.Webhook{Status: "active", Created: time.Now()}), redisstore.ErrNotFound)
	_, err := site.GetWebhook(ctx, -1)
	assert.ErrorIs(t, err, redisstore.ErrNotFound)
	ok, err := site.DeleteWebhook(ctx, 0)
	require.NoError(t, err)
	assert.False(t, ok)
	got, err := site.GetWebhooks(ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestIDFloor(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)

	s := redisstore.New(rdb, redisstore.Options{IDFloor: 5000, Prefix: "p"})
	site, err := s.Site("a")
	require.NoError(t, err)
	// A counter left below the floor (e.g. the floor was raised later) jumps.
	require.NoError(t, rdb.Set(ctx, "p:{a}:wh:seq", 42, 0).Err())
	w := sampleWebhook("x")
	require.NoError(t, site.CreateWebhook(ctx, w))
	assert.Equal(t, int64(5001), w.ID)
	require.NoError(t, site.CreateWebhook(ctx, w))
	assert.Equal(t, int64(5002), w.ID)
	// A counter above the floor just grows.
	require.NoError(t, rdb.Set(ctx, "p:{a}:wh:seq", 9000, 0).Err())
	require.NoError(t, site.CreateWebhook(ctx, w))
	assert.Equal(t, int64(9001), w.ID)

	other, err := redisstore.New(rdb, redisstore.Options{Prefix: "p"}).Site("b")
	require.NoError(t, err)
	require.NoError(t, other.CreateWebhook(ctx, w))
	assert.Equal(t, int64(100001), w.ID, "default floor, and counters are per site")
}

func TestConcurrentCreatesGetUniqueIDs(t *testing.T) {
	ctx := context.Background()
	_, site, _ := newSite(t, "shop")
	const workers, each = 8, 25
	ids := make(chan int64, workers*each)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				w := sampleWebhook(fmt.Sprintf("w%d-%d", g, i))
				if err := site.CreateWebhook(ctx, w); err != nil {
					t.Error(err)
					return
				}
				ids <- w.ID
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[int64]bool{}
	for id := range ids {
		assert.False(t, seen[id], "duplicate id %d", id)
		seen[id] = true
	}
	assert.Len(t, seen, workers*each)
	res, err := site.ListWebhooks(ctx, redisstore.ListQuery{Limit: -1, OrderBy: redisstore.OrderByID})
	require.NoError(t, err)
	assert.Equal(t, workers*each, res.Total)
	assert.Equal(t, int64(100001), res.Items[0].ID)
	assert.Equal(t, int64(100000+workers*each), res.Items[len(res.Items)-1].ID)
}

func TestSiteIsolation(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	s := redisstore.New(rdb, redisstore.Options{})
	a, err := s.Site("shop-a.example")
	require.NoError(t, err)
	b, err := s.Site("shop-b.example")
	require.NoError(t, err)

	wa := sampleWebhook("A hook")
	require.NoError(t, a.CreateWebhook(ctx, wa))
	wb := sampleWebhook("B hook")
	require.NoError(t, b.CreateWebhook(ctx, wb))
	assert.Equal(t, wa.ID, wb.ID, "each site counts its own ids")

	got, err := b.GetWebhook(ctx, wa.ID)
	require.NoError(t, err)
	assert.Equal(t, "B hook", got.Name)

	require.NoError(t, a.AppendDelivery(ctx, &redisstore.Delivery{WebhookID: wa.ID, Summary: "a"}, 0))
	ds, err := b.ListDeliveries(ctx, wb.ID)
	require.NoError(t, err)
	assert.Empty(t, ds)

	ck, _, _, err := a.AddAPIKey(ctx, 1, "a key", redisstore.PermRead)
	require.NoError(t, err)
	_, err = b.LookupAPIKey(ctx, ck)
	assert.ErrorIs(t, err, redisstore.ErrNotFound)
	keys, err := b.ListAPIKeys(ctx)
	require.NoError(t, err)
	assert.Empty(t, keys)

	fresh, err := a.UseNonce(ctx, 1, 100, "n", time.Minute)
	require.NoError(t, err)
	assert.True(t, fresh)
	fresh, err = b.UseNonce(ctx, 1, 100, "n", time.Minute)
	require.NoError(t, err)
	assert.True(t, fresh, "nonces are per site")

	ok, err := b.DeleteWebhook(ctx, wb.ID)
	require.NoError(t, err)
	assert.True(t, ok)
	la, err := a.ListWebhooks(ctx, redisstore.ListQuery{})
	require.NoError(t, err)
	require.Len(t, la.Items, 1)
	assert.Equal(t, "A hook", la.Items[0].Name)
	lb, err := b.ListWebhooks(ctx, redisstore.ListQuery{})
	require.NoError(t, err)
	assert.Empty(t, lb.Items)

	// Every key of a site carries its hash tag.
	keysA, err := rdb.Keys(ctx, "*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keysA)
	for _, k := range keysA {
		ok := strings.HasPrefix(k, "wcwh:{shop-a.example}:") || strings.HasPrefix(k, "wcwh:{shop-b.example}:")
		assert.True(t, ok, "key %q lacks a site hash tag", k)
	}
}

func TestSiteNames(t *testing.T) {
	s := redisstore.New(nil, redisstore.Options{})
	for _, name := range []string{"", "a{b", "a}b", "tab\there", "nul\x00", "\xff\xfe", strings.Repeat("x", 201)} {
		_, err := s.Site(name)
		assert.Error(t, err, "%q", name)
	}
	for _, name := range []string{"shop", "shop.example.com:8443", "ünïcode shop", strings.Repeat("x", 200)} {
		site, err := s.Site(name)
		require.NoError(t, err, "%q", name)
		assert.Equal(t, "wcwh:{"+name+"}:", site.KeyPrefix())
	}
	_, err := redisstore.New(nil, redisstore.Options{Prefix: "a{b"}).Site("x")
	assert.Error(t, err)
}

// TestSaveWebhookEditKeepsDispatcherChanges: an edit saved after the
// dispatcher raised failure_count and disabled the webhook keeps both where
// the edit left them as read, and applies them where the edit changed them.
func TestSaveWebhookEditKeepsDispatcherChanges(t *testing.T) {
	ctx := context.Background()
	_, site, _ := newSite(t, "shop")
	w := sampleWebhook("Orders")
	require.NoError(t, site.CreateWebhook(ctx, w))

	read := func() (before, edit *redisstore.Webhook) {
		got, err := site.GetWebhook(ctx, w.ID)
		require.NoError(t, err)
		cp := *got
		return got, &cp
	}
	dispatcherFails := func(n int, status string) { // what the finish script leaves
		got, err := site.GetWebhook(ctx, w.ID)
		require.NoError(t, err)
		got.FailureCount, got.Status = n, status
		require.NoError(t, site.SaveWebhook(ctx, got))
	}

	before, edit := read()
	dispatcherFails(5, redisstore.StatusDisabled)
	edit.Name = "Renamed"
	require.NoError(t, site.SaveWebhookEdit(ctx, before, edit))
	got, err := site.GetWebhook(ctx, w.ID)
	require.NoError(t, err)
	assert.Equal(t, "Renamed", got.Name)
	assert.Equal(t, 5, got.FailureCount, "the failures counted meanwhile stay")
	assert.Equal(t, redisstore.StatusDisabled, got.Status, "the auto-disable stays")
	disabled, err := site.ListWebhooks(ctx, redisstore.ListQuery{Status: redisstore.StatusDisabled})
	require.NoError(t, err)
	assert.Len(t, disabled.Items, 1, "and the status index agrees")

	before, edit = read() // a re-activation resets both
	edit.Status, edit.FailureCount = redisstore.StatusActive, 0
	require.NoError(t, site.SaveWebhookEdit(ctx, before, edit))
	got, err = site.GetWebhook(ctx, w.ID)
	require.NoError(t, err)
	assert.Equal(t, redisstore.StatusActive, got.Status)
	assert.Zero(t, got.FailureCount)

	before, edit = read() // an edit that changes the status wins
	dispatcherFails(5, redisstore.StatusDisabled)
	edit.Status = redisstore.StatusPaused
	require.NoError(t, site.SaveWebhookEdit(ctx, before, edit))
	got, err = site.GetWebhook(ctx, w.ID)
	require.NoError(t, err)
	assert.Equal(t, redisstore.StatusPaused, got.Status)
	assert.Equal(t, 5, got.FailureCount)
}
