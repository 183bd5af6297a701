package dispatcher_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

func TestPingOnlyExact200ClearsPending(t *testing.T) {
	ctx := context.Background()
	store, site := newSite(t)
	ok := newReceiver(t, nil)
	accepted := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(http.StatusAccepted) })
	wOK := hook(t, site, redisstore.StatusActive, "order.created", ok.URL, "secret")
	wAcc := hook(t, site, redisstore.StatusActive, "order.created", accepted.URL, "secret")
	wPaused := hook(t, site, redisstore.StatusPaused, "order.created", ok.URL, "secret")
	start(t, testOptions(t, store), site)

	for _, w := range []*redisstore.Webhook{wOK, wAcc, wPaused} {
		_, err := dispatcher.Ping(ctx, site, w.ID)
		require.NoError(t, err)
	}
	drained(t, site)

	require.Equal(t, 1, ok.count(), "a paused webhook is not pinged")
	r := ok.requests()[0]
	require.Equal(t, "POST", r.method)
	require.Equal(t, "webhook_id="+strconv.FormatInt(wOK.ID, 10), string(r.body))
	require.Equal(t, "application/x-www-form-urlencoded", r.header.Get("Content-Type"))
	require.Equal(t, "WooCommerce/9.8.1 Hookshot (WordPress/6.8)", r.header.Get("User-Agent"))
	require.Empty(t, r.header.Get("X-WC-Webhook-Signature"), "a ping carries no webhook headers")

	got, err := site.GetWebhook(ctx, wOK.ID)
	require.NoError(t, err)
	require.False(t, got.PendingDelivery, "200 clears pending_delivery")
	require.False(t, got.Modified.IsZero(), "and sets modified")
	got, err = site.GetWebhook(ctx, wAcc.ID)
	require.NoError(t, err)
	require.True(t, got.PendingDelivery, "202 is not a successful ping")
	require.True(t, got.Modified.IsZero())
	require.Equal(t, 1, accepted.count())
	logs, err := site.ListDeliveries(ctx, wOK.ID)
	require.NoError(t, err)
	require.Empty(t, logs, "pings are not logged as deliveries")
}

func TestRedeliveryKeepsWebhookID(t *testing.T) {
	ctx := context.Background()
	store, site := newSite(t)
	rc := newReceiver(t, nil)
	w := hook(t, site, redisstore.StatusActive, "customer.created", rc.URL, "sec")
	start(t, testOptions(t, store), site)
	publish(t, site, "customer.created", 3, `{"id":3}`)
	drained(t, site)
	logs, err := site.ListDeliveries(ctx, w.ID)
	require.NoError(t, err)
	require.Len(t, logs, 1)

	_, err = dispatcher.Redeliver(ctx, site, w.ID, logs[0].ID)
	require.NoError(t, err)
	drained(t, site)
	// Without the retained job (expired), the complete logged body is used.
	rdb := store.Client()
	keys, err := rdb.Keys(ctx, site.KeyPrefix()+"dq:job:*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys)
	require.NoError(t, rdb.Del(ctx, keys...).Err())
	_, err = dispatcher.Redeliver(ctx, site, w.ID, logs[0].ID)
	require.NoError(t, err)
	drained(t, site)

	reqs := rc.requests()
	require.Len(t, reqs, 3)
	for _, r := range reqs[1:] {
		require.Equal(t, reqs[0].header.Get("webhook-id"), r.header.Get("webhook-id"))
		require.Equal(t, `{"id":3}`, string(r.body))
		require.Equal(t, "customer.created", r.header.Get("X-WC-Webhook-Topic"))
		require.NotEqual(t, reqs[0].header.Get("X-WC-Webhook-Delivery-ID"), r.header.Get("X-WC-Webhook-Delivery-ID"))
	}
	logs, err = site.ListDeliveries(ctx, w.ID)
	require.NoError(t, err)
	require.Len(t, logs, 3)

	_, err = dispatcher.Redeliver(ctx, site, w.ID, 999999)
	require.ErrorIs(t, err, redisstore.ErrNotFound)
	// A changed secret makes a log-only redelivery impossible to reproduce exactly.
	w.Secret = "other"
	require.NoError(t, site.SaveWebhook(ctx, w))
	keys, _ = rdb.Keys(ctx, site.KeyPrefix()+"dq:job:*").Result()
	if len(keys) > 0 {
		require.NoError(t, rdb.Del(ctx, keys...).Err())
	}
	_, err = dispatcher.Redeliver(ctx, site, w.ID, logs[0].ID)
	require.ErrorIs(t, err, dispatcher.ErrRedeliveryUnavailable)
}
