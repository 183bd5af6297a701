package dispatcher_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

func b64hmac(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestDeliveryIsWooCommerceExact(t *testing.T) {
	ctx := context.Background()
	store, site := newSite(t)
	url, got := rawReceiver(t)
	const stored = `k&amp;ey&#039;"`
	const decoded = `k&ey'"`
	w := hook(t, site, redisstore.StatusActive, "order.updated", url, stored)
	opts := testOptions(t, store)
	opts.WooCommerceVersion, opts.WordPressVersion = "9.9.0", "6.8.1"
	start(t, opts, site)

	body := "{\"id\":7,\"note\":\"caf\\u00e9 \\/x\"}\n\x00"
	before := time.Now().Unix()
	publish(t, site, "order.updated", 7, body)
	var r rawRequest
	select {
	case r = <-got:
	case <-time.After(waitTimeout):
		t.Fatal("no delivery")
	}
	require.Equal(t, "POST /hook HTTP/1.1", r.line)
	require.Equal(t, body, string(r.body), "body forwarded byte for byte")
	want := map[string]string{
		"User-Agent":             "WooCommerce/9.9.0 Hookshot (WordPress/6.8.1)",
		"Content-Type":           "application/json",
		"X-WC-Webhook-Source":    "https://shop.example/",
		"X-WC-Webhook-Topic":     "order.updated",
		"X-WC-Webhook-Resource":  "order",
		"X-WC-Webhook-Event":     "updated",
		"X-WC-Webhook-ID":        strconv.FormatInt(w.ID, 10),
		"X-WC-Webhook-Signature": b64hmac(decoded, body),
	}
	for k, v := range want {
		gotV, n := r.get(k)
		require.Equal(t, 1, n, "header %s once, spelled exactly", k)
		require.Equal(t, v, gotV, k)
	}
	msgID, _ := r.get("webhook-id")
	ts, _ := r.get("webhook-timestamp")
	sig, _ := r.get("webhook-signature")
	require.NotEmpty(t, msgID)
	tsn, err := strconv.ParseInt(ts, 10, 64)
	require.NoError(t, err)
	require.GreaterOrEqual(t, tsn, before)
	require.Equal(t, "v1,"+b64hmac(stored, msgID+"."+ts+"."+body), sig)

	dlid, _ := r.get("X-WC-Webhook-Delivery-ID")
	var logs []redisstore.Delivery
	eventually(t, "delivery logged", func() bool {
		logs, err = site.ListDeliveries(ctx, w.ID)
		require.NoError(t, err)
		return len(logs) == 1
	})
	d := logs[0]
	require.Equal(t, dlid, strconv.FormatInt(d.ID, 10), "Delivery-ID is the log entry id")
	require.Equal(t, "HTTP 200 OK: ok", d.Summary)
	require.Equal(t, "200", d.ResponseCode)
	require.Equal(t, "OK", d.ResponseMessage)
	require.Equal(t, "ok", d.ResponseBody)
	require.Equal(t, "text/plain", d.ResponseHeaders["Content-Type"])
	require.Equal(t, "POST", d.RequestMethod)
	require.Equal(t, url, d.RequestURL)
	require.Equal(t, body, d.RequestBody)
	require.Equal(t, want["X-WC-Webhook-Signature"], d.RequestHeaders["X-WC-Webhook-Signature"])
	require.Equal(t, dlid, d.RequestHeaders["X-WC-Webhook-Delivery-ID"])
	_, err = strconv.ParseFloat(d.Duration, 64)
	require.NoError(t, err)
	require.False(t, d.Created.IsZero())
}

func TestTopicsStatusesAndDeletedWebhooks(t *testing.T) {
	ctx := context.Background()
	store, site := newSite(t)
	active, paused, other, deleted := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
	hook(t, site, redisstore.StatusActive, "product.deleted", active.URL, "")
	hook(t, site, redisstore.StatusPaused, "product.deleted", paused.URL, "")
	hook(t, site, redisstore.StatusDisabled, "product.deleted", paused.URL, "")
	hook(t, site, redisstore.StatusActive, "product.created", other.URL, "")
	gone := hook(t, site, redisstore.StatusActive, "product.deleted", deleted.URL, "")

	// Fan out while nothing is sent yet, then delete one webhook: its job is dropped at send time.
	d, err := dispatcher.New(testOptions(t, store))
	require.NoError(t, err)
	require.NoError(t, d.AddSite(ctx, site, dispatcher.SiteOptions{HomeURL: "https://shop.example/"}))
	publish(t, site, "product.deleted", 5, string(dispatcher.DeletedPayload(5)))
	require.NoError(t, d.Start(ctx))
	t.Cleanup(func() { _ = d.Stop(ctx) })
	_, err = site.DeleteWebhook(ctx, gone.ID)
	require.NoError(t, err)
	drained(t, site)

	require.Equal(t, 1, active.count())
	require.Equal(t, `{"id":5}`, string(active.requests()[0].body))
	require.Equal(t, "https://shop.example/", active.requests()[0].header.Get("X-WC-Webhook-Source"))
	require.Zero(t, paused.count(), "paused and disabled webhooks get nothing")
	require.Zero(t, other.count(), "other topics get nothing")
	require.LessOrEqual(t, deleted.count(), 1, "at most an in-flight delivery before the delete")
}

func TestRetriesLogsAutoDisableAndReset(t *testing.T) {
	ctx := context.Background()
	store, site := newSite(t)
	fail := true
	var failMu = make(chan struct{}, 1)
	failMu <- struct{}{}
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		<-failMu
		f := fail
		failMu <- struct{}{}
		if f {
			http.Error(w, strings.Repeat("é", 300), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("fine"))
	})
	w := hook(t, site, redisstore.StatusActive, "order.created", rc.URL, "s")
	opts := testOptions(t, store)
	opts.KeepDeliveries = 10
	opts.MaxLogBody = 101
	start(t, opts, site)

	big := `"` + strings.Repeat("x", 500) + `"`
	for i := range 5 {
		publish(t, site, "order.created", int64(i), big)
		drained(t, site)
	}
	// 5 deliveries × 3 attempts (first + a ladder of 2 retries).
	require.Equal(t, 15, rc.count())
	got, err := site.GetWebhook(ctx, w.ID)
	require.NoError(t, err)
	require.Equal(t, redisstore.StatusDisabled, got.Status, "disabled after 5 failed deliveries")
	require.Equal(t, 5, got.FailureCount)

	logs, err := site.ListDeliveries(ctx, w.ID)
	require.NoError(t, err)
	require.Len(t, logs, 10, "log kept to KeepDeliveries")
	for _, d := range logs {
		require.Equal(t, "500", d.ResponseCode)
		require.Len(t, d.RequestBody, 101, "request body capped")
		require.Len(t, d.ResponseBody, 100, "response body capped at a UTF-8 boundary")
		require.True(t, strings.HasPrefix(d.Summary, "HTTP 500 Internal Server Error: éé"), d.Summary)
		require.LessOrEqual(t, len(d.Summary), 101)
	}
	require.Greater(t, logs[0].ID, logs[1].ID, "newest first")

	// A disabled webhook gets nothing.
	publish(t, site, "order.created", 9, `{}`)
	drained(t, site)
	require.Equal(t, 15, rc.count())

	// Re-activated (as the API does, resetting the count) and failing twice, then a success resets it.
	got.Status, got.FailureCount = redisstore.StatusActive, 3
	require.NoError(t, site.SaveWebhook(ctx, got))
	<-failMu
	fail = false
	failMu <- struct{}{}
	publish(t, site, "order.created", 10, `{}`)
	drained(t, site)
	got, err = site.GetWebhook(ctx, w.ID)
	require.NoError(t, err)
	require.Zero(t, got.FailureCount, "a success resets failure_count")
	require.Equal(t, redisstore.StatusActive, got.Status)
	require.Equal(t, 16, rc.count())
}

func TestGoneAndRetryAfter(t *testing.T) {
	ctx := context.Background()
	store, site := newSite(t)
	gone := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(http.StatusGone) })
	limited := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusFound) // 302 counts as success, and is not followed
	})
	wg := hook(t, site, redisstore.StatusActive, "coupon.created", gone.URL, "")
	wl := hook(t, site, redisstore.StatusActive, "coupon.created", limited.URL+"/x", "")
	start(t, testOptions(t, store), site)
	publish(t, site, "coupon.created", 1, `{}`)
	drained(t, site)
	require.Equal(t, 1, gone.count(), "410 fails the delivery at once")
	g, err := site.GetWebhook(ctx, wg.ID)
	require.NoError(t, err)
	require.Equal(t, 1, g.FailureCount)
	require.Equal(t, 2, limited.count())
	l, err := site.GetWebhook(ctx, wl.ID)
	require.NoError(t, err)
	require.Zero(t, l.FailureCount)
	logs, err := site.ListDeliveries(ctx, wl.ID)
	require.NoError(t, err)
	require.Len(t, logs, 2)
	require.Equal(t, "302", logs[0].ResponseCode)
	require.Equal(t, "429", logs[1].ResponseCode)
}
