package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

func TestDeliveryLog(t *testing.T) {
	ctx := context.Background()
	_, site, _ := newSite(t, "shop")
	w1, w2 := sampleWebhook("one"), sampleWebhook("two")
	require.NoError(t, site.CreateWebhook(ctx, w1))
	require.NoError(t, site.CreateWebhook(ctx, w2))

	full := &redisstore.Delivery{
		WebhookID:       w1.ID,
		Duration:        "0.90226",
		Summary:         "HTTP 200 OK: ok",
		RequestMethod:   "POST",
		RequestURL:      "https://example.com/hook",
		RequestHeaders:  map[string]string{"X-WC-Webhook-Topic": "order.created"},
		RequestBody:     `{"id":1}`,
		ResponseCode:    "200",
		ResponseMessage: "OK",
		ResponseHeaders: map[string]string{"Content-Type": "text/plain"},
		ResponseBody:    "ok",
		Created:         time.Date(2024, 1, 2, 3, 4, 5, 6789, time.FixedZone("x", -3600)),
	}
	require.NoError(t, site.AppendDelivery(ctx, full, 5))
	assert.Equal(t, int64(1), full.ID)
	assert.Equal(t, time.Date(2024, 1, 2, 4, 4, 5, 6000, time.UTC), full.Created)
	got, err := site.GetDelivery(ctx, w1.ID, full.ID)
	require.NoError(t, err)
	assert.Equal(t, *full, *got)

	// Interleave the two webhooks' logs: ids are per site, trims per webhook.
	for i := range 12 {
		d := &redisstore.Delivery{WebhookID: w1.ID, Summary: fmt.Sprintf("w1 #%d", i)}
		require.NoError(t, site.AppendDelivery(ctx, d, 5))
		assert.False(t, d.Created.IsZero())
		require.NoError(t, site.AppendDelivery(ctx, &redisstore.Delivery{WebhookID: w2.ID}, 0))
	}
	l1, err := site.ListDeliveries(ctx, w1.ID)
	require.NoError(t, err)
	require.Len(t, l1, 5, "only the newest keep=5 stay")
	assert.Equal(t, "w1 #11", l1[0].Summary, "newest first")
	assert.Equal(t, "w1 #7", l1[4].Summary)
	for i := 1; i < len(l1); i++ {
		assert.Greater(t, l1[i-1].ID, l1[i].ID)
		assert.Equal(t, w1.ID, l1[i].WebhookID)
	}
	_, err = site.GetDelivery(ctx, w1.ID, full.ID)
	assert.ErrorIs(t, err, redisstore.ErrNotFound, "trimmed")

	l2, err := site.ListDeliveries(ctx, w2.ID)
	require.NoError(t, err)
	require.Len(t, l2, 12)
	_, err = site.GetDelivery(ctx, w2.ID, l1[0].ID)
	assert.ErrorIs(t, err, redisstore.ErrNotFound, "a delivery of another webhook")
	_, err = site.GetDelivery(ctx, w1.ID, l1[0].ID)
	assert.NoError(t, err)

	// Default keep is 25.
	for range 30 {
		require.NoError(t, site.AppendDelivery(ctx, &redisstore.Delivery{WebhookID: w2.ID}, 0))
	}
	l2, err = site.ListDeliveries(ctx, w2.ID)
	require.NoError(t, err)
	assert.Len(t, l2, redisstore.DefaultKeepDeliveries)

	assert.ErrorIs(t, site.AppendDelivery(ctx, &redisstore.Delivery{WebhookID: 4242}, 0), redisstore.ErrNotFound)
	assert.Error(t, site.AppendDelivery(ctx, nil, 0))
	none, err := site.ListDeliveries(ctx, 4242)
	require.NoError(t, err)
	assert.NotNil(t, none)
	assert.Empty(t, none)
	_, err = site.GetDelivery(ctx, 0, 1)
	assert.ErrorIs(t, err, redisstore.ErrNotFound)
}
