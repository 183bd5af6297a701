package wcapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcauth"
)

func TestRESTCreateGetUpdateDelete(t *testing.T) {
	ta := newTestAPI(t)
	res := ta.do("POST", "/wp-json/wc/v3/webhooks",
		`{"name":"order updates","topic":"order.updated","delivery_url":"https://example.com/hook","secret":"s3cret"}`)
	require.Equal(t, http.StatusCreated, res.status, res.body)
	m := res.obj(t)
	id := int64(m["id"].(float64))
	assert.Greater(t, id, int64(100000))
	self := "http://shop.test/wp-json/wc/v3/webhooks/" + strconv.FormatInt(id, 10)
	assert.Equal(t, self, res.header.Get("Location"))
	assert.Equal(t, "GET, POST", res.header.Get("Allow"))
	assert.Equal(t, "application/json; charset=UTF-8", res.header.Get("Content-Type"))
	assert.NotContains(t, res.body, "s3cret")
	assert.NotContains(t, res.body, "secret")
	want := fmt.Sprintf(`{"id":%d,"name":"order updates","status":"active","topic":"order.updated","resource":"order","event":"updated",`+
		`"hooks":["woocommerce_update_order","woocommerce_order_refunded","woocommerce_delete_order_refund"],`+
		`"delivery_url":"https:\/\/example.com\/hook","date_created":"2024-05-15T22:17:52","date_created_gmt":"2024-05-15T20:17:52",`+
		`"date_modified":null,"date_modified_gmt":null,"_links":{"self":[{"href":"http:\/\/shop.test\/wp-json\/wc\/v3\/webhooks\/%d",`+
		`"targetHints":{"allow":["GET","POST","PUT","PATCH","DELETE"]}}],"collection":[{"href":"http:\/\/shop.test\/wp-json\/wc\/v3\/webhooks"}]}}`, id, id)
	assert.Equal(t, want, res.body)

	stored, err := ta.site.GetWebhook(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, "s3cret", stored.Secret)
	assert.Equal(t, "wp_api_v3", stored.APIVersion)
	assert.True(t, stored.PendingDelivery)
	assert.Equal(t, int64(1), stored.UserID)

	get := ta.do("GET", "/wp-json/wc/v3/webhooks/"+strconv.FormatInt(id, 10), "")
	require.Equal(t, http.StatusOK, get.status)
	assert.Equal(t, want, get.body)
	assert.Equal(t, "GET, POST, PUT, PATCH, DELETE", get.header.Get("Allow"))

	ta.now = ta.now.Add(3600e9)
	upd := ta.do("PUT", "/wp-json/wc/v3/webhooks/"+strconv.FormatInt(id, 10), `{"name":"paused order updates","status":"paused"}`)
	require.Equal(t, http.StatusOK, upd.status, upd.body)
	um := upd.obj(t)
	assert.Equal(t, "paused order updates", um["name"])
	assert.Equal(t, "paused", um["status"])
	assert.Equal(t, "2024-05-15T21:17:52", um["date_modified_gmt"])
	assert.Equal(t, "2024-05-15T23:17:52", um["date_modified"])

	del := ta.do("DELETE", "/wp-json/wc/v3/webhooks/"+strconv.FormatInt(id, 10), "")
	assert.Equal(t, http.StatusNotImplemented, del.status)
	code, msg := errorCode(t, del)
	assert.Equal(t, "woocommerce_rest_trash_not_supported", code)
	assert.Equal(t, "Webhooks do not support trashing.", msg)

	del = ta.do("DELETE", "/wp-json/wc/v3/webhooks/"+strconv.FormatInt(id, 10)+"?force=true", "")
	require.Equal(t, http.StatusOK, del.status, del.body)
	assert.Equal(t, float64(id), del.obj(t)["id"])

	gone := ta.do("GET", "/wp-json/wc/v3/webhooks/"+strconv.FormatInt(id, 10), "")
	assert.Equal(t, http.StatusNotFound, gone.status)
	code, msg = errorCode(t, gone)
	assert.Equal(t, "woocommerce_rest_shop_webhook_invalid_id", code)
	assert.Equal(t, "ID is invalid.", msg)
}

