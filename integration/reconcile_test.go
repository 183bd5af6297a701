package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/standin"
)

// reconcileInterval is the tests' reconciliation interval. It is below
// the module's 10s minimum, which the test-only environment variable
// WC_WEBHOOKS_RECONCILE_MIN lowers for the Caddy children (they inherit
// the test's environment).
const reconcileInterval = 2 * time.Second

// reconcileCaddyfile is e's Caddyfile with the service key and
// `reconcile 2s` in both module sites.
func reconcileCaddyfile(t testing.TB, e *testEnv, svc standin.Key) string {
	t.Helper()
	cf := e.Caddyfile(e.opts)
	out := strings.ReplaceAll(cf, "\t\thome_url ", fmt.Sprintf("\t\tservice_key %s:%s\n\t\treconcile %s\n\t\thome_url ",
		svc.ConsumerKey, svc.ConsumerSecret, reconcileInterval))
	require.NotEqual(t, cf, out)
	return out
}

// newReconcileEnv is an events environment whose Caddy reconciles every
// 2s, plus a second Caddy process (twin) on the same Redis, stand-in and
// site, configured the same way.
func newReconcileEnv(t *testing.T) (e *eventsEnv, twin *testEnv) {
	t.Setenv("WC_WEBHOOKS_RECONCILE_MIN", "1s")
	h := newHookEnv(t, dispatchBlock(true))
	shop := standin.NewKey(standin.ManagerID, standin.PermReadWrite)
	svc := standin.NewKey(standin.ManagerID, standin.PermRead)
	h.Standin.AddKey(shop)
	h.Standin.AddKey(svc)
	h.Caddy.reload(reconcileCaddyfile(t, h.testEnv, svc))

	tw := h.testEnv.twinWith(t, func(tw *testEnv) string { return reconcileCaddyfile(t, tw, svc) })
	return &eventsEnv{hookEnv: h, Shop: shop}, tw
}

// eventKeys are the "topic id" of a receiver's deliveries (pings left
// out), sorted, with the payload of each.
func eventKeys(t *testing.T, rc *receiver) ([]string, map[string][]byte) {
	t.Helper()
	var keys []string
	bodies := map[string][]byte{}
	for _, d := range rc.Deliveries() {
		if d.IsPing() {
			continue
		}
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(d.Body, &m), "%s", d.Body)
		for _, k := range []string{"order", "product", "customer", "coupon"} {
			if inner, ok := m[k]; ok {
				require.NoError(t, json.Unmarshal(inner, &m))
			}
		}
		var id int64
		require.NoError(t, json.Unmarshal(m["id"], &id), "%s", d.Body)
		k := fmt.Sprintf("%s %d", d.Header.Get("X-WC-Webhook-Topic"), id)
		keys = append(keys, k)
		bodies[k] = d.Body
	}
	sort.Strings(keys)
	return keys, bodies
}

