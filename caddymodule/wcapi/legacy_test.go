package wcapi

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcauth"
)

func TestLegacyCRUD(t *testing.T) {
	ta := newTestAPI(t)
	res := ta.do("POST", "/wc-api/v2/webhooks", `{"webhook":{"name":"An add to cart webhook","secret":"my-super-secret-private-key","topic":"action.woocommerce_add_to_cart","delivery_url":"http://requestb.in/1exdwip1"}}`)
	require.Equal(t, http.StatusCreated, res.status, res.body)
	var created struct {
		Webhook map[string]any
	}
	res.json(t, &created)
	id := int64(created.Webhook["id"].(float64))
	want := fmt.Sprintf(`{"webhook":{"id":%d,"name":"An add to cart webhook","status":"active","topic":"action.woocommerce_add_to_cart",`+
		`"resource":"action","event":"woocommerce_add_to_cart","hooks":["woocommerce_add_to_cart"],"delivery_url":"http:\/\/requestb.in\/1exdwip1",`+
		`"created_at":"2024-05-15T20:17:52Z","updated_at":"1970-01-01T00:00:00Z"}}`, id)
	assert.Equal(t, want, res.body)
	stored, err := ta.site.GetWebhook(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, "legacy_v3", stored.APIVersion)

	assert.Equal(t, want, ta.do("GET", fmt.Sprintf("/wc-api/v3/webhooks/%d", id), "").body)

	ta.now = ta.now.Add(60e9)
	edit := ta.do("PUT", fmt.Sprintf("/wc-api/v3/webhooks/%d", id), `{"webhook":{"status":"paused"}}`)
	require.Equal(t, http.StatusOK, edit.status, edit.body)
	assert.Contains(t, edit.body, `"status":"paused"`)
	assert.Contains(t, edit.body, `"updated_at":"2024-05-15T20:18:52Z"`)
	override := ta.do("POST", fmt.Sprintf("/wc-api/v3/webhooks/%d", id), `{"webhook":{"status":"whatever"}}`, "X-HTTP-Method-Override", "PATCH")
	assert.Contains(t, override.body, `"status":"disabled"`, "legacy edit coerces an unknown status")

	count := ta.do("GET", "/wc-api/v3/webhooks/count", "")
	assert.Equal(t, `{"count":1}`, count.body)
	assert.Equal(t, `{"count":0}`, ta.do("GET", "/wc-api/v3/webhooks/count?status=active", "").body)
	assert.Equal(t, `{"count":1}`, ta.do("GET", "/wc-api/v3/webhooks/count?filter[post_status]=pending", "").body)

	list := ta.do("GET", "/wc-api/v2/webhooks", "")
	require.Equal(t, http.StatusOK, list.status)
	assert.Equal(t, "1", headerValue(list.header, "X-WC-Total"))
	assert.Equal(t, "1", headerValue(list.header, "X-WC-TotalPages"))
	assert.Contains(t, list.body, `{"webhooks":[{"id":`)

	del := ta.do("GET", fmt.Sprintf("/wc-api/v3/webhooks/%d?_method=DELETE", id), "")
	assert.Equal(t, `{"message":"Permanently deleted webhook"}`, del.body)
	gone := ta.do("GET", fmt.Sprintf("/wc-api/v3/webhooks/%d", id), "")
	assert.Equal(t, http.StatusNotFound, gone.status)
	assert.Equal(t, fmt.Sprintf(`{"errors":[{"code":"woocommerce_api_no_webhook_found","message":"No webhook found with the ID equal to %d"}]}`, id), gone.body)
}

func TestLegacyPagination(t *testing.T) {
	ta := newTestAPI(t)
	var ids []int64
	for i := 0; i < 5; i++ {
		ids = append(ids, ta.create(fmt.Sprintf("h%d", i), "order.created"))
	}
	res := ta.do("GET", "/wc-api/v3/webhooks?filter[limit]=2&page=2", "")
	require.Equal(t, http.StatusOK, res.status)
	var out struct{ Webhooks []struct{ ID int64 } }
	res.json(t, &out)
	require.Len(t, out.Webhooks, 2)
	assert.Equal(t, ids[2], out.Webhooks[0].ID, "legacy lists order by id descending")
	assert.Equal(t, ids[1], out.Webhooks[1].ID)
	assert.Equal(t, "5", headerValue(res.header, "X-WC-Total"))
	assert.Equal(t, "3", headerValue(res.header, "X-WC-TotalPages"))
	assert.Equal(t, []string{
		`<http://shop.test/wc-api/v3/webhooks?filter[limit]=2&page=1>; rel="first"`,
		`<http://shop.test/wc-api/v3/webhooks?filter[limit]=2&page=1>; rel="prev"`,
		`<http://shop.test/wc-api/v3/webhooks?filter[limit]=2&page=3>; rel="next"`,
		`<http://shop.test/wc-api/v3/webhooks?filter[limit]=2&page=3>; rel="last"`,
	}, res.header.Values("Link"))

	asc := ta.do("GET", "/wc-api/v3/webhooks?filter[order]=asc&filter[orderby]=title&filter[limit]=-1", "")
	res.json(t, &out)
	asc.json(t, &out)
	require.Len(t, out.Webhooks, 5)
	assert.Equal(t, ids[0], out.Webhooks[0].ID)
	assert.Empty(t, asc.header.Values("Link"))
}

