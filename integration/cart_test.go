package integration

import (
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

// TestEventsFromAddToCart: every successful add to cart through the
// module (?wc-ajax=add_to_cart, the classic form with add-to-cart in the
// body or the query, answered 200 or 302, and the Store API's add-item in
// its pretty and ?rest_route= forms) gives exactly one
// action.woocommerce_add_to_cart to each webhook of the topic, whatever
// its API version, with WooCommerce's payload
// {"action":"woocommerce_add_to_cart","arg":"<cart item key>"}; failed
// adds and other form posts give nothing, and the upstream gets the
// request bodies unchanged.
func TestEventsFromAddToCart(t *testing.T) {
	e := newEventsEnv(t)
	v1, v3 := e.hooksInV1AndV3(t, "action.woocommerce_add_to_cart")

	hat, scarf, draft := e.Standin.AddProduct("publish"), e.Standin.AddProduct("publish"), e.Standin.AddProduct("draft")
	hash := "" // the browser's woocommerce_cart_hash cookie
	send := func(path, contentType, body string) response {
		t.Helper()
		h := http.Header{"Content-Type": {contentType}}
		if hash != "" {
			h.Set("Cookie", "woocommerce_cart_hash="+hash)
		}
		r := do(t, e.C, "POST", e.HTTPSBase+path, []byte(body), h)
		for _, c := range (&http.Response{Header: r.Header}).Cookies() {
			if c.Name == "woocommerce_cart_hash" {
				hash = c.Value
			}
		}
		return r
	}
	const form = "application/x-www-form-urlencoded; charset=UTF-8"
	var want []string
	added := func(id int64) {
		want = append(want, fmt.Sprintf(`{"action":"woocommerce_add_to_cart","arg":"%s"}`, standin.CartItemKey(id)))
	}

	// AJAX add to cart.
	r := send("/?wc-ajax=add_to_cart", form, fmt.Sprintf("product_sku=&product_id=%d&quantity=1", hat))
	require.Equal(t, 200, r.Status)
	require.Contains(t, string(r.Body), `"cart_hash"`)
	added(hat)
	// The classic form, add-to-cart in the body, answered with the page.
	formBody := fmt.Sprintf("quantity=1&add-to-cart=%d", scarf)
	r = send("/product/scarf/", form, formBody)
	require.Equal(t, 200, r.Status)
	require.Contains(t, string(r.Body), "woocommerce-message")
	added(scarf)
	// The form with add-to-cart in the query, redirected to the cart.
	r = send(fmt.Sprintf("/shop/?add-to-cart=%d", hat), form, "quantity=2&redirect=cart")
	require.Equal(t, http.StatusFound, r.Status)
	added(hat)
	// The Store API, both URL forms.
	r = send("/wp-json/wc/store/v1/cart/add-item", "application/json", fmt.Sprintf(`{"id":%d,"quantity":2}`, scarf))
	require.Equal(t, 201, r.Status, "%s", r.Body)
	added(scarf)
	r = send("/?rest_route=/wc/store/cart/add-item", "application/json", fmt.Sprintf(`{"id":%d}`, hat))
	require.Equal(t, 201, r.Status, "%s", r.Body)
	added(hat)

	// Failures (a product that cannot be bought) and a form that adds
	// nothing fire nothing.
	r = send("/?wc-ajax=add_to_cart", form, fmt.Sprintf("product_id=%d&quantity=1", draft))
	require.Equal(t, 200, r.Status)
	require.Contains(t, string(r.Body), `"error":true`)
	r = send("/product/draft/", form, fmt.Sprintf("quantity=1&add-to-cart=%d", draft))
	require.Equal(t, 200, r.Status)
	require.Contains(t, string(r.Body), "woocommerce-error")
	r = send("/wp-json/wc/store/v1/cart/add-item", "application/json", fmt.Sprintf(`{"id":%d}`, draft))
	require.Equal(t, 400, r.Status, "%s", r.Body)
	send("/my-account/", form, "username=ann&password=pw&login=Log+in")

	waitUntil(t, 30*time.Second, "one delivery per add at each receiver", func() bool {
		return len(v1.Deliveries()) >= len(want) && len(v3.Deliveries()) >= len(want)
	})
	time.Sleep(settle) // nothing more may follow

	sort.Strings(want)
	for version, rc := range map[string]*receiver{"v1": v1, "v3": v3} {
		var got []string
		for _, d := range rc.Deliveries() {
			assert.Equal(t, "action.woocommerce_add_to_cart", d.Header.Get("X-WC-Webhook-Topic"))
			got = append(got, string(d.Body))
		}
		sort.Strings(got)
		assert.Equal(t, want, got, "%s: exactly one event per successful add, WooCommerce's bytes", version)
	}

	// The form's body reached the upstream as sent.
	var bodies []string
	for _, rq := range e.Standin.Requests() {
		if strings.HasPrefix(rq.RequestURI, "/product/scarf/") {
			bodies = append(bodies, string(rq.Body))
		}
	}
	assert.Equal(t, []string{formBody}, bodies)
}
