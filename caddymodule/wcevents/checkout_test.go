package wcevents

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClassifyCheckoutDoors(t *testing.T) {
	classic := Watch{Door: DoorCheckout, Resource: "order", Op: OpCreate}
	store := Watch{Door: DoorStoreCheckout, Resource: "order", Op: OpCreate}
	cases := []struct {
		method, target string
		want           Watch
		ok             bool
	}{
		{"POST", "/?wc-ajax=checkout", classic, true},
		{"POST", "/checkout/?wc-ajax=checkout&elementor_page_id=12", classic, true},
		{"POST", "/shop/?x=1&wc-ajax=checkout", classic, true},
		{"POST", "/wp-json/wc/store/v1/checkout", store, true},
		{"POST", "/wp-json/wc/store/checkout/", store, true},
		{"POST", "/index.php/wp-json/WC/Store/V1/Checkout", store, true},
		{"POST", "/?rest_route=/wc/store/v1/checkout", store, true},
		{"POST", "/shop/?rest_route=%2Fwc%2Fstore%2Fcheckout", store, true},
		{"PUT", "/wp-json/wc/store/v1/checkout?_method=POST", store, true},
		// Not watched.
		{"GET", "/?wc-ajax=checkout", Watch{}, false},
		{"PUT", "/?wc-ajax=checkout", Watch{}, false},
		{"POST", "/?wc-ajax=update_order_review", Watch{}, false},
		{"POST", "/?wc-ajax=checkoutx", Watch{}, false},
		{"POST", "/?x-wc-ajax=checkout", Watch{}, false},
		{"POST", "/wc-ajax/checkout", Watch{}, false},
		{"GET", "/wp-json/wc/store/v1/checkout", Watch{}, false},
		{"PUT", "/wp-json/wc/store/v1/checkout", Watch{}, false},
		{"POST", "/wp-json/wc/store/v1/checkout?_method=PUT", Watch{}, false},
		{"POST", "/wp-json/wc/store/v1/checkout/15", Watch{}, false},
		{"POST", "/wp-json/wc/store/v1/cart/remove-item", Watch{}, false}, // add-item: cart.go
		{"POST", "/wp-json/wc/store/v2/checkout", Watch{}, false},
		// A REST request with wc-ajax in its query is a REST request.
		{"POST", "/wp-json/wc/v3/orders?wc-ajax=checkout", Watch{Resource: "order", Version: 3, Op: OpCreate, Plain: true}, true},
		{"POST", "/wp-json/wp/v2/posts?wc-ajax=checkout", Watch{}, false},
	}
	for _, tc := range cases {
		got, ok := Classify(httptest.NewRequest(tc.method, tc.target, nil))
		assert.Equal(t, tc.ok, ok, "%s %s", tc.method, tc.target)
		assert.Equal(t, tc.want, got, "%s %s", tc.method, tc.target)
	}
}

