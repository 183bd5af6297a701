package wcevents

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var jsonCT = http.Header{"Content-Type": {"application/json; charset=UTF-8"}}

func watch(t *testing.T, method, target string) Watch {
	t.Helper()
	r, err := http.NewRequest(method, "http://shop"+target, nil)
	require.NoError(t, err)
	w, ok := Classify(r)
	require.True(t, ok, "%s %s is watched", method, target)
	return w
}

func topics(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Topic)
	}
	return out
}

func TestDeriveSingleItems(t *testing.T) {
	order := `{"id":5,"status":"pending","date_modified":"2024-05-15T23:17:52","date_modified_gmt":"2024-05-15T20:17:52","_links":{}}`
	cs := Derive(watch(t, "POST", "/wp-json/wc/v3/orders"), 201, jsonCT, []byte(order+"\n"))
	require.Len(t, cs, 1)
	assert.Equal(t, Change{Topic: "order.created", ID: 5, Item: []byte(order), ItemVersion: "wp_api_v3", Status: "pending", Modified: "2024-05-15T20:17:52"}, cs[0])

	cs = Derive(watch(t, "PUT", "/wp-json/wc/v1/products/15"), 200, jsonCT, []byte(`{"id":15,"status":"publish","date_modified":"2024-05-15T20:17:52"}`))
	require.Len(t, cs, 1)
	assert.Equal(t, "product.updated", cs[0].Topic)
	assert.Equal(t, "wp_api_v1", cs[0].ItemVersion)
	assert.Equal(t, "2024-05-15T20:17:52", cs[0].Modified)

	// Trash (status trash) and force delete both give deleted.
	for _, target := range []string{"/wp-json/wc/v3/coupons/9", "/wp-json/wc/v3/coupons/9?force=true"} {
		cs = Derive(watch(t, "DELETE", target), 200, jsonCT, []byte(`{"id":9,"status":"trash"}`))
		assert.Equal(t, []string{"coupon.deleted"}, topics(cs), target)
		assert.Equal(t, int64(9), cs[0].ID)
	}
	assert.Equal(t, []byte(`{"id":9}`), DeletedPayload(9))

	// Customers: deleting a user who is not a customer fires nothing.
	assert.Empty(t, Derive(watch(t, "DELETE", "/wp-json/wc/v3/customers/2?force=true"), 200, jsonCT, []byte(`{"id":2,"role":"shop_manager"}`)))
	assert.Len(t, Derive(watch(t, "DELETE", "/wp-json/wc/v3/customers/3?force=true"), 200, jsonCT, []byte(`{"id":3,"role":"customer"}`)), 1)

	// Errors and non-2xx answers give nothing.
	assert.Empty(t, Derive(watch(t, "POST", "/wp-json/wc/v3/orders"), 400, jsonCT, []byte(`{"code":"x"}`)))
	assert.Empty(t, Derive(watch(t, "DELETE", "/wp-json/wc/v3/orders/5"), 404, jsonCT, nil))
	assert.Empty(t, Derive(watch(t, "POST", "/wp-json/wc/v3/orders"), 302, jsonCT, nil))
	// A create whose answer was not captured cannot name its id.
	assert.Empty(t, Derive(watch(t, "POST", "/wp-json/wc/v3/orders"), 201, jsonCT, nil))
	// An update whose answer was not captured still has the route's id.
	cs = Derive(watch(t, "PUT", "/wp-json/wc/v3/orders/5"), 200, jsonCT, nil)
	assert.Equal(t, []Change{{Topic: "order.updated", ID: 5}}, cs)
	// A JSONP answer is not an item.
	cs = Derive(watch(t, "PUT", "/wp-json/wc/v3/orders/5?_jsonp=cb"), 200, http.Header{"Content-Type": {"application/javascript"}}, []byte(`/**/cb({"id":5})`))
	assert.Equal(t, []Change{{Topic: "order.updated", ID: 5}}, cs)
	// A _fields answer carries the id but is no payload.
	cs = Derive(watch(t, "POST", "/wp-json/wc/v3/orders?_fields=id"), 201, jsonCT, []byte(`{"id":6}`))
	require.Len(t, cs, 1)
	assert.Nil(t, cs[0].Item)
	assert.Equal(t, int64(6), cs[0].ID)
}