func TestRESTVersionDates(t *testing.T) {
	ta := newTestAPI(t)
	id := ta.create("x", "order.created")
	v1 := ta.do("GET", fmt.Sprintf("/wp-json/wc/v1/webhooks/%d", id), "").obj(t)
	assert.Equal(t, "2024-05-15T20:17:52", v1["date_created"])
	assert.NotContains(t, v1, "date_created_gmt")
	assert.Nil(t, v1["date_modified"])
	v2 := ta.do("GET", fmt.Sprintf("/wp-json/wc/v2/webhooks/%d", id), "").obj(t)
	assert.Equal(t, "2024-05-15T22:17:52", v2["date_created"])
	assert.Equal(t, "2024-05-15T20:17:52", v2["date_created_gmt"])
	links := v2["_links"].(map[string]any)["collection"].([]any)[0].(map[string]any)
	assert.Equal(t, "http://shop.test/wp-json/wc/v2/webhooks", links["href"])
}

// TestRESTPagination replays WooCommerce's own V3 controller test.
func TestRESTPagination(t *testing.T) {
	ta := newTestAPI(t)
	var ids []int64
	for i := 0; i < 5; i++ {
		ids = append(ids, ta.create(fmt.Sprintf("hook %d", i), "order.created"))
	}
	list := func(q string) ([]int64, response) {
		res := ta.do("GET", "/wp-json/wc/v3/webhooks?orderby=id&order=asc&"+q, "")
		require.Equal(t, http.StatusOK, res.status, res.body)
		var items []struct{ ID int64 }
		res.json(t, &items)
		var got []int64
		for _, it := range items {
			got = append(got, it.ID)
		}
		return got, res
	}
	got, res := list("per_page=2&offset=2")
	assert.Equal(t, ids[2:4], got)
	assert.Equal(t, "5", headerValue(res.header, "X-WP-Total"))
	assert.Equal(t, "3", headerValue(res.header, "X-WP-TotalPages"))
	link := res.header.Get("Link")
	assert.Contains(t, link, `page=1>; rel="prev"`)
	assert.Contains(t, link, `page=3>; rel="next"`)
	assert.Len(t, res.header.Values("Link"), 1)
	got, _ = list("per_page=2&offset=2&page=1")
	assert.Equal(t, ids[2:4], got)
	got, _ = list("per_page=2&offset=0&page=2")
	assert.Equal(t, ids[2:4], got)
	got, res = list("offset=5")
	assert.Empty(t, got)
	assert.Equal(t, "[]", res.body)
	got, res = list("per_page=1")
	assert.Equal(t, ids[:1], got)
	assert.Equal(t, "1", headerValue(res.header, "X-WP-TotalPages"))
	got, _ = list(fmt.Sprintf("include[]=%d", ids[3]))
	assert.Equal(t, ids[3:4], got)
	got, _ = list(fmt.Sprintf("exclude=%d,%d", ids[0], ids[1]))
	assert.Equal(t, ids[2:], got)

	def := ta.do("GET", "/wp-json/wc/v3/webhooks", "")
	assert.Equal(t, `<http://shop.test/wp-json/>; rel="https://api.w.org/"`, def.header.Get("Link"))
	empty := ta.do("GET", "/wp-json/wc/v3/webhooks?search=nothing-matches", "")
	assert.Equal(t, "0", headerValue(empty.header, "X-WP-TotalPages"))
}

func TestRESTListFilters(t *testing.T) {
	ta := newTestAPI(t)
	a := ta.create("Alpha", "order.created")
	ta.now = ta.now.Add(3600e9)
	b := ta.create("beta", "product.updated")
	ta.do("PUT", fmt.Sprintf("/wp-json/wc/v3/webhooks/%d", b), `{"status":"paused"}`)
	ids := func(q string) []int64 {
		res := ta.do("GET", "/wp-json/wc/v3/webhooks?"+q, "")
		require.Equal(t, http.StatusOK, res.status, res.body)
		var items []struct{ ID int64 }
		res.json(t, &items)
		out := []int64{}
		for _, it := range items {
			out = append(out, it.ID)
		}
		return out
	}
	assert.Equal(t, []int64{b, a}, ids(""))
	assert.Equal(t, []int64{a, b}, ids("order=asc"))
	assert.Equal(t, []int64{b}, ids("status=paused"))
	assert.Equal(t, []int64{a}, ids("status=active"))
	assert.Equal(t, []int64{a}, ids("search=ALP"))
	assert.Equal(t, []int64{a, b}, ids("orderby=title&order=asc"))
	assert.Equal(t, []int64{b}, ids("after=2024-05-15T21:00:00Z"))
	assert.Equal(t, []int64{b}, ids("after=2024-05-15T23:00:00%2B02:00"))
	assert.Equal(t, []int64{a}, ids("before=2024-05-15T21:00:00"))
	assert.Equal(t, []int64{b, a}, ids("include=0"))
}

