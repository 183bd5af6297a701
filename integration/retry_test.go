package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeliveryRetries: with retry_ladder 20ms 40ms a failing delivery is
// tried three times under one webhook-id, each attempt logged; a success
// on a retry ends it; 410 fails at once; every failed delivery raises
// failure_count, a success resets it, five failed deliveries disable the
// webhook (GET shows it, it gets nothing more), and re-activation through
// the API resets the count.
func TestDeliveryRetries(t *testing.T) {
	h := newHookEnv(t, dispatchBlock(true, "retry_ladder 20ms 40ms", "max_failures 5"))
	sec := hookSecret{Stored: "retry-secret", Key: "retry-secret"}

	// The receiver answers by the payload's "mode": "fail" (500), "gone"
	// (410), "once" (500 to the first attempt of a webhook-id, then 200),
	// anything else 200. Pings get 200.
	var mu sync.Mutex
	seen := map[string]int{}
	rc := newHookReceiver(t, func(r hookRequest) int {
		if r.IsPing() {
			return 200
		}
		var p struct{ Mode string }
		_ = json.Unmarshal(r.Body, &p)
		mu.Lock()
		defer mu.Unlock()
		seen[r.Header.Get("webhook-id")]++
		switch {
		case p.Mode == "fail":
			return 500
		case p.Mode == "gone":
			return 410
		case p.Mode == "once" && seen[r.Header.Get("webhook-id")] == 1:
			return 500
		}
		return 200
	})
	witness := newHookReceiver(t, nil)
	w := h.CreateWebhook(t, "flaky", "product.updated", rc.URL, sec, "")
	h.CreateWebhook(t, "witness", "product.updated", witness.URL, sec, "")
	waitUntil(t, 20*time.Second, "the pings", func() bool { return len(rc.Pings()) == 1 && len(witness.Pings()) == 1 })
	time.Sleep(fanoutCacheWait)

	seq := 0
	publish := func(mode string) string {
		seq++
		tag := fmt.Sprintf("e%d", seq)
		h.Publish(t, fmt.Sprintf(`{"topic":"product.updated","resource_id":%d,"payload":{"tag":%q,"mode":%q}}`, seq, tag, mode))
		return tag
	}
	attempts := func(tag string) []hookRequest {
		var out []hookRequest
		for _, r := range rc.Deliveries() {
			var p struct{ Tag string }
			_ = json.Unmarshal(r.Body, &p)
			if p.Tag == tag {
				out = append(out, r)
			}
		}
		return out
	}
	failures := func() int { return h.Stored(t, w.ID).FailureCount }
	want := wantDelivery{WebhookID: w.ID, Topic: "product.updated", Secret: sec, Sources: h.Sources()}

	// One failed delivery: 1 + 2 retries, one webhook-id, three log entries.
	e1 := publish("fail")
	waitUntil(t, 30*time.Second, "failure_count 1", func() bool { return failures() == 1 })
	tries := attempts(e1)
	require.Len(t, tries, 3, "one attempt and two retries")
	var dids []int64
	for _, r := range tries {
		dids = append(dids, verifyDelivery(t, r, want))
		assert.Equal(t, tries[0].Header.Get("webhook-id"), r.Header.Get("webhook-id"), "webhook-id is stable across retries")
	}
	logged := h.Deliveries(t, deliveryRoutes[1], w.ID)
	assert.ElementsMatch(t, dids, deliveryIDs(logged), "every attempt is logged under its X-WC-Webhook-Delivery-ID")
	for _, d := range logged {
		assert.Equal(t, "500", d.ResponseCode)
	}

	// A success resets the count.
	e2 := publish("ok")
	waitUntil(t, 30*time.Second, "failure_count reset by a success", func() bool { return failures() == 0 })
	assert.Len(t, attempts(e2), 1)

	// A retry that succeeds ends the delivery; the count stays 0.
	e3 := publish("once")
	waitUntil(t, 30*time.Second, "the retry of e3", func() bool { return len(attempts(e3)) == 2 })
	assert.Equal(t, attempts(e3)[0].Header.Get("webhook-id"), attempts(e3)[1].Header.Get("webhook-id"))

	// 410 Gone fails the delivery at once.
	e4 := publish("gone")
	waitUntil(t, 30*time.Second, "failure_count 1 after 410", func() bool { return failures() == 1 })

	// Four more failed deliveries: five in a row disable the webhook.
	var more []string
	for i := 0; i < 4; i++ {
		more = append(more, publish("fail"))
	}
	waitUntil(t, 60*time.Second, "the webhook disabled", func() bool { return h.GetWebhook(t, w.ID).Status == "disabled" })
	assert.Equal(t, 5, failures())
	for _, tag := range more {
		waitUntil(t, 30*time.Second, "all attempts of "+tag, func() bool { return len(attempts(tag)) == 3 })
	}

	// A disabled webhook gets nothing; the witness gets the same event.
	e9 := publish("ok")
	waitUntil(t, 20*time.Second, "the witness delivery of "+e9, func() bool { return len(witness.Deliveries()) == 9 })
	time.Sleep(settle)
	assert.Empty(t, attempts(e9), "a disabled webhook gets nothing")

	// Re-activation resets the count; the next failure counts 1, not 6.
	r := h.API(t, "PUT", fmt.Sprintf("/wp-json/wc/v3/webhooks/%d", w.ID), `{"status":"active"}`)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	assert.Equal(t, "active", h.GetWebhook(t, w.ID).Status)
	assert.Equal(t, 0, failures(), "re-activation through the API resets failure_count")
	time.Sleep(fanoutCacheWait)
	e10 := publish("fail")
	waitUntil(t, 30*time.Second, "failure_count 1 after re-activation", func() bool { return failures() == 1 })
	assert.Len(t, attempts(e10), 3)
	assert.Equal(t, "active", h.GetWebhook(t, w.ID).Status, "one failure after re-activation does not disable")

	assert.Len(t, attempts(e4), 1, "410 Gone is not retried")
	assert.Len(t, attempts(e3), 2, "a successful retry is the last attempt")
	assert.Len(t, attempts(e1), 3, "a failed delivery is not tried again")
}

