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

// eventsEnv is a hook environment whose module has a service key (a read
// key of the stand-in) and a read_write key of the stand-in for the shop's
// own API clients.
type eventsEnv struct {
	*hookEnv
	Shop standin.Key
}

// hooksInV1AndV3 creates two webhooks on topic, through wc/v1 and wc/v3,
// each with its own receiver, waits until fan-out sees them and forgets
// what the stand-in has recorded so far.
func (e *eventsEnv) hooksInV1AndV3(t *testing.T, topic string) (v1, v3 *receiver) {
	v1, v3 = newHookReceiver(t, nil), newHookReceiver(t, nil)
	e.createHook(t, "/wp-json/wc/v1/webhooks", topic, v1.URL)
	e.createHook(t, "/wp-json/wc/v3/webhooks", topic, v3.URL)
	time.Sleep(fanoutCacheWait)
	e.Standin.Reset()
	return v1, v3
}

func newEventsEnv(t *testing.T) *eventsEnv {
	t.Helper()
	h := newHookEnv(t, dispatchBlock(true))
	shop := standin.NewKey(standin.ManagerID, standin.PermReadWrite)
	svc := standin.NewKey(standin.ManagerID, standin.PermRead)
	h.Standin.AddKey(shop)
	h.Standin.AddKey(svc)
	cf := h.Caddyfile(h.opts)
	withKey := strings.ReplaceAll(cf, "\t\thome_url ", "\t\tservice_key "+svc.ConsumerKey+":"+svc.ConsumerSecret+"\n\t\thome_url ")
	require.NotEqual(t, cf, withKey)
	h.Caddy.reload(withKey)
	return &eventsEnv{hookEnv: h, Shop: shop}
}

// Write sends a write of the shop's own API client through the module.
func (e *eventsEnv) Write(t *testing.T, method, path, body string, extra ...string) response {
	t.Helper()
	hdr := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(extra); i += 2 {
		hdr.Set(extra[i], extra[i+1])
	}
	req := do(t, e.C, method, e.HTTPSBase+path, []byte(body), withBasic(hdr, e.Shop))
	return req
}

func withBasic(h http.Header, k standin.Key) http.Header {
	r, _ := http.NewRequest("GET", "http://x", nil)
	r.SetBasicAuth(k.ConsumerKey, k.ConsumerSecret)
	h.Set("Authorization", r.Header.Get("Authorization"))
	return h
}

// createHook creates a webhook through a namespace's create route.
func (e *eventsEnv) createHook(t *testing.T, path, topic, url string) int64 {
	t.Helper()
	body := fmt.Sprintf(`{"topic":%q,"delivery_url":%q,"secret":"s3cret"}`, topic, url)
	if strings.HasPrefix(path, "/wc-api/") {
		body = `{"webhook":` + body + `}`
	}
	r := e.API(t, "POST", path, body)
	require.Equal(t, 201, r.Status, "%s: %s", path, r.Body)
	var item struct {
		ID      int64 `json:"id"`
		Webhook struct {
			ID int64 `json:"id"`
		} `json:"webhook"`
	}
	r.JSON(t, &item)
	if item.ID == 0 {
		item.ID = item.Webhook.ID
	}
	require.Positive(t, item.ID)
	return item.ID
}

func idOf(t *testing.T, r response) int64 {
	t.Helper()
	var m map[string]json.RawMessage
	r.JSON(t, &m)
	for _, k := range []string{"order", "product", "customer", "coupon"} {
		if inner, ok := m[k]; ok {
			require.NoError(t, json.Unmarshal(inner, &m))
		}
	}
	var id int64
	require.NoError(t, json.Unmarshal(m["id"], &id), "%s", r.Body)
	return id
}

