package wcevents

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		method, target string
		header         http.Header
		want           Watch
		ok             bool
	}{
		{"POST", "/wp-json/wc/v3/orders", nil, Watch{Resource: "order", Version: 3, Op: OpCreate, Plain: true}, true},
		{"PUT", "/wp-json/wc/v2/products/15", nil, Watch{Resource: "product", Version: 2, Op: OpUpdate, ID: 15, Plain: true}, true},
		{"PATCH", "/wp-json/wc/v1/customers/7/", nil, Watch{Resource: "customer", Version: 1, Op: OpUpdate, ID: 7, Plain: true}, true},
		{"POST", "/wp-json/wc/v3/coupons/9", nil, Watch{Resource: "coupon", Version: 3, Op: OpUpdate, ID: 9, Plain: true}, true},
		{"DELETE", "/wp-json/wc/v3/orders/5?force=true", nil, Watch{Resource: "order", Version: 3, Op: OpDelete, ID: 5, Plain: true}, true},
		{"POST", "/wp-json/wc/v3/orders/batch", nil, Watch{Resource: "order", Version: 3, Op: OpBatch, Plain: true}, true},
		{"PUT", "/WP-JSON/WC/V3/Products/Batch", nil, Watch{}, false}, // the wp-json prefix is case-sensitive
		{"PUT", "/wp-json/WC/V3/Products/Batch", nil, Watch{Resource: "product", Version: 3, Op: OpBatch, Plain: true}, true},
		{"POST", "/wp-json/wc/v3/products/15/variations", nil, Watch{Resource: "product", Version: 3, Op: OpCreate, ID: 15, Sub: SubVariation, Plain: true}, true},
		{"PUT", "/wp-json/wc/v3/products/15/variations/16", nil, Watch{Resource: "product", Version: 3, Op: OpUpdate, ID: 15, Sub: SubVariation, SubID: 16, Plain: true}, true},
		{"DELETE", "/wp-json/wc/v3/products/15/variations/16", nil, Watch{Resource: "product", Version: 3, Op: OpDelete, ID: 15, Sub: SubVariation, SubID: 16, Plain: true}, true},
		{"POST", "/wp-json/wc/v3/products/15/variations/batch", nil, Watch{Resource: "product", Version: 3, Op: OpBatch, ID: 15, Sub: SubVariation, Plain: true}, true},
		{"POST", "/wp-json/wc/v3/orders/5/refunds", nil, Watch{Resource: "order", Version: 3, Op: OpCreate, ID: 5, Sub: SubRefund, Plain: true}, true},
		{"DELETE", "/wp-json/wc/v3/orders/5/refunds/8", nil, Watch{Resource: "order", Version: 3, Op: OpDelete, ID: 5, Sub: SubRefund, SubID: 8, Plain: true}, true},
		{"PUT", "/wp-json/wc/v3/orders/5/refunds/8", nil, Watch{}, false},
		{"POST", "/index.php/wp-json/wc/v3/orders", nil, Watch{Resource: "order", Version: 3, Op: OpCreate, Plain: true}, true},
		{"POST", "/?rest_route=/wc/v3/orders/5&_method=DELETE", nil, Watch{Resource: "order", Version: 3, Op: OpDelete, ID: 5, Plain: true}, true},
		{"POST", "/shop/?rest_route=%2Fwc%2Fv1%2Fcoupons", nil, Watch{Resource: "coupon", Version: 1, Op: OpCreate, Plain: true}, true},
		{"POST", "/wp-json/wc/v3/orders/5", http.Header{"X-Http-Method-Override": {"DELETE"}}, Watch{Resource: "order", Version: 3, Op: OpDelete, ID: 5, Plain: true}, true},
		{"POST", "/wp-json/wc/v3/orders/5?_method=GET", nil, Watch{}, false},
		{"POST", "/wp-json/wc/v3/orders?_fields=id", nil, Watch{Resource: "order", Version: 3, Op: OpCreate}, true},
		{"POST", "/wp-json/wc/v3/orders?_jsonp=cb", nil, Watch{Resource: "order", Version: 3, Op: OpCreate}, true},
		{"POST", "/wc-api/v3/orders", nil, Watch{Resource: "order", Legacy: true, Version: 3, Op: OpCreate, Plain: true}, true},
		{"PUT", "/wc-api/v2/products/15", nil, Watch{Resource: "product", Legacy: true, Version: 2, Op: OpUpdate, ID: 15, Plain: true}, true},
		{"DELETE", "/wc-api/v1/customers/7", nil, Watch{Resource: "customer", Legacy: true, Version: 1, Op: OpDelete, ID: 7, Plain: true}, true},
		{"POST", "/wc-api/v3/coupons/bulk", nil, Watch{Resource: "coupon", Legacy: true, Version: 3, Op: OpBatch, Plain: true}, true},
		{"POST", "/wc-api/v3/coupons/batch", nil, Watch{}, false},
		{"PUT", "/wc-api/v3/orders/5?fields=id", nil, Watch{Resource: "order", Legacy: true, Version: 3, Op: OpUpdate, ID: 5}, true},
		{"POST", "/?wc-api-version=3&wc-api-route=/orders", nil, Watch{Resource: "order", Legacy: true, Version: 3, Op: OpCreate, Plain: true}, true},
		{"POST", "/wc-api/v3/orders/5/refunds", nil, Watch{Resource: "order", Legacy: true, Version: 3, Op: OpCreate, ID: 5, Sub: SubRefund, Plain: true}, true},
		// Not watched.
		{"GET", "/wp-json/wc/v3/orders", nil, Watch{}, false},
		{"HEAD", "/wp-json/wc/v3/orders/5", nil, Watch{}, false},
		{"OPTIONS", "/wp-json/wc/v3/orders", nil, Watch{}, false},
		{"PUT", "/wp-json/wc/v3/orders", nil, Watch{}, false},
		{"DELETE", "/wp-json/wc/v3/orders/batch", nil, Watch{}, false},
		{"POST", "/wp-json/wc/v3/webhooks", nil, Watch{}, false},
		{"POST", "/wp-json/wc/v4/orders", nil, Watch{}, false},
		{"POST", "/wp-json/wc/v3/orders/abc", nil, Watch{}, false},
		{"POST", "/wp-json/wc/v3/orders/5/notes", nil, Watch{}, false},
		{"POST", "/wp-json/wc/v3/products/15/variations/16/x", nil, Watch{}, false},
		{"POST", "/wp-json/wc/v3/orders/99999999999999999999", nil, Watch{}, false},
		{"POST", "/wc-api/v3/products/15/variations", nil, Watch{}, false},
		{"POST", "/wp-admin/admin-ajax.php", nil, Watch{}, false},
		{"POST", "/checkout/", nil, Watch{}, false},
		{"POST", "/?rest_route=/wp/v2/posts", nil, Watch{}, false},
		{"POST", "/?wc-api-version=7&wc-api-route=/orders", nil, Watch{}, false},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		for k, v := range tc.header {
			r.Header[k] = v
		}
		got, ok := Classify(r)
		assert.Equal(t, tc.ok, ok, "%s %s", tc.method, tc.target)
		assert.Equal(t, tc.want, got, "%s %s", tc.method, tc.target)
	}
}

func TestClassifyDoesNotAllocateForOtherRequests(t *testing.T) {
	for _, r := range []*http.Request{
		httptest.NewRequest("GET", "/wp-json/wc/v3/orders?x=1", nil),
		httptest.NewRequest("POST", "/checkout/?a=b", nil),
		httptest.NewRequest("POST", "/wp-admin/admin-ajax.php", nil),
	} {
		allocs := testing.AllocsPerRun(50, func() { _, _ = Classify(r) })
		assert.Zero(t, allocs, "%s %s", r.Method, r.URL)
	}
}

func TestAPIVersion(t *testing.T) {
	assert.Equal(t, "wp_api_v1", Watch{Version: 1}.APIVersion())
	assert.Equal(t, "wp_api_v3", Watch{Version: 3}.APIVersion())
	assert.Equal(t, "legacy_v3", Watch{Legacy: true, Version: 3}.APIVersion())
	assert.Equal(t, "", Watch{Legacy: true, Version: 2}.APIVersion())
}