func TestDeriveDraftsFireNothing(t *testing.T) {
	assert.Empty(t, Derive(watch(t, "POST", "/wp-json/wc/v3/products"), 201, jsonCT, []byte(`{"id":1,"status":"auto-draft"}`)))
	assert.Empty(t, Derive(watch(t, "POST", "/wp-json/wc/v3/orders"), 201, jsonCT, []byte(`{"id":1,"status":"checkout-draft"}`)))
	assert.Empty(t, Derive(watch(t, "PUT", "/wp-json/wc/v3/orders/1"), 200, jsonCT, []byte(`{"id":1,"status":"auto-draft"}`)))
	assert.Len(t, Derive(watch(t, "POST", "/wp-json/wc/v3/products"), 201, jsonCT, []byte(`{"id":1,"status":"draft"}`)), 1)
	assert.Len(t, Derive(watch(t, "POST", "/wp-json/wc/v3/customers"), 201, jsonCT, []byte(`{"id":1,"status":"checkout-draft"}`)), 1)
}

func TestDeriveBatch(t *testing.T) {
	body := `{"create":[{"id":11,"status":"pending"},{"id":0,"error":{"code":"x","message":"m","data":{"status":400}}}],` +
		`"update":[{"id":5,"status":"processing","date_modified_gmt":"2024-01-01T00:00:00"},{"id":5,"status":"completed"},{"id":12,"status":"checkout-draft"}],` +
		`"delete":[{"id":7,"status":"trash"},{"id":8,"error":{"code":"woocommerce_rest_shop_order_invalid_id","message":"Invalid ID.","data":{"status":404}}}]}`
	cs := Derive(watch(t, "POST", "/wp-json/wc/v2/orders/batch"), 200, jsonCT, []byte(body))
	require.Equal(t, []string{"order.created", "order.updated", "order.deleted"}, topics(cs))
	assert.Equal(t, []int64{11, 5, 7}, []int64{cs[0].ID, cs[1].ID, cs[2].ID})
	assert.Equal(t, `{"id":11,"status":"pending"}`, string(cs[0].Item))
	assert.Equal(t, "wp_api_v2", cs[1].ItemVersion)
	assert.Equal(t, "2024-01-01T00:00:00", cs[1].Modified, "the first entry of an id wins")

	// An empty batch answers [].
	assert.Empty(t, Derive(watch(t, "POST", "/wp-json/wc/v3/orders/batch"), 200, jsonCT, []byte(`[]`)))
}

func TestDeriveRefundsAndVariations(t *testing.T) {
	cs := Derive(watch(t, "POST", "/wp-json/wc/v3/orders/5/refunds"), 201, jsonCT, []byte(`{"id":30,"amount":"1.00"}`))
	assert.Equal(t, []Change{{Topic: "order.updated", ID: 5}}, cs)
	cs = Derive(watch(t, "DELETE", "/wp-json/wc/v3/orders/5/refunds/30?force=true"), 200, jsonCT, []byte(`{"id":30}`))
	assert.Equal(t, []Change{{Topic: "order.updated", ID: 5}}, cs)

	cs = Derive(watch(t, "POST", "/wp-json/wc/v3/products/15/variations"), 201, jsonCT, []byte(`{"id":16,"status":"publish","date_modified_gmt":"2024-01-01T00:00:01"}`))
	assert.Equal(t, []Change{{Topic: "product.created", ID: 16, Status: "publish", Modified: "2024-01-01T00:00:01"}}, cs)
	cs = Derive(watch(t, "PUT", "/wp-json/wc/v3/products/15/variations/16"), 200, jsonCT, []byte(`{"id":16}`))
	assert.Equal(t, []string{"product.updated"}, topics(cs))
	cs = Derive(watch(t, "DELETE", "/wp-json/wc/v3/products/15/variations/16?force=true"), 200, jsonCT, nil)
	assert.Equal(t, []Change{{Topic: "product.deleted", ID: 16}}, cs)
	cs = Derive(watch(t, "POST", "/wp-json/wc/v3/products/15/variations/batch"), 200, jsonCT,
		[]byte(`{"create":[{"id":17}],"update":[{"id":16},{"id":16}],"delete":[{"id":18}]}`))
	assert.Equal(t, []string{"product.created", "product.updated", "product.deleted"}, topics(cs))
	for _, c := range cs {
		assert.Nil(t, c.Item, "a variation is not the product representation")
	}
}