// TestEventsFromRESTWrites: REST writes in every version and URL form,
// batch, refunds, variations, trash and force delete, through the module,
// give exactly the topic events WooCommerce fires, once each, with the
// payload of each webhook's API version (from the write's answer when it
// is that representation, else read with the service key).
func TestEventsFromRESTWrites(t *testing.T) {
	e := newEventsEnv(t)
	rc := newHookReceiver(t, nil)
	hookOf := map[string]int64{}
	versionOf := map[string]string{}
	for _, s := range []struct {
		path, version string
		topics        []string
	}{
		{"/wp-json/wc/v1/webhooks", "v1", []string{"order.created", "order.updated", "order.deleted"}},
		{"/wp-json/wc/v3/webhooks", "v3", []string{"product.created", "product.updated", "product.deleted"}},
		{"/wc-api/v3/webhooks", "legacy", []string{"customer.created", "customer.updated", "customer.deleted", "coupon.created"}},
		{"/wp-json/wc/v2/webhooks", "v2", []string{"coupon.updated"}},
	} {
		for _, topic := range s.topics {
			hookOf[topic] = e.createHook(t, s.path, topic, rc.URL)
			versionOf[topic] = s.version
		}
	}
	time.Sleep(fanoutCacheWait)

	type want struct {
		topic string
		id    int64
		body  []byte // exact payload when known
	}
	var wants []want

	// Orders (webhooks in wp_api_v1): created through v3 (payload read in
	// v1), updated through v1 (the answer is the payload), a refund
	// through ?rest_route= on v2, trash through v3.
	r := e.Write(t, "POST", "/wp-json/wc/v3/orders", `{"status":"pending"}`)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	order := idOf(t, r)
	wants = append(wants, want{"order.created", order, nil})
	r = e.Write(t, "PUT", fmt.Sprintf("/wp-json/wc/v1/orders/%d", order), `{"status":"processing"}`)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	wants = append(wants, want{"order.updated", order, r.Body})
	r = e.Write(t, "POST", fmt.Sprintf("/?rest_route=/wc/v2/orders/%d/refunds", order), `{"amount":"1.00"}`)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	// The refund's order.updated needs another state of the order: the
	// refund changed its date_modified.
	wants = append(wants, want{"order.updated", order, nil})
	r = e.Write(t, "DELETE", fmt.Sprintf("/wp-json/wc/v3/orders/%d", order), "")
	require.Equal(t, 200, r.Status, "%s", r.Body)
	wants = append(wants, want{"order.deleted", order, []byte(fmt.Sprintf(`{"id":%d}`, order))})
	// A checkout draft fires nothing; a failed write fires nothing.
	r = e.Write(t, "POST", "/wp-json/wc/v3/orders", `{"status":"checkout-draft"}`)
	require.Equal(t, 201, r.Status)
	r = e.Write(t, "PUT", "/wp-json/wc/v3/orders/999999", `{"status":"processing"}`)
	require.Equal(t, 400, r.Status)

	// Products (webhooks in wp_api_v3): create, batch touching one id
	// twice and a missing id, variations, force delete; an auto-draft
	// fires nothing.
	r = e.Write(t, "POST", "/wp-json/wc/v3/products", `{"name":"Hoodie"}`)
	require.Equal(t, 201, r.Status)
	product := idOf(t, r)
	wants = append(wants, want{"product.created", product, r.Body})
	r = e.Write(t, "POST", "/wp-json/wc/v3/products", `{"name":"Draft","status":"auto-draft"}`)
	require.Equal(t, 201, r.Status)
	r = e.Write(t, "POST", "/wp-json/wc/v3/products/batch",
		fmt.Sprintf(`{"create":[{"name":"Cap"}],"update":[{"id":%d,"name":"A"},{"id":%d,"name":"B"},{"id":999999}]}`, product, product))
	require.Equal(t, 200, r.Status, "%s", r.Body)
	var batch struct{ Create, Update []json.RawMessage }
	r.JSON(t, &batch)
	require.Len(t, batch.Create, 1)
	var capID struct{ ID int64 }
	require.NoError(t, json.Unmarshal(batch.Create[0], &capID))
	wants = append(wants, want{"product.created", capID.ID, batch.Create[0]}, want{"product.updated", product, batch.Update[0]})
	r = e.Write(t, "POST", fmt.Sprintf("/wp-json/wc/v3/products/%d/variations", product), `{"name":"Red"}`)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	variation := idOf(t, r)
	wants = append(wants, want{"product.created", variation, nil})
	r = e.Write(t, "POST", fmt.Sprintf("/wp-json/wc/v3/products/%d/variations/%d", product, variation), `{"name":"Blue"}`, "X-HTTP-Method-Override", "PATCH")
	require.Equal(t, 200, r.Status, "%s", r.Body)
	wants = append(wants, want{"product.updated", variation, nil})
	r = e.Write(t, "DELETE", fmt.Sprintf("/wp-json/wc/v3/products/%d?force=true", capID.ID), "")
	require.Equal(t, 200, r.Status, "%s", r.Body)
	wants = append(wants, want{"product.deleted", capID.ID, []byte(fmt.Sprintf(`{"id":%d}`, capID.ID))})

	// Customers (legacy_v3 webhooks): legacy create and update (the
	// wrapped answer is the payload), delete through REST.
	r = e.Write(t, "POST", "/wc-api/v3/customers", `{"customer":{"name":"Ann"}}`)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	customer := idOf(t, r)
	wants = append(wants, want{"customer.created", customer, r.Body})
	r = e.Write(t, "PUT", fmt.Sprintf("/wc-api/v3/customers/%d", customer), `{"customer":{"name":"Anne"}}`)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	wants = append(wants, want{"customer.updated", customer, r.Body})
	r = e.Write(t, "DELETE", fmt.Sprintf("/wp-json/wc/v3/customers/%d?force=true", customer), "")
	require.Equal(t, 200, r.Status, "%s", r.Body)
	wants = append(wants, want{"customer.deleted", customer, []byte(fmt.Sprintf(`{"id":%d}`, customer))})

	// Coupons: created through v3 for a legacy_v3 webhook (read in the
	// legacy form), updated through v2 for a wp_api_v2 webhook.
	r = e.Write(t, "POST", "/wp-json/wc/v3/coupons", `{"name":"SALE"}`)
	require.Equal(t, 201, r.Status)
	coupon := idOf(t, r)
	wants = append(wants, want{"coupon.created", coupon, nil})
	r = e.Write(t, "PUT", fmt.Sprintf("/wp-json/wc/v2/coupons/%d", coupon), `{"name":"SALE2"}`)
	require.Equal(t, 200, r.Status)
	wants = append(wants, want{"coupon.updated", coupon, r.Body})

	waitUntil(t, 30*time.Second, fmt.Sprintf("%d deliveries", len(wants)), func() bool { return len(rc.Deliveries()) >= len(wants) })
	time.Sleep(settle)
	got := rc.Deliveries()
	t.Logf("%d deliveries, %d expected", len(got), len(wants))

	// Reads with the service key: once per event whose webhooks' version
	// the answer was not (order created through v3 and the refund for v1,
	// the variation's two events, the coupon for legacy_v3).
	var reads []string
	for _, rq := range e.Standin.Requests() {
		if rq.Header.Get("User-Agent") == "caddy-wc-webhooks events" {
			reads = append(reads, rq.Method+" "+rq.RequestURI)
			ck, _, _ := (&http.Request{Header: rq.Header}).BasicAuth()
			assert.NotEqual(t, e.Shop.ConsumerKey, ck, "reads use the service key, not the client's")
			assert.Equal(t, "https", rq.Header.Get("X-Forwarded-Proto"))
		}
	}
	assert.Equal(t, []string{
		fmt.Sprintf("GET /?rest_route=%%2Fwc%%2Fv1%%2Forders%%2F%d", order),
		fmt.Sprintf("GET /?rest_route=%%2Fwc%%2Fv1%%2Forders%%2F%d", order),
		fmt.Sprintf("GET /?rest_route=%%2Fwc%%2Fv3%%2Fproducts%%2F%d", variation),
		fmt.Sprintf("GET /?rest_route=%%2Fwc%%2Fv3%%2Fproducts%%2F%d", variation),
		fmt.Sprintf("GET /?wc-api-version=3&wc-api-route=%%2Fcoupons%%2F%d", coupon),
	}, reads)
	key := func(topic string, id int64) string { return fmt.Sprintf("%s %d", topic, id) }
	var gotKeys, wantKeys []string
	byKey := map[string][]hookRequest{}
	for _, d := range got {
		topic := d.Header.Get("X-WC-Webhook-Topic")
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(d.Body, &m), "%s", d.Body)
		for _, k := range []string{"order", "product", "customer", "coupon"} {
			if inner, ok := m[k]; ok {
				require.NoError(t, json.Unmarshal(inner, &m))
			}
		}
		var id int64
		require.NoError(t, json.Unmarshal(m["id"], &id))
		k := key(topic, id)
		gotKeys = append(gotKeys, k)
		byKey[k] = append(byKey[k], d)
		assert.Equal(t, fmt.Sprint(hookOf[topic]), d.Header.Get("X-WC-Webhook-ID"), k)
	}
	for _, w := range wants {
		wantKeys = append(wantKeys, key(w.topic, w.id))
	}
	sort.Strings(gotKeys)
	sort.Strings(wantKeys)
	// Two order.updated of one order (update, then the refund) are two
	// changes; everything else once.
	assert.Equal(t, wantKeys, gotKeys, "exactly the expected events, once each")

	for _, w := range wants {
		ds := byKey[key(w.topic, w.id)]
		if len(ds) == 0 {
			continue
		}
		body := ds[0].Body
		if w.body != nil && len(ds) == 1 {
			assert.Equal(t, string(w.body), string(body), "%s %d: the payload is the write's answer, byte for byte", w.topic, w.id)
		}
		if strings.HasSuffix(w.topic, ".deleted") {
			continue
		}
		for _, d := range ds {
			assertVersion(t, versionOf[w.topic], w.topic, d.Body)
		}
	}
}