// TestReconcile: changes made inside WooCommerce, never through the proxy
// (an order created by a payment callback, cron changing an order's
// status, trash and restore from WP-CLI, a product and a customer created
// by an import), arrive through reconciliation exactly once with the
// payload of each webhook's API version; changes made through the proxy
// are not repeated by it, nor is a proxy-created order's later change
// lost; two Caddy processes sharing Redis emit nothing twice.
func TestReconcile(t *testing.T) {
	e, twin := newReconcileEnv(t)
	ctx := context.Background()
	st := e.Standin

	// History from before reconciliation started: never replayed.
	updatedLater := st.CreateResource("order", "pending")
	trashedLater := st.CreateResource("order", "pending")
	restoredLater := st.CreateResource("order", "pending")
	require.True(t, st.TrashResource(restoredLater))
	updatedViaProxy := st.CreateResource("order", "pending")
	trashedViaProxy := st.CreateResource("order", "pending")
	// The stand-in's clock runs a second ahead per change: let the wall
	// clock pass it, so that these are history for the first pass.
	last, _ := st.Resource(trashedViaProxy)
	time.Sleep(time.Until(last.Modified.Add(2 * time.Second)))

	v1, v3, legacy := newHookReceiver(t, nil), newHookReceiver(t, nil), newHookReceiver(t, nil)
	for _, ev := range []string{"created", "updated", "deleted", "restored"} {
		e.createHook(t, "/wp-json/wc/v1/webhooks", "order."+ev, v1.URL)
		e.createHook(t, "/wp-json/wc/v3/webhooks", "order."+ev, v3.URL)
	}
	e.createHook(t, "/wc-api/v3/webhooks", "product.created", legacy.URL)
	e.createHook(t, "/wp-json/wc/v3/webhooks", "customer.created", v3.URL)
	// The twin sees traffic for the site too, so both processes reconcile.
	r := do(t, twin.Client(false), "GET", twin.HTTPSBase+"/wp-json/wc/v3/webhooks", nil, basic(e.Key))
	require.Equal(t, 200, r.Status, "%s", r.Body)
	time.Sleep(fanoutCacheWait)
	waitUntil(t, 30*time.Second, "a pass that snapshots the orders' trash", func() bool {
		return e.RDB.SIsMember(ctx, "wcwh:{shop}:rc:tinit", "order").Val()
	})
	require.Equal(t, []string{fmt.Sprint(restoredLater)}, e.RDB.SMembers(ctx, "wcwh:{shop}:rc:trash:order").Val())

	// Behind the proxy's back.
	createdBehind := st.CreateResource("order", "processing")
	require.True(t, st.TouchResource(updatedLater, "completed"))
	require.True(t, st.TrashResource(trashedLater))
	require.True(t, st.RestoreResource(restoredLater))
	product := st.CreateResource("product", "publish")
	customer := st.CreateResource("customer", "")
	st.CreateResource("product", "auto-draft") // fires nothing

	// Through the proxy: an order created (order.created from the proxy;
	// the payment callback's change after it comes from reconciliation),
	// an update and a trash (from the proxy only).
	r = e.Write(t, "POST", "/wp-json/wc/v3/orders", `{"status":"pending"}`)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	viaProxy := idOf(t, r)
	r = e.Write(t, "PUT", fmt.Sprintf("/wp-json/wc/v3/orders/%d", updatedViaProxy), `{"status":"on-hold"}`)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	r = e.Write(t, "DELETE", fmt.Sprintf("/wp-json/wc/v3/orders/%d", trashedViaProxy), "")
	require.Equal(t, 200, r.Status, "%s", r.Body)
	time.Sleep(reconcileInterval) // a pass sees the proxy's order first
	require.True(t, st.TouchResource(viaProxy, "processing"))

	wantOrders := []string{
		fmt.Sprintf("order.created %d", createdBehind),
		fmt.Sprintf("order.created %d", viaProxy),
		fmt.Sprintf("order.deleted %d", trashedLater),
		fmt.Sprintf("order.deleted %d", trashedViaProxy),
		fmt.Sprintf("order.restored %d", restoredLater),
		fmt.Sprintf("order.updated %d", updatedLater),
		fmt.Sprintf("order.updated %d", updatedViaProxy),
		fmt.Sprintf("order.updated %d", viaProxy),
	}
	sort.Strings(wantOrders)
	wantV3 := append([]string{fmt.Sprintf("customer.created %d", customer)}, wantOrders...)
	sort.Strings(wantV3)
	waitUntil(t, 60*time.Second, "every event at every receiver", func() bool {
		a, _ := eventKeys(t, v1)
		b, _ := eventKeys(t, v3)
		c, _ := eventKeys(t, legacy)
		return len(a) >= len(wantOrders) && len(b) >= len(wantV3) && len(c) >= 1
	})
	// Several more passes of both processes: nothing more may follow.
	time.Sleep(3*reconcileInterval + settle)

	got1, bodies1 := eventKeys(t, v1)
	got3, bodies3 := eventKeys(t, v3)
	gotL, bodiesL := eventKeys(t, legacy)
	assert.Equal(t, wantOrders, got1, "wp_api_v1 receiver: every change once")
	assert.Equal(t, wantV3, got3, "wp_api_v3 receiver: every change once")
	assert.Equal(t, []string{fmt.Sprintf("product.created %d", product)}, gotL, "legacy receiver")
	for k, b := range bodies1 {
		if strings.Contains(k, ".deleted ") {
			assert.JSONEq(t, fmt.Sprintf(`{"id":%s}`, strings.Fields(k)[1]), string(b), k)
			continue
		}
		assertVersion(t, "v1", strings.Fields(k)[0], b)
	}
	for k, b := range bodies3 {
		if !strings.Contains(k, ".deleted ") {
			assertVersion(t, "v3", strings.Fields(k)[0], b)
		}
	}
	assertVersion(t, "legacy", "product.created", bodiesL[fmt.Sprintf("product.created %d", product)])

	// The later state: the reconciled update of the proxy's order carries
	// the callback's status.
	var o struct{ Status string }
	require.NoError(t, json.Unmarshal(bodies3[fmt.Sprintf("order.updated %d", viaProxy)], &o))
	assert.Equal(t, "processing", o.Status)
}