func TestDeriveLegacy(t *testing.T) {
	body := `{"order":{"id":5,"status":"pending","created_at":"2024-05-15T20:17:52Z","updated_at":"2024-05-15T20:17:52Z"}}`
	cs := Derive(watch(t, "POST", "/wc-api/v3/orders"), 201, jsonCT, []byte(body))
	require.Len(t, cs, 1)
	assert.Equal(t, Change{Topic: "order.created", ID: 5, Item: []byte(body), ItemVersion: "legacy_v3", Status: "pending", Modified: "2024-05-15T20:17:52"}, cs[0])

	// Legacy v2 answers are no webhook's payload.
	cs = Derive(watch(t, "PUT", "/wc-api/v2/orders/5"), 200, jsonCT, []byte(body))
	require.Len(t, cs, 1)
	assert.Equal(t, "", cs[0].ItemVersion)

	// Legacy delete answers a message: the route's id.
	cs = Derive(watch(t, "DELETE", "/wc-api/v3/products/15"), 200, jsonCT, []byte(`{"message":"Deleted product"}`))
	assert.Equal(t, []Change{{Topic: "product.deleted", ID: 15}}, cs)

	// Bulk: created when created_at equals updated_at; errors skipped;
	// items wrapped as single answers are.
	bulk := `{"products":[{"id":20,"status":"publish","created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"},` +
		`{"id":15,"status":"publish","created_at":"2023-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"},{"id":99,"error":{"code":"x","message":"y"}}]}`
	cs = Derive(watch(t, "POST", "/wc-api/v3/products/bulk"), 200, jsonCT, []byte(bulk))
	require.Equal(t, []string{"product.created", "product.updated"}, topics(cs))
	assert.Equal(t, `{"product":{"id":15,"status":"publish","created_at":"2023-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}}`, string(cs[1].Item))
}

func TestDeriveBadInputNeverPanics(t *testing.T) {
	bodies := []string{"", "null", "[", `{"id":"x"}`, `{"id":-1}`, `{"create":"x"}`, `{"order":[]}`, `{"id":1e99}`, "\xff"}
	targets := [][2]string{{"POST", "/wp-json/wc/v3/orders"}, {"PUT", "/wp-json/wc/v3/orders/1"}, {"POST", "/wp-json/wc/v3/orders/batch"},
		{"POST", "/wc-api/v3/orders/bulk"}, {"POST", "/wc-api/v3/orders"}, {"POST", "/wp-json/wc/v3/products/1/variations/batch"}}
	for _, tg := range targets {
		w := watch(t, tg[0], tg[1])
		for _, b := range bodies {
			for _, c := range Derive(w, 200, jsonCT, []byte(b)) {
				assert.Positive(t, c.ID)
			}
		}
	}
}

func TestEmptyObjectsToArrays(t *testing.T) {
	assert.Equal(t, `{"a":[],"b":"{}","c":[ ],"d":{"e":1},"f":"\"{}"}`,
		string(EmptyObjectsToArrays([]byte(`{"a":{},"b":"{}","c":{ },"d":{"e":1},"f":"\"{}"}`))))
	in := []byte(`{"a":1}`)
	assert.Same(t, &in[0], &EmptyObjectsToArrays(in)[0], "unchanged input is returned as is")
}