// assertVersion checks a payload is the representation of a version.
func assertVersion(t *testing.T, version, topic string, body []byte) {
	t.Helper()
	resource, _, _ := strings.Cut(topic, ".")
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &m))
	if version == "legacy" {
		require.Contains(t, m, resource, "%s: the legacy payload is wrapped: %s", topic, body)
		require.NoError(t, json.Unmarshal(m[resource], &m))
		assert.Contains(t, m, "updated_at", "%s: legacy dates", topic)
		return
	}
	assert.NotContains(t, m, resource, "%s: a REST payload is not wrapped", topic)
	assert.Contains(t, string(m["_links"]), "/wp-json/wc/"+version+"/", "%s: links of %s: %s", topic, version, body)
	_, gmt := m["date_modified_gmt"]
	assert.Equal(t, version != "v1", gmt, "%s: v1 has no _gmt dates, v2/v3 do: %s", topic, body)
}

// TestEventsMixedVersions: webhooks of one topic created through different
// API versions each get the resource in their own version, once.
func TestEventsMixedVersions(t *testing.T) {
	e := newEventsEnv(t)
	v1, legacy := newHookReceiver(t, nil), newHookReceiver(t, nil)
	e.createHook(t, "/wp-json/wc/v1/webhooks", "product.created", v1.URL)
	e.createHook(t, "/wc-api/v3/webhooks", "product.created", legacy.URL)
	time.Sleep(fanoutCacheWait)

	r := e.Write(t, "POST", "/wp-json/wc/v3/products", `{"name":"Mug","status":"publish"}`)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	waitUntil(t, 20*time.Second, "one delivery at each receiver", func() bool {
		return len(v1.Deliveries()) >= 1 && len(legacy.Deliveries()) >= 1
	})
	time.Sleep(500 * time.Millisecond) // nothing more may follow
	require.Len(t, v1.Deliveries(), 1)
	require.Len(t, legacy.Deliveries(), 1)
	assertVersion(t, "v1", "product.created", v1.Deliveries()[0].Body)
	assertVersion(t, "legacy", "product.created", legacy.Deliveries()[0].Body)
}
