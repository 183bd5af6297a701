package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/standin"
)

// TestEventsFromCheckouts: the classic checkout (?wc-ajax=checkout, with
// and without payment) and the Store API checkout (pretty and
// ?rest_route= forms), through the module, give exactly one order.created
// per placed order to each webhook, in the webhook's API version (read
// once per version with the service key: the answers are no REST order);
// failed checkouts give nothing.
func TestEventsFromCheckouts(t *testing.T) {
	e := newEventsEnv(t)
	v1, v3 := e.hooksInV1AndV3(t, "order.created")

	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=UTF-8"}, "X-Requested-With": {"XMLHttpRequest"}}
	jsonHdr := http.Header{"Content-Type": {"application/json"}}
	classic := func(path, body string) response {
		t.Helper()
		r := do(t, e.C, "POST", e.HTTPSBase+path, []byte(body), form.Clone())
		require.Equal(t, 200, r.Status, "%s", r.Body)
		return r
	}
	var orders []int64

	// Classic checkout needing payment: order_id in the answer.
	r := classic("/?wc-ajax=checkout", "billing_email=ann%40example.com&payment_method=bacs&woocommerce-process-checkout-nonce=abc")
	var paid struct {
		Result   string `json:"result"`
		OrderID  int64  `json:"order_id"`
		Redirect string `json:"redirect"`
	}
	r.JSON(t, &paid)
	require.Equal(t, "success", paid.Result)
	require.Positive(t, paid.OrderID)
	orders = append(orders, paid.OrderID)

	// Classic checkout without payment: only the order-received URL.
	r = classic("/checkout/?wc-ajax=checkout", "billing_email=bob%40example.com&woocommerce-process-checkout-nonce=abc")
	var free struct {
		Result   string          `json:"result"`
		OrderID  json.RawMessage `json:"order_id"`
		Redirect string          `json:"redirect"`
	}
	r.JSON(t, &free)
	require.Equal(t, "success", free.Result)
	require.Nil(t, free.OrderID, "no order_id without payment: %s", r.Body)
	_, after, ok := strings.Cut(free.Redirect, "/order-received/")
	require.True(t, ok, free.Redirect)
	var freeID int64
	_, err := fmt.Sscanf(after, "%d", &freeID)
	require.NoError(t, err)
	orders = append(orders, freeID)

	// Store API checkout, both URL forms.
	for _, path := range []string{"/wp-json/wc/store/v1/checkout", "/?rest_route=/wc/store/checkout"} {
		r = do(t, e.C, "POST", e.HTTPSBase+path, []byte(`{"billing_address":{"email":"cy@example.com"},"payment_method":"cod"}`), jsonHdr.Clone())
		require.Equal(t, 200, r.Status, "%s: %s", path, r.Body)
		var placed struct {
			OrderID int64  `json:"order_id"`
			Status  string `json:"status"`
		}
		r.JSON(t, &placed)
		require.Positive(t, placed.OrderID)
		require.Equal(t, "processing", placed.Status)
		orders = append(orders, placed.OrderID)
	}

	// Failed checkouts: a classic failure (200, result failure) and a
	// Store API error (400) create no order and fire nothing.
	r = classic("/?wc-ajax=checkout", "payment_method=bacs&woocommerce-process-checkout-nonce=abc")
	var failed struct {
		Result   string `json:"result"`
		Messages string `json:"messages"`
	}
	r.JSON(t, &failed)
	require.Equal(t, "failure", failed.Result)
	require.Equal(t, standin.CheckoutFailureMessages, failed.Messages)
	r = do(t, e.C, "POST", e.HTTPSBase+"/wp-json/wc/store/v1/checkout", []byte(`{"billing_address":{}}`), jsonHdr.Clone())
	require.Equal(t, 400, r.Status, "%s", r.Body)

	waitUntil(t, 30*time.Second, "one delivery per order at each receiver", func() bool {
		return len(v1.Deliveries()) >= len(orders) && len(v3.Deliveries()) >= len(orders)
	})
	time.Sleep(settle) // nothing more may follow

	want := append([]int64(nil), orders...)
	sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
	for version, rc := range map[string]*receiver{"v1": v1, "v3": v3} {
		var got []int64
		for _, d := range rc.Deliveries() {
			assert.Equal(t, "order.created", d.Header.Get("X-WC-Webhook-Topic"))
			var item struct {
				ID     int64  `json:"id"`
				Status string `json:"status"`
			}
			require.NoError(t, json.Unmarshal(d.Body, &item), "%s", d.Body)
			got = append(got, item.ID)
			assertVersion(t, version, "order.created", d.Body)
			res, ok := e.Standin.Resource(item.ID)
			require.True(t, ok)
			assert.Equal(t, res.Status, item.Status, "the order as it was placed")
		}
		sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
		assert.Equal(t, want, got, "%s: exactly one order.created per placed order", version)
	}

	// One read per order and version, with the service key.
	var reads []string
	for _, rq := range e.Standin.Requests() {
		if rq.Header.Get("User-Agent") == "caddy-wc-webhooks events" {
			reads = append(reads, rq.RequestURI)
			ck, _, _ := (&http.Request{Header: rq.Header}).BasicAuth()
			assert.NotEqual(t, e.Shop.ConsumerKey, ck)
		}
	}
	var wantReads []string
	for _, id := range orders {
		for _, v := range []string{"v1", "v3"} {
			wantReads = append(wantReads, fmt.Sprintf("/?rest_route=%%2Fwc%%2F%s%%2Forders%%2F%d", v, id))
		}
	}
	sort.Strings(reads)
	sort.Strings(wantReads)
	assert.Equal(t, wantReads, reads)
}