func TestLegacyErrors(t *testing.T) {
	ta := newTestAPI(t)
	id := ta.create("x", "order.created")
	cases := []struct {
		method, target, body string
		status               int
		want                 string
	}{
		{"POST", "/wc-api/v3/webhooks", `{"name":"x"}`, 400, `{"errors":[{"code":"woocommerce_api_missing_webhook_data","message":"No webhook data specified to create webhook"}]}`},
		{"POST", "/wc-api/v3/webhooks", ``, 400, `{"errors":[{"code":"woocommerce_api_missing_callback_param","message":"Missing parameter data"}]}`},
		{"POST", "/wc-api/v3/webhooks", `[]`, 400, `{"errors":[{"code":"woocommerce_api_missing_webhook_data","message":"No webhook data specified to create webhook"}]}`},
		{"POST", "/wc-api/v3/webhooks", `{"webhook":[]}`, 400, `{"errors":[{"code":"woocommerce_api_invalid_webhook_topic","message":"Webhook topic is required and must be valid."}]}`},
		{"POST", "/wc-api/v3/webhooks", `{"webhook":null}`, 400, `{"errors":[{"code":"woocommerce_api_missing_webhook_data","message":"No webhook data specified to create webhook"}]}`},
		{"PUT", "/wc-api/v3/webhooks/0", `{}`, 400, `{"errors":[{"code":"woocommerce_api_missing_webhook_data","message":"No webhook data specified to edit webhook"}]}`},
		{"POST", "/wc-api/v3/webhooks", `{"webhook":{"topic":"invalid.topic","delivery_url":"http://e.com"}}`, 400, `{"errors":[{"code":"woocommerce_api_invalid_webhook_topic","message":"Webhook topic is required and must be valid."}]}`},
		{"POST", "/wc-api/v3/webhooks", `{"webhook":{"topic":"order.created","delivery_url":"https://foobar!"}}`, 400, `{"errors":[{"code":"woocommerce_api_invalid_webhook_delivery_url","message":"Webhook delivery URL must be a valid URL starting with http:\/\/ or https:\/\/"}]}`},
		{"PUT", fmt.Sprintf("/wc-api/v3/webhooks/%d", id), `{"webhook":{"topic":"nope"}}`, 400, `{"errors":[{"code":"woocommerce_api_invalid_webhook_topic","message":"Webhook topic must be valid."}]}`},
		{"GET", "/wc-api/v3/webhooks/0", "", 404, `{"errors":[{"code":"woocommerce_api_invalid_webhook_id","message":"Invalid shop_webhook ID"}]}`},
		{"GET", "/wc-api/v3/webhooks/", "", 404, `{"errors":[{"code":"woocommerce_api_no_route","message":"No route was found matching the URL and request method"}]}`},
		{"DELETE", "/wc-api/v3/webhooks", "", 404, `{"errors":[{"code":"woocommerce_api_no_route","message":"No route was found matching the URL and request method"}]}`},
		{"GET", "/wc-api/v1/webhooks", "", 404, `{"errors":[{"code":"woocommerce_api_no_route","message":"No route was found matching the URL and request method"}]}`},
		{"TRACE", "/wc-api/v3/webhooks", "", 400, `{"errors":[{"code":"woocommerce_api_unsupported_method","message":"Unsupported request method"}]}`},
		{"GET", fmt.Sprintf("/wc-api/v3/webhooks/%d/deliveries/0", id), "", 404, `{"errors":[{"code":"woocommerce_api_invalid_webhook_delivery_id","message":"Invalid webhook delivery ID."}]}`},
		{"GET", fmt.Sprintf("/wc-api/v3/webhooks/%d/deliveries/5", id), "", 400, `{"errors":[{"code":"woocommerce_api_invalid_webhook_delivery_id","message":"Invalid webhook delivery."}]}`},
		{"GET", fmt.Sprintf("/wc-api/v3/webhooks/%d/deliveries", id), "", 200, `{"webhook_deliveries":[]}`},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			res := ta.do(tc.method, tc.target, tc.body)
			assert.Equal(t, tc.status, res.status)
			assert.Equal(t, tc.want, res.body)
		})
	}

	ta.auth.v = wcauth.Verdict{Authenticated: true}
	res := ta.do("GET", fmt.Sprintf("/wc-api/v3/webhooks/%d", id), "")
	assert.Equal(t, `{"errors":[{"code":"woocommerce_api_user_cannot_read_webhook","message":"You do not have permission to read this webhook"}]}`, res.body)
	assert.Equal(t, http.StatusUnauthorized, res.status)
	res = ta.do("GET", "/wc-api/v3/webhooks/count", "")
	assert.Equal(t, http.StatusUnauthorized, res.status)
	assert.Equal(t, `{"webhooks":[]}`, ta.do("GET", "/wc-api/v3/webhooks", "").body)
	res = ta.do("POST", "/wc-api/v3/webhooks", `{"webhook":{}}`)
	assert.Equal(t, `{"errors":[{"code":"woocommerce_api_user_cannot_create_webhooks","message":"You do not have permission to create webhooks."}]}`, res.body)

	ta.auth.v = wcauth.Verdict{Err: &wcauth.Error{Code: "woocommerce_api_authentication_error", Message: "Consumer key is invalid.", Status: 401}}
	res = ta.do("GET", "/wc-api/v1/webhooks", "")
	assert.Equal(t, `{"errors":[{"code":"woocommerce_api_authentication_error","message":"Consumer key is invalid."}]}`, res.body)
}
