package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/standin"
)

// TestServiceKeyOverOAuth: a WordPress that does not trust
// X-Forwarded-Proto (so is_ssl() is false behind the proxy) refuses the
// service key's Basic auth. The module's reads then go signed with OAuth
// 1.0a and every event still arrives once with its webhook's payload
// version: a Store API checkout's order (read per version), a
// registration's customer (looked up in the customers list, then read),
// and reconciliation's lists and reads (wc/v3 and legacy v3). After the
// first refusal the site reads with OAuth at once. It also checks that a
// handler with a fixed site reconciles from a page view alone: after a
// reload, no API request or watched write reaches the new handler before
// a change behind the proxy's back arrives through reconciliation.
func TestServiceKeyOverOAuth(t *testing.T) {
	t.Setenv("WC_WEBHOOKS_RECONCILE_MIN", "1s")
	h := newHookEnv(t, dispatchBlock(true))
	svc := standin.NewKey(standin.ManagerID, standin.PermRead)
	h.Standin.AddKey(svc)
	h.Standin.SetTrustForwardedProto(false)
	cf := reconcileCaddyfile(t, h.testEnv, svc)
	h.Caddy.reload(cf)
	e := &eventsEnv{hookEnv: h}
	st := h.Standin

	v1, v3, legacy := newHookReceiver(t, nil), newHookReceiver(t, nil), newHookReceiver(t, nil)
	e.createHook(t, "/wp-json/wc/v1/webhooks", "order.created", v1.URL)
	for _, topic := range []string{"order.created", "order.updated", "customer.created"} {
		e.createHook(t, "/wp-json/wc/v3/webhooks", topic, v3.URL)
	}
	e.createHook(t, "/wc-api/v3/webhooks", "order.updated", legacy.URL)
	time.Sleep(fanoutCacheWait)

	// A new handler (another interval) that sees nothing but page views.
	h.Caddy.reload(strings.ReplaceAll(cf, fmt.Sprintf("reconcile %s", reconcileInterval), "reconcile 1500ms"))
	st.Reset()
	page := func() {
		t.Helper()
		r := do(t, e.C, "GET", e.HTTPSBase+"/", nil, nil)
		require.Equal(t, 200, r.Status)
	}
	page()
	time.Sleep(2 * reconcileInterval) // a pass of the new handler sets its window
	behind := st.CreateResource("order", "processing")
	waitUntil(t, 30*time.Second, "the order created behind the proxy's back, through reconciliation", func() bool {
		page()
		keys, _ := eventKeys(t, v3)
		return len(keys) >= 1
	})

	// Through the proxy: a Store API checkout and a registration.
	r := do(t, e.C, "POST", e.HTTPSBase+"/wp-json/wc/store/v1/checkout", []byte(`{"billing_address":{"email":"cy@example.com"},"payment_method":"cod"}`),
		http.Header{"Content-Type": {"application/json"}})
	require.Equal(t, 200, r.Status, "%s", r.Body)
	var placed struct {
		OrderID int64 `json:"order_id"`
	}
	r.JSON(t, &placed)
	r = do(t, e.C, "POST", e.HTTPSBase+"/my-account/", []byte("email=ann%40example.com&woocommerce-register-nonce=n&register=Register"),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	require.Equal(t, 302, r.Status, "%s", r.Body)
	ann, ok := st.Customer("ann")
	require.True(t, ok)
	// Behind the proxy's back again: an update for wc/v3 and legacy v3.
	require.True(t, st.TouchResource(behind, "completed"))

	wantV3 := []string{
		fmt.Sprintf("customer.created %d", ann.ID),
		fmt.Sprintf("order.created %d", behind),
		fmt.Sprintf("order.created %d", placed.OrderID),
		fmt.Sprintf("order.updated %d", behind),
	}
	wantV1 := []string{fmt.Sprintf("order.created %d", behind), fmt.Sprintf("order.created %d", placed.OrderID)}
	waitUntil(t, 60*time.Second, "every event at every receiver", func() bool {
		a, _ := eventKeys(t, v1)
		b, _ := eventKeys(t, v3)
		c, _ := eventKeys(t, legacy)
		return len(a) >= len(wantV1) && len(b) >= len(wantV3) && len(c) >= 1
	})
	time.Sleep(2*reconcileInterval + settle) // nothing more may follow

	got1, bodies1 := eventKeys(t, v1)
	got3, bodies3 := eventKeys(t, v3)
	gotL, bodiesL := eventKeys(t, legacy)
	assert.Equal(t, wantV1, got1)
	assert.Equal(t, wantV3, got3)
	assert.Equal(t, []string{fmt.Sprintf("order.updated %d", behind)}, gotL)
	for k, b := range bodies1 {
		assertVersion(t, "v1", strings.Fields(k)[0], b)
	}
	for k, b := range bodies3 {
		assertVersion(t, "v3", strings.Fields(k)[0], b)
	}
	for k, b := range bodiesL {
		assertVersion(t, "legacy", strings.Fields(k)[0], b)
	}

	// The module's reads: Basic auth refused once, OAuth from then on.
	var basicReads, oauthReads int
	for _, rq := range st.Requests() {
		if rq.Header.Get("User-Agent") != "caddy-wc-webhooks events" {
			continue
		}
		switch {
		case strings.HasPrefix(rq.Header.Get("Authorization"), "Basic "):
			basicReads++
		case strings.Contains(rq.RequestURI, "oauth_signature="):
			oauthReads++
			assert.NotContains(t, rq.RequestURI, svc.ConsumerSecret)
		}
	}
	assert.Positive(t, oauthReads)
	assert.LessOrEqual(t, basicReads, 2, "the site remembers that OAuth works (reads already under way may still try Basic)")
}