// TestDeliveryReceiverDown: events for a receiver that refuses connections
// are retried along the ladder and all arrive, once each, when it comes
// back on the same address; the count of failed deliveries stays 0.
func TestDeliveryReceiverDown(t *testing.T) {
	const events = 30
	h := newHookEnv(t, dispatchBlock(true, "retry_ladder 200ms 400ms 800ms 1600ms 3s 5s", "keep_deliveries 200"))
	sec := hookSecret{Stored: "down-secret", Key: "down-secret"}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t)) // nothing listens yet
	url := "http://" + addr + "/hook"
	w := h.CreateWebhook(t, "down", "order.updated", url, sec, "")
	time.Sleep(fanoutCacheWait)
	for i := 1; i <= events; i++ {
		h.Publish(t, fmt.Sprintf(`{"topic":"order.updated","resource_id":%d,"payload":{"k":"%d"}}`, i, i))
	}
	waitUntil(t, 30*time.Second, "a refused first attempt of every event", func() bool {
		return len(h.Deliveries(t, deliveryRoutes[0], w.ID)) >= events
	})
	for _, d := range h.Deliveries(t, deliveryRoutes[0], w.ID) {
		assert.Equal(t, "http_request_failed", d.ResponseCode, "%s", d.Summary)
	}

	l, err := net.Listen("tcp", addr)
	require.NoError(t, err, "listen on the receiver's address again")
	rc := &receiver{URL: url}
	rc.srv = httptest.NewUnstartedServer(http.HandlerFunc(rc.serve))
	rc.srv.Listener = l
	rc.srv.Start()
	t.Cleanup(rc.srv.Close)

	waitUntil(t, 60*time.Second, "every event once the receiver is back", func() bool { return len(rc.Deliveries()) >= events })
	time.Sleep(settle)
	seen := map[string]int{}
	for _, r := range rc.Deliveries() {
		verifyDelivery(t, r, wantDelivery{WebhookID: w.ID, Topic: "order.updated", Secret: sec, Sources: h.Sources()})
		seen[string(r.Body)]++
	}
	assert.Len(t, seen, events, "every event arrived")
	for body, n := range seen {
		assert.Equal(t, 1, n, "%s arrived once", body)
	}
	assert.Equal(t, 0, h.Stored(t, w.ID).FailureCount, "no delivery failed")
	assert.Equal(t, "active", h.GetWebhook(t, w.ID).Status)
}