func TestDeriveClassicCheckout(t *testing.T) {
	w := watch(t, "POST", "/?wc-ajax=checkout")
	one := func(body string) []Change { return Derive(w, 200, jsonCT, []byte(body)) }

	// Payment needed: process_order_payment adds order_id.
	got := one(`{"result":"success","redirect":"https:\/\/shop\/checkout\/order-pay\/41\/?key=wc_order_x","order_id":41}`)
	assert.Equal(t, []Change{{Topic: "order.created", ID: 41}}, got)
	// A gateway's redirect elsewhere: order_id still names the order.
	got = one(`{"result":"success","redirect":"https:\/\/pay.example\/x?order-received=7","order_id":"42"}`)
	assert.Equal(t, []Change{{Topic: "order.created", ID: 42}}, got)
	// No payment needed: only the order-received URL names it.
	got = one(`{"result":"success","redirect":"https:\/\/shop\/checkout\/order-received\/43\/?key=wc_order_y"}`)
	assert.Equal(t, []Change{{Topic: "order.created", ID: 43}}, got)
	got = one(`{"result":"success","redirect":"https:\/\/shop\/?page_id=7&order-received=44&key=wc_order_z"}`)
	assert.Equal(t, []Change{{Topic: "order.created", ID: 44}}, got)

	// Failures and unusable answers give nothing.
	for _, body := range []string{
		`{"result":"failure","messages":"<ul class=\"woocommerce-error\"><li>Invalid payment method.<\/li><\/ul>","refresh":false,"reload":false}`,
		`{"result":"success","redirect":"https:\/\/shop\/thanks\/"}`,
		`{"result":"success","order_id":0}`,
		`{"result":"success","order_id":-3}`,
		`{"result":"success","order_id":{"x":1}}`,
		`{"order_id":45}`,
		`[1,2]`, `null`, `"success"`, `{`, ``,
	} {
		assert.Empty(t, one(body), "%s", body)
	}
	assert.Empty(t, Derive(w, 200, jsonCT, nil), "an uncaptured answer names no order")
	assert.Empty(t, Derive(w, 500, jsonCT, []byte(`{"result":"success","order_id":41}`)))
	assert.Empty(t, Derive(w, 200, http.Header{"Content-Type": {"text/html"}}, []byte(`{"result":"success","order_id":41}`)))
}

func TestDeriveStoreCheckout(t *testing.T) {
	w := watch(t, "POST", "/wp-json/wc/store/v1/checkout")
	body := `{"order_id":51,"status":"processing","order_key":"wc_order_a","order_number":"51","customer_note":"","customer_id":3,` +
		`"billing_address":{},"shipping_address":{},"payment_method":"cod","payment_result":{"payment_status":"success","payment_details":[],"redirect_url":"https:\/\/shop\/checkout\/order-received\/51\/?key=wc_order_a"},"extensions":{}}`
	got := Derive(w, 200, jsonCT, []byte(body))
	assert.Equal(t, []Change{{Topic: "order.created", ID: 51, Status: "processing"}, {Topic: "customer.updated", ID: 3}}, got,
		"no Item: the answer is not a REST order; the order's customer is saved")

	for _, body := range []string{
		`{"order_id":52,"status":"checkout-draft"}`,
		`{"order_id":52}`,
		`{"order_id":0,"status":"pending"}`,
		`{"code":"woocommerce_rest_checkout_process_payment_error","message":"x","data":{"status":400}}`,
		`[]`, `{`, ``,
	} {
		assert.Empty(t, Derive(w, 200, jsonCT, []byte(body)), "%s", body)
	}
	assert.Empty(t, Derive(w, 400, jsonCT, []byte(`{"order_id":53,"status":"failed"}`)))
	assert.Empty(t, Derive(w, 200, jsonCT, nil))
}

func TestReceivedOrder(t *testing.T) {
	assert.Equal(t, int64(9), receivedOrder("/checkout/order-received/9/"))
	assert.Equal(t, int64(9), receivedOrder("https://shop/en/checkout/order-received/9?key=k"))
	assert.Equal(t, int64(9), receivedOrder("/?order-received=9&key=k"))
	assert.Zero(t, receivedOrder("/checkout/order-received/"))
	assert.Zero(t, receivedOrder("/checkout/order-received/x9/"))
	assert.Zero(t, receivedOrder("/?order-received=99999999999999999999"))
	assert.Zero(t, receivedOrder("%zz"))
	assert.Zero(t, receivedOrder(""))
}

func TestClassifyCheckoutNotForAPIRequests(t *testing.T) {
	for _, target := range []string{
		"/wp-json/?wc-ajax=checkout",
		"/index.php/wp-json/wp/v2/posts?wc-ajax=checkout",
		"/?rest_route=/wp/v2/posts&wc-ajax=checkout",
		"/wc-api/v3/webhooks?wc-ajax=checkout",
		"/?wc-api-version=3&wc-api-route=/x&wc-ajax=checkout",
	} {
		_, ok := Classify(httptest.NewRequest("POST", target, nil))
		assert.False(t, ok, target)
	}
}
