package wcapi

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

func TestDeliveriesRoutes(t *testing.T) {
	ta := newTestAPI(t)
	id := ta.create("x", "order.updated")
	d := &redisstore.Delivery{
		WebhookID: id, Duration: "0.40888", Summary: "HTTP 200 OK: ok", RequestMethod: "POST",
		RequestURL: "http://requestb.in/1g0sxmo1",
		RequestHeaders: map[string]string{
			"User-Agent": "WooCommerce/9.8.1 Hookshot (WordPress/6.8)", "Content-Type": "application/json",
			"X-WC-Webhook-ID": fmt.Sprint(id), "X-WC-Webhook-Delivery-ID": "7", "webhook-id": "msg_1",
		},
		RequestBody: `{"id":118}`, ResponseCode: "200", ResponseMessage: "OK",
		ResponseHeaders: map[string]string{"content-type": "text/html; charset=utf-8"}, ResponseBody: "ok",
		Created: time.Date(2016, 5, 16, 3, 30, 31, 0, time.UTC),
	}
	require.NoError(t, ta.site.AppendDelivery(t.Context(), d, 25))

	for _, v := range []int{1, 2, 3} {
		res := ta.do("GET", fmt.Sprintf("/wp-json/wc/v%d/webhooks/%d/deliveries", v, id), "")
		require.Equal(t, http.StatusOK, res.status, res.body)
		var list []map[string]any
		res.json(t, &list)
		require.Len(t, list, 1)
		assert.Equal(t, "HTTP 200 OK: ok", list[0]["summary"])
		headers := list[0]["request_headers"].(map[string]any)
		assert.Equal(t, float64(id), headers["X-WC-Webhook-ID"])
		links := list[0]["_links"].(map[string]any)
		assert.Contains(t, links, "up")
		if v == 1 {
			assert.Equal(t, "2016-05-16T03:30:31", list[0]["date_created"])
		} else {
			assert.Equal(t, "2016-05-16T05:30:31", list[0]["date_created"])
			assert.Equal(t, "2016-05-16T03:30:31", list[0]["date_created_gmt"])
		}
	}
	one := ta.do("GET", fmt.Sprintf("/wp-json/wc/v2/webhooks/%d/deliveries/%d", id, d.ID), "")
	require.Equal(t, http.StatusOK, one.status)
	assert.Equal(t, float64(d.ID), one.obj(t)["id"])
	missing := ta.do("GET", fmt.Sprintf("/wp-json/wc/v2/webhooks/%d/deliveries/%d", id, d.ID+1000), "")
	assert.Equal(t, `{"code":"woocommerce_rest_invalid_id","message":"Invalid resource ID.","data":{"status":404}}`, missing.body)

	legacy := ta.do("GET", fmt.Sprintf("/wc-api/v2/webhooks/%d/deliveries/%d", id, d.ID), "")
	require.Equal(t, http.StatusOK, legacy.status, legacy.body)
	var wrapped struct {
		WebhookDelivery map[string]any `json:"webhook_delivery"`
	}
	legacy.json(t, &wrapped)
	assert.Equal(t, "2016-05-16T03:30:31Z", wrapped.WebhookDelivery["created_at"])
}