func TestRESTValidationErrors(t *testing.T) {
	ta := newTestAPI(t)
	cases := []struct {
		method, target, body string
		status               int
		want                 string
	}{
		{"POST", "/wp-json/wc/v3/webhooks", `{"name":"x"}`, 400,
			`{"code":"rest_missing_callback_param","message":"Missing parameter(s): topic, delivery_url","data":{"status":400,"params":["topic","delivery_url"]}}`},
		{"POST", "/wp-json/wc/v3/webhooks", `{"topic":"order.created","delivery_url":"https://e.com","status":"bogus"}`, 400,
			`{"code":"rest_invalid_param","message":"Invalid parameter(s): status","data":{"status":400,"params":{"status":"status is not one of active, paused, and disabled."},"details":{"status":{"code":"rest_not_in_enum","message":"status is not one of active, paused, and disabled.","data":null}}}}`},
		{"POST", "/wp-json/wc/v3/webhooks", `{"topic":5,"delivery_url":"https://e.com"}`, 400,
			`{"code":"rest_invalid_param","message":"Invalid parameter(s): topic","data":{"status":400,"params":{"topic":"topic is not of type string."},"details":{"topic":{"code":"rest_invalid_type","message":"topic is not of type string.","data":{"param":"topic"}}}}}`},
		{"GET", "/wp-json/wc/v3/webhooks?per_page=500", "", 400,
			`{"code":"rest_invalid_param","message":"Invalid parameter(s): per_page","data":{"status":400,"params":{"per_page":"per_page must be between 1 (inclusive) and 100 (inclusive)"},"details":{"per_page":{"code":"rest_out_of_bounds","message":"per_page must be between 1 (inclusive) and 100 (inclusive)","data":null}}}}`},
		{"GET", "/wp-json/wc/v3/webhooks?page=0&order=up", "", 400,
			`{"code":"rest_invalid_param","message":"Invalid parameter(s): page, order","data":{"status":400,"params":{"page":"page must be greater than or equal to 1","order":"order is not one of asc and desc."},"details":{"page":{"code":"rest_out_of_bounds","message":"page must be greater than or equal to 1","data":null},"order":{"code":"rest_not_in_enum","message":"order is not one of asc and desc.","data":null}}}}`},
		{"GET", "/wp-json/wc/v3/webhooks?after=yesterday", "", 400,
			`{"code":"rest_invalid_param","message":"Invalid parameter(s): after","data":{"status":400,"params":{"after":"Invalid date."},"details":{"after":{"code":"rest_invalid_date","message":"Invalid date.","data":null}}}}`},
		{"POST", "/wp-json/wc/v3/webhooks", `{"topic":`, 400,
			`{"code":"rest_invalid_json","message":"Invalid JSON body passed.","data":{"status":400,"json_error_code":4,"json_error_message":"Syntax error"}}`},
		{"POST", "/wp-json/wc/v3/webhooks", `{"topic":"order.nope","delivery_url":"https://e.com"}`, 400,
			`{"code":"woocommerce_rest_shop_webhook_invalid_topic","message":"Webhook topic is required and must be valid.","data":{"status":400}}`},
		{"POST", "/wp-json/wc/v3/webhooks", `{"topic":"order.created","delivery_url":"ftp://e.com"}`, 400,
			`{"code":"woocommerce_rest_shop_webhook_invalid_delivery_url","message":"Webhook delivery URL must be a valid URL starting with http:\/\/ or https:\/\/.","data":{"status":400}}`},
		{"POST", "/wp-json/wc/v3/webhooks", `{"id":3,"topic":"order.created","delivery_url":"https://e.com"}`, 400,
			`{"code":"woocommerce_rest_shop_webhook_exists","message":"Cannot create existing shop_webhook.","data":{"status":400}}`},
		{"GET", "/wp-json/wc/v3/webhooks/0", "", 404,
			`{"code":"woocommerce_rest_shop_webhook_invalid_id","message":"Invalid ID.","data":{"status":404}}`},
		{"PUT", "/wp-json/wc/v3/webhooks/999999", `{"name":"x"}`, 400,
			`{"code":"woocommerce_rest_shop_webhook_invalid_id","message":"ID is invalid.","data":{"status":400}}`},
		{"DELETE", "/wp-json/wc/v3/webhooks/999999?force=true", "", 404,
			`{"code":"woocommerce_rest_shop_webhook_invalid_id","message":"Invalid ID.","data":{"status":404}}`},
		{"GET", "/wp-json/wc/v3/webhooks/abc", "", 404,
			`{"code":"rest_no_route","message":"No route was found matching the URL and request method.","data":{"status":404}}`},
		{"DELETE", "/wp-json/wc/v3/webhooks", "", 404,
			`{"code":"rest_no_route","message":"No route was found matching the URL and request method.","data":{"status":404}}`},
		{"GET", "/wp-json/wc/v3/webhooks/999999/deliveries", "", 404,
			`{"code":"woocommerce_rest_webhook_invalid_id","message":"Invalid webhook ID.","data":{"status":404}}`},
		{"GET", "/wp-json/wc/v3/webhooks/99999999999999999999999", "", 404,
			`{"code":"woocommerce_rest_shop_webhook_invalid_id","message":"ID is invalid.","data":{"status":404}}`},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			res := ta.do(tc.method, tc.target, tc.body)
			assert.Equal(t, tc.status, res.status)
			assert.Equal(t, tc.want, res.body)
		})
	}
}

