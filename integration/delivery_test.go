package integration

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// settle is how long a negative check waits after a later request proved
// the dispatcher has moved on (for something that must not arrive).
const settle = 500 * time.Millisecond

// TestDeliveryPing: creating an active webhook (single or batch) pings its
// URL once with a form POST; only an exact 200 clears pending_delivery, so
// a later save pings again only the webhook whose ping failed, and a URL
// change always pings. A paused webhook is not pinged.
func TestDeliveryPing(t *testing.T) {
	h := newHookEnv(t, dispatchBlock(true))
	sec := hookSecret{Stored: "ping-secret", Key: "ping-secret"}
	ok := newHookReceiver(t, nil)
	bad := newHookReceiver(t, func(r hookRequest) int {
		if r.IsPing() {
			return 201 // a 2xx, but not exactly 200
		}
		return 200
	})
	paused := newHookReceiver(t, nil)

	w1 := h.CreateWebhook(t, "ok", "order.created", ok.URL, sec, "")
	w2 := h.CreateWebhook(t, "bad", "order.created", bad.URL, sec, "")
	w3 := h.CreateWebhook(t, "paused", "order.created", paused.URL, sec, `,"status":"paused"`)
	assert.Nil(t, w1.DateModified, "the create response does not wait for the ping")

	waitUntil(t, 20*time.Second, "the ping of w1", func() bool { return len(ok.Pings()) == 1 })
	verifyPing(t, ok.Pings()[0], w1.ID)
	waitUntil(t, 20*time.Second, "the ping of w2", func() bool { return len(bad.Pings()) == 1 })
	verifyPing(t, bad.Pings()[0], w2.ID)

	waitUntil(t, 20*time.Second, "an exact 200 to clear pending_delivery", func() bool { return !h.Stored(t, w1.ID).PendingDelivery })
	assert.NotNil(t, h.GetWebhook(t, w1.ID).DateModified, "clearing pending_delivery sets date_modified")

	// A save of both: only w2, still pending after its 201, is pinged again.
	for _, id := range []int64{w1.ID, w3.ID, w2.ID} {
		r := h.API(t, "PUT", fmt.Sprintf("/wp-json/wc/v3/webhooks/%d", id), `{"name":"renamed"}`)
		require.Equal(t, 200, r.Status, "%s", r.Body)
	}
	waitUntil(t, 20*time.Second, "the second ping of w2", func() bool { return len(bad.Pings()) == 2 })
	verifyPing(t, bad.Pings()[1], w2.ID)
	assert.True(t, h.Stored(t, w2.ID).PendingDelivery, "a 201 ping leaves pending_delivery set")

	// A URL change pings even when pending_delivery is clear.
	moved := newHookReceiver(t, nil)
	r := h.API(t, "PUT", fmt.Sprintf("/wp-json/wc/v3/webhooks/%d", w1.ID), fmt.Sprintf(`{"delivery_url":%q}`, moved.URL))
	require.Equal(t, 200, r.Status, "%s", r.Body)
	waitUntil(t, 20*time.Second, "the ping after a URL change", func() bool { return len(moved.Pings()) == 1 })
	verifyPing(t, moved.Pings()[0], w1.ID)

	// Batch creates ping each active item.
	b1, b2 := newHookReceiver(t, nil), newHookReceiver(t, nil)
	r = h.API(t, "POST", "/wp-json/wc/v3/webhooks/batch", fmt.Sprintf(
		`{"create":[{"topic":"order.updated","delivery_url":%q},{"topic":"order.updated","delivery_url":%q}]}`, b1.URL, b2.URL))
	require.Equal(t, 200, r.Status, "%s", r.Body)
	var batch struct{ Create []restWebhook }
	r.JSON(t, &batch)
	require.Len(t, batch.Create, 2)
	waitUntil(t, 20*time.Second, "the pings of the batch items", func() bool { return len(b1.Pings()) == 1 && len(b2.Pings()) == 1 })
	verifyPing(t, b1.Pings()[0], batch.Create[0].ID)
	verifyPing(t, b2.Pings()[0], batch.Create[1].ID)

	time.Sleep(settle)
	assert.Len(t, ok.Requests(), 1, "w1 was not pinged again by a save after a 200 ping")
	assert.Len(t, moved.Requests(), 1, "only the URL change pinged w1's new URL")
	assert.Empty(t, paused.Requests(), "a paused webhook is never pinged")
	assert.Len(t, bad.Requests(), 2)
}