func TestRESTPermissions(t *testing.T) {
	ta := newTestAPI(t)
	id := ta.create("x", "order.created")
	item := fmt.Sprintf("/wp-json/wc/v3/webhooks/%d", id)
	cases := []struct {
		method, target, body, code, message string
	}{
		{"GET", "/wp-json/wc/v3/webhooks", "", "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."},
		{"POST", "/wp-json/wc/v3/webhooks", `{"topic":"order.created","delivery_url":"https://e.com"}`, "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."},
		{"GET", item, "", "woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."},
		{"PATCH", item, `{"name":"y"}`, "woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."},
		{"DELETE", item + "?force=true", "", "woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."},
		{"POST", "/wp-json/wc/v3/webhooks/batch", `{}`, "woocommerce_rest_cannot_batch", "Sorry, you are not allowed to batch manipulate this resource."},
	}
	for _, tc := range cases {
		ta.auth.v = wcauth.Verdict{}
		res := ta.do(tc.method, tc.target, tc.body)
		assert.Equal(t, http.StatusUnauthorized, res.status, tc.target)
		code, msg := errorCode(t, res)
		assert.Equal(t, tc.code, code)
		assert.Equal(t, tc.message, msg)
		ta.auth.v = wcauth.Verdict{Authenticated: true}
		assert.Equal(t, http.StatusForbidden, ta.do(tc.method, tc.target, tc.body).status, tc.target)
	}
	// Parameter validation comes before the permission check, as in WordPress.
	ta.auth.v = wcauth.Verdict{}
	assert.Equal(t, http.StatusBadRequest, ta.do("GET", "/wp-json/wc/v3/webhooks?per_page=500", "").status)
	// An authentication error is answered before routing.
	ta.auth.v = wcauth.Verdict{Err: &wcauth.Error{Code: "woocommerce_rest_authentication_error", Message: "Consumer secret is invalid.", Status: 401}}
	res := ta.do("GET", "/wp-json/wc/v3/webhooks/abc/def", "")
	assert.Equal(t, http.StatusUnauthorized, res.status)
	code, _ := errorCode(t, res)
	assert.Equal(t, "woocommerce_rest_authentication_error", code)
}