// TestDeliveryExact: events published through the endpoint reach exactly
// the webhooks of their topic, byte for byte, with every header and both
// signatures right; deleted and action topics get their fixed bodies; the
// deliveries routes of every version list the logged attempts under the
// ids sent as X-WC-Webhook-Delivery-ID; redelivery keeps webhook-id; the
// log keeps the newest keep_deliveries and caps bodies at max_log_body.
func TestDeliveryExact(t *testing.T) {
	h := newHookEnv(t, dispatchBlock(true, "keep_deliveries 3", "max_log_body 1024"))
	entity := hookSecret{Stored: "s3cr&amp;t&lt;x&#039;y", Key: "s3cr&t<x'y"}
	plain := hookSecret{Stored: "plain-secret", Key: "plain-secret"}
	rOrder, rDeleted, rAction, rCoupon := newHookReceiver(t, nil), newHookReceiver(t, nil), newHookReceiver(t, nil), newHookReceiver(t, nil)

	wOrder := h.CreateWebhook(t, "order", "order.created", rOrder.URL, entity, "")
	wDeleted := h.CreateWebhook(t, "deleted", "order.deleted", rDeleted.URL, plain, "")
	wAction := h.CreateWebhook(t, "action", "action.woocommerce_add_to_cart", rAction.URL, plain, "")
	wCoupon := h.CreateWebhook(t, "coupon", "coupon.created", rCoupon.URL, plain, "")
	for _, rc := range []*receiver{rOrder, rDeleted, rAction, rCoupon} {
		waitUntil(t, 20*time.Second, "the creation pings", func() bool { return len(rc.Pings()) == 1 })
	}
	time.Sleep(fanoutCacheWait)

	orderBody := `{"id":7, "name":"caf\u00e9 \/ x","total":"1.50","n":1.50,"e":{},"a":[1, 2],"u":"ü"}`
	ev := h.Publish(t, `{"topic":"order.created","resource_id":7,"payload":`+orderBody+`}`)
	assert.Equal(t, []any{"order.created", int64(7)}, []any{ev.Topic, ev.ResourceID})
	h.Publish(t, `{"topic":"order.deleted","resource_id":9}`)
	h.Publish(t, `{"topic":"action.woocommerce_add_to_cart","resource_id":0,"arg":"abc123"}`)

	one := func(rc *receiver, what string) hookRequest {
		waitUntil(t, 20*time.Second, what, func() bool { return len(rc.Deliveries()) >= 1 })
		return rc.Deliveries()[0]
	}
	got := one(rOrder, "the order.created delivery")
	did := verifyDelivery(t, got, wantDelivery{WebhookID: wOrder.ID, Topic: "order.created", Secret: entity, Sources: h.Sources()})
	assert.Equal(t, orderBody, string(got.Body), "the payload is forwarded byte for byte")

	del := one(rDeleted, "the order.deleted delivery")
	verifyDelivery(t, del, wantDelivery{WebhookID: wDeleted.ID, Topic: "order.deleted", Secret: plain, Sources: h.Sources()})
	assert.Equal(t, `{"id":9}`, string(del.Body))

	act := one(rAction, "the action delivery")
	verifyDelivery(t, act, wantDelivery{WebhookID: wAction.ID, Topic: "action.woocommerce_add_to_cart", Secret: plain, Sources: h.Sources()})
	assert.Equal(t, `{"action":"woocommerce_add_to_cart","arg":"abc123"}`, string(act.Body))

	t.Run("deliveries routes", func(t *testing.T) {
		for _, route := range deliveryRoutes {
			ds := h.Deliveries(t, route, wOrder.ID)
			require.Len(t, ds, 1, route)
			d := ds[0]
			assert.Equal(t, did, d.ID, "%s: the logged id is X-WC-Webhook-Delivery-ID", route)
			assert.Equal(t, "POST", d.RequestMethod, route)
			assert.Equal(t, rOrder.URL, d.RequestURL, route)
			assert.Equal(t, orderBody, d.RequestBody, route)
			assert.Equal(t, got.Header.Get("X-WC-Webhook-Signature"), d.header("X-WC-Webhook-Signature"), route)
			assert.Equal(t, strconv.FormatInt(did, 10), d.header("X-WC-Webhook-Delivery-ID"), route)
			assert.Equal(t, "200", d.ResponseCode, route)
			assert.Equal(t, "status 200", d.ResponseBody, route)
			assert.True(t, strings.HasPrefix(d.Summary, "HTTP 200 OK: "), "%s: summary %q", route, d.Summary)
			assert.NotEmpty(t, d.Duration, route)
			for _, k := range []string{"User-Agent", "Content-Type", "X-WC-Webhook-Source", "X-WC-Webhook-Topic", "X-WC-Webhook-ID", "webhook-id", "webhook-timestamp", "webhook-signature"} {
				assert.Equal(t, got.Header.Get(k), d.header(k), "%s: logged %s", route, k)
			}
		}
		r := h.API(t, "GET", fmt.Sprintf("/wp-json/wc/v2/webhooks/%d/deliveries/%d", wOrder.ID, did), "")
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var d loggedDelivery
		r.JSON(t, &d)
		assert.Equal(t, []any{did, orderBody}, []any{d.ID, d.RequestBody})
		r = h.API(t, "GET", fmt.Sprintf("/wc-api/v3/webhooks/%d/deliveries/%d", wOrder.ID, did), "")
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var wrap struct {
			D loggedDelivery `json:"webhook_delivery"`
		}
		r.JSON(t, &wrap)
		assert.Equal(t, []any{did, orderBody}, []any{wrap.D.ID, wrap.D.RequestBody})
	})

	t.Run("redeliver", func(t *testing.T) {
		r := h.API(t, "POST", fmt.Sprintf("/wp-json/wc-webhooks/v1/webhooks/%d/deliveries/%d/redeliver", wOrder.ID, did), "")
		require.Equal(t, 202, r.Status, "%s", r.Body)
		var ans struct {
			WebhookID  int64 `json:"webhook_id"`
			DeliveryID int64 `json:"delivery_id"`
			JobID      int64 `json:"job_id"`
		}
		r.JSON(t, &ans)
		assert.Equal(t, []int64{wOrder.ID, did}, []int64{ans.WebhookID, ans.DeliveryID})
		assert.Positive(t, ans.JobID)
		waitUntil(t, 20*time.Second, "the redelivery", func() bool { return len(rOrder.Deliveries()) == 2 })
		again := rOrder.Deliveries()[1]
		did2 := verifyDelivery(t, again, wantDelivery{WebhookID: wOrder.ID, Topic: "order.created", Secret: entity, Sources: h.Sources()})
		assert.NotEqual(t, did, did2, "a redelivery is a new delivery log entry")
		assert.Equal(t, got.Header.Get("webhook-id"), again.Header.Get("webhook-id"), "webhook-id is kept")
		assert.Equal(t, orderBody, string(again.Body))
		waitUntil(t, 20*time.Second, "the redelivery in the log", func() bool { return len(h.Deliveries(t, deliveryRoutes[0], wOrder.ID)) == 2 })
		assert.ElementsMatch(t, []int64{did, did2}, deliveryIDs(h.Deliveries(t, deliveryRoutes[1], wOrder.ID)))

		r = h.API(t, "POST", fmt.Sprintf("/wp-json/wc-webhooks/v1/webhooks/%d/deliveries/%d/redeliver", wOrder.ID+1000, did), "")
		assert.Equal(t, 404, r.Status, "%s", r.Body)
		assert.Equal(t, `"woocommerce_rest_webhook_invalid_id"`, string(jsonField(t, r.Body, "code")))
		r = h.API(t, "POST", fmt.Sprintf("/wp-json/wc-webhooks/v1/webhooks/%d/deliveries/%d/redeliver", wOrder.ID, did+1000), "")
		assert.Equal(t, 404, r.Status, "%s", r.Body)
		assert.Equal(t, `"woocommerce_rest_invalid_id"`, string(jsonField(t, r.Body, "code")))
	})

	t.Run("log cap", func(t *testing.T) {
		big := `{"id":1,"pad":"` + strings.Repeat("x", 3000) + `"}`
		for i := 1; i <= 3; i++ {
			h.Publish(t, fmt.Sprintf(`{"topic":"coupon.created","resource_id":%d,"payload":{"id":%d}}`, i, i))
		}
		h.Publish(t, `{"topic":"coupon.created","resource_id":4,"payload":`+big+`}`)
		waitUntil(t, 20*time.Second, "four coupon deliveries", func() bool { return len(rCoupon.Deliveries()) == 4 })
		var sent []int64
		for _, d := range rCoupon.Deliveries() {
			sent = append(sent, verifyDelivery(t, d, wantDelivery{WebhookID: wCoupon.ID, Topic: "coupon.created", Secret: plain, Sources: h.Sources()}))
			if len(d.Body) > 1000 {
				assert.Equal(t, big, string(d.Body), "the big body is sent whole")
			}
		}
		sort.Slice(sent, func(i, j int) bool { return sent[i] < sent[j] })
		waitUntil(t, 20*time.Second, "the log to hold 3", func() bool { return len(h.Deliveries(t, deliveryRoutes[2], wCoupon.ID)) == 3 })
		ds := h.Deliveries(t, deliveryRoutes[2], wCoupon.ID)
		assert.ElementsMatch(t, sent[1:], deliveryIDs(ds), "keep_deliveries 3 keeps the newest three")
		for _, d := range ds {
			if strings.Contains(d.RequestBody, "pad") {
				assert.LessOrEqual(t, len(d.RequestBody), 1024, "max_log_body caps the logged body")
				assert.True(t, strings.HasPrefix(big, d.RequestBody), "the logged body is a prefix of the sent one")
			}
		}
	})

	t.Run("endpoint errors", func(t *testing.T) {
		r := h.API(t, "POST", "/wp-json/wc-webhooks/v1/events", `{"topic":"order.nothing","resource_id":1,"payload":{}}`)
		assert.Equal(t, 400, r.Status, "%s", r.Body)
		assert.Contains(t, string(jsonField(t, r.Body, "code")), "invalid_topic")
		r = h.API(t, "POST", "/wp-json/wc-webhooks/v1/events", `{"resource_id":1,"payload":{}}`)
		assert.Equal(t, 400, r.Status, "%s", r.Body)
		assert.Equal(t, `"rest_missing_callback_param"`, string(jsonField(t, r.Body, "code")))
		r = do(t, h.C, "POST", h.HTTPSBase+"/wp-json/wc-webhooks/v1/events", []byte(`{"topic":"order.created","resource_id":1,"payload":{}}`), jsonHeader())
		assert.Equal(t, 401, r.Status, "no credentials: %s", r.Body)
		ro := h.AddKey("read")
		r = do(t, h.C, "POST", h.HTTPSBase+"/wp-json/wc-webhooks/v1/events", []byte(`{"topic":"order.created","resource_id":1,"payload":{}}`), basic(ro))
		assert.Equal(t, 401, r.Status, "read-only key: %s", r.Body)
		// The rest_route form reaches the same endpoint.
		r = h.API(t, "POST", "/?rest_route=/wc-webhooks/v1/events", `{"topic":"order.deleted","resource_id":11}`)
		assert.Equal(t, 202, r.Status, "%s", r.Body)
		waitUntil(t, 20*time.Second, "the rest_route event", func() bool { return len(rDeleted.Deliveries()) == 2 })
		assert.Equal(t, `{"id":11}`, string(rDeleted.Deliveries()[1].Body))
	})

	// Topics are matched exactly: each receiver got its own events only.
	time.Sleep(settle)
	assert.Len(t, rDeleted.Deliveries(), 2)
	assert.Len(t, rAction.Deliveries(), 1)
	assert.Len(t, rOrder.Deliveries(), 2)
	assert.Len(t, rCoupon.Deliveries(), 4)
}