func TestRESTBatch(t *testing.T) {
	ta := newTestAPI(t)
	res := ta.do("POST", "/wp-json/wc/v3/webhooks/batch", `{"create":[
		{"name":"one","topic":"order.created","delivery_url":"https://a.example/1"},
		{"name":"two","topic":"Product.Updated","delivery_url":"https://a.example/2"},
		{"name":"bad","topic":"nope","delivery_url":"https://a.example/3"},
		{"name":"odd status","topic":"order.created","delivery_url":"https://a.example/4","status":"bogus"}]}`)
	require.Equal(t, http.StatusOK, res.status, res.body)
	var out struct {
		Create []map[string]any
	}
	res.json(t, &out)
	require.Len(t, out.Create, 4)
	assert.Equal(t, "one", out.Create[0]["name"])
	assert.Equal(t, "active", out.Create[3]["status"], "an invalid status on create falls back to active")
	assert.Equal(t, "product.updated", out.Create[1]["topic"])
	assert.Equal(t, float64(0), out.Create[2]["id"])
	assert.Equal(t, "woocommerce_rest_shop_webhook_invalid_topic", out.Create[2]["error"].(map[string]any)["code"])
	first := int64(out.Create[0]["id"].(float64))
	second := int64(out.Create[1]["id"].(float64))

	mixed := ta.do("PUT", "/wp-json/wc/v3/webhooks/batch", fmt.Sprintf(`{"create":[{"topic":"coupon.created","delivery_url":"https://a.example/4"}],
		"update":[{"id":%d,"name":"renamed","status":"paused"},{"name":"no id"},{"id":%d,"status":"Active"}],"delete":[%d,0,"999999"]}`, first, first, second))
	require.Equal(t, http.StatusOK, mixed.status, mixed.body)
	var m struct {
		Create, Update, Delete []map[string]any
	}
	mixed.json(t, &m)
	require.Len(t, m.Create, 1)
	assert.Equal(t, "active", m.Create[0]["status"])
	require.Len(t, m.Update, 3)
	assert.Equal(t, "renamed", m.Update[0]["name"])
	assert.Equal(t, "paused", m.Update[0]["status"])
	assert.Nil(t, m.Update[1]["id"])
	assert.Equal(t, "ID is invalid.", m.Update[1]["error"].(map[string]any)["message"])
	assert.Equal(t, "disabled", m.Update[2]["status"], "set_status coerces a wrong-case status")
	require.Len(t, m.Delete, 2)
	assert.Equal(t, float64(second), m.Delete[0]["id"])
	assert.Equal(t, float64(999999), m.Delete[1]["id"])
	assert.Equal(t, http.StatusNotFound, ta.do("GET", fmt.Sprintf("/wp-json/wc/v3/webhooks/%d", second), "").status)

	empty := ta.do("POST", "/wp-json/wc/v3/webhooks/batch", `{"create":[]}`)
	assert.Equal(t, "[]", empty.body)

	var big []string
	for i := 0; i < 101; i++ {
		big = append(big, strconv.Itoa(i+1))
	}
	over := ta.do("POST", "/wp-json/wc/v3/webhooks/batch", `{"delete":[`+strings.Join(big, ",")+`]}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, over.status)
	assert.Equal(t, `{"code":"woocommerce_rest_request_entity_too_large","message":"Unable to accept more than 100 items for this request.","data":{"status":413}}`, over.body)
}

func TestRESTRequestForms(t *testing.T) {
	ta := newTestAPI(t)
	id := ta.create("form", "order.created")
	// ?rest_route= addresses the same routes and links in the same form.
	res := ta.do("GET", fmt.Sprintf("/?rest_route=/wc/v3/webhooks/%d", id), "")
	require.Equal(t, http.StatusOK, res.status, res.body)
	assert.Contains(t, res.body, `"href":"http:\/\/shop.test\/?rest_route=\/wc\/v3\/webhooks"`)
	// The singular alias, HEAD, _fields, _method override and form bodies.
	alias := ta.do("GET", fmt.Sprintf("/wp-json/wc/v2/webhook/%d?_fields=id,name,_links.collection", id), "")
	assert.Equal(t, fmt.Sprintf(`{"id":%d,"name":"form","_links":{"collection":[{"href":"http:\/\/shop.test\/wp-json\/wc\/v2\/webhooks"}]}}`, id), alias.body)
	head := ta.do("HEAD", fmt.Sprintf("/wp-json/wc/v3/webhooks/%d", id), "")
	assert.Equal(t, http.StatusOK, head.status)
	assert.Empty(t, head.body)
	over := ta.do("POST", fmt.Sprintf("/wp-json/wc/v3/webhooks/%d?_method=DELETE&force=1", id), "")
	assert.Equal(t, http.StatusOK, over.status, over.body)

	r := ta.do("POST", "/wp-json/wc/v1/webhooks", "topic=order.created&delivery_url=https%3A%2F%2Fe.com%2F&name=form+body",
		"Content-Type", "application/x-www-form-urlencoded")
	require.Equal(t, http.StatusCreated, r.status, r.body)
	assert.Equal(t, "form body", r.obj(t)["name"])

	env := ta.do("GET", "/wp-json/wc/v3/webhooks/1?_envelope", "")
	assert.Equal(t, http.StatusOK, env.status)
	assert.Equal(t, float64(404), env.obj(t)["status"])
}

func TestRESTDefaults(t *testing.T) {
	ta := newTestAPI(t)
	ta.now = ta.now.Add(-6 * 3600e9)
	res := ta.do("POST", "/wp-json/wc/v3/webhooks", `{"topic":"ORDER.CREATED","delivery_url":"https://e.com","status":"paused"}`)
	require.Equal(t, http.StatusCreated, res.status, res.body)
	m := res.obj(t)
	assert.Equal(t, "Webhook created on May 15, 2024 @ 02:17 PM", m["name"])
	assert.Equal(t, "order.created", m["topic"], "topics are lower-cased before validation")
	assert.Equal(t, "paused", m["status"], "a valid status on create is honoured")
	w, err := ta.site.GetWebhook(t.Context(), int64(m["id"].(float64)))
	require.NoError(t, err)
	assert.Len(t, w.Secret, 50)
}
