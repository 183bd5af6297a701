package wcapi

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// recordingDispatch records what the API hands to the dispatcher; the
// dispatcher itself is tested in its package and end to end.
type recordingDispatch struct {
	mu     sync.Mutex
	pings  []int64
	events []string
	redo   error
}

func (d *recordingDispatch) Publish(_ context.Context, topic string, id int64, payload []byte) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.events = append(d.events, fmt.Sprintf("%s %d %s", topic, id, payload))
	return fmt.Sprintf("1-%d", len(d.events)), nil
}

func (d *recordingDispatch) Ping(_ context.Context, id int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pings = append(d.pings, id)
	return nil
}

func (d *recordingDispatch) Redeliver(_ context.Context, _, _ int64) (int64, error) {
	return 77, d.redo
}

func withDispatch(t *testing.T) (*testAPI, *recordingDispatch) {
	ta := newTestAPI(t)
	d := &recordingDispatch{}
	ta.api.opts.Dispatch = d
	return ta, d
}

func TestPings(t *testing.T) {
	ta, d := withDispatch(t)
	id := ta.create("a", "order.created")
	assert.Equal(t, []int64{id}, d.pings, "a webhook created active is pinged")
	paused := ta.do("POST", "/wp-json/wc/v3/webhooks", `{"topic":"order.created","delivery_url":"https://e.com","status":"paused"}`)
	require.Equal(t, http.StatusCreated, paused.status)
	assert.Len(t, d.pings, 1, "a paused webhook is not pinged")

	ta.do("PUT", fmt.Sprintf("/wp-json/wc/v3/webhooks/%d", id), `{"name":"b"}`)
	assert.Len(t, d.pings, 2, "a save while the first ping is still pending pings again")
	w, err := ta.site.GetWebhook(t.Context(), id)
	require.NoError(t, err)
	w.PendingDelivery = false
	require.NoError(t, ta.site.SaveWebhook(t.Context(), w))
	ta.do("PUT", fmt.Sprintf("/wp-json/wc/v3/webhooks/%d", id), `{"name":"c"}`)
	assert.Len(t, d.pings, 2, "no ping once a ping succeeded")
	ta.do("PUT", fmt.Sprintf("/wp-json/wc/v3/webhooks/%d", id), `{"delivery_url":"https://new.example/"}`)
	assert.Len(t, d.pings, 3, "a new delivery URL is pinged")

	batch := ta.do("POST", "/wp-json/wc/v3/webhooks/batch", `{"create":[{"topic":"order.created","delivery_url":"https://a.example"},{"topic":"order.created","delivery_url":"https://b.example"}]}`)
	require.Equal(t, http.StatusOK, batch.status)
	assert.Len(t, d.pings, 5, "each batch-created webhook is pinged")
	legacy := ta.do("POST", "/wc-api/v3/webhooks", `{"webhook":{"topic":"order.created","delivery_url":"https://c.example"}}`)
	require.Equal(t, http.StatusCreated, legacy.status)
	assert.Len(t, d.pings, 6)
}

func TestEventsRoute(t *testing.T) {
	ta, d := withDispatch(t)
	res := ta.do("POST", "/wp-json/wc-webhooks/v1/events", `{"topic":"Order.Created","resource_id":118,"payload": {"id":118,"total":"14.00" , "x":"\/"}}`)
	require.Equal(t, http.StatusAccepted, res.status, res.body)
	assert.Equal(t, `{"id":"1-1","topic":"order.created","resource_id":118}`, res.body)
	assert.Equal(t, `order.created 118 {"id":118,"total":"14.00" , "x":"\/"}`, d.events[0], "payload bytes are forwarded as sent")

	res = ta.do("POST", "/?rest_route=/wc-webhooks/v1/events", `{"topic":"product.deleted","resource_id":7}`)
	require.Equal(t, http.StatusAccepted, res.status, res.body)
	assert.Equal(t, `product.deleted 7 {"id":7}`, d.events[1])
	res = ta.do("POST", "/wp-json/wc-webhooks/v1/events", `{"topic":"action.woocommerce_add_to_cart","arg":"7cbbc409ec990f19c78c75bd1e06f215/é"}`)
	require.Equal(t, http.StatusAccepted, res.status, res.body)
	assert.Equal(t, `action.woocommerce_add_to_cart 0 {"action":"woocommerce_add_to_cart","arg":"7cbbc409ec990f19c78c75bd1e06f215\/\u00e9"}`, d.events[2])

	cases := []struct{ body, want string }{
		{`{"resource_id":1}`, `{"code":"rest_missing_callback_param","message":"Missing parameter(s): topic","data":{"status":400,"params":["topic"]}}`},
		{`{"topic":"order.nope","payload":{}}`, `{"code":"wc_webhooks_invalid_topic","message":"Event topic must be a valid webhook topic.","data":{"status":400}}`},
		{`{"topic":"order.created","resource_id":1}`, `{"code":"rest_missing_callback_param","message":"Missing parameter(s): payload","data":{"status":400,"params":["payload"]}}`},
		{`{"topic":"order.created","resource_id":"x","payload":{}}`, `{"code":"wc_webhooks_invalid_resource_id","message":"resource_id must be a non-negative integer.","data":{"status":400}}`},
		{`{"topic":`, `{"code":"rest_invalid_json","message":"Invalid JSON body passed.","data":{"status":400}}`},
	}
	for _, tc := range cases {
		res := ta.do("POST", "/wp-json/wc-webhooks/v1/events", tc.body)
		assert.Equal(t, http.StatusBadRequest, res.status, tc.body)
		assert.Equal(t, tc.want, res.body)
	}
	assert.Equal(t, http.StatusNotFound, ta.do("GET", "/wp-json/wc-webhooks/v1/events", "").status)

	ta.auth.v.CanManage = false
	res = ta.do("POST", "/wp-json/wc-webhooks/v1/events", `{"topic":"order.created","payload":{}}`)
	assert.Equal(t, http.StatusForbidden, res.status)
	assert.Len(t, d.events, 3, "nothing published without the right to manage webhooks")
}

func TestRedeliverRoute(t *testing.T) {
	ta, d := withDispatch(t)
	id := ta.create("a", "order.created")
	url := fmt.Sprintf("/wp-json/wc-webhooks/v1/webhooks/%d/deliveries/5/redeliver", id)
	res := ta.do("POST", url, "")
	require.Equal(t, http.StatusAccepted, res.status, res.body)
	assert.Equal(t, fmt.Sprintf(`{"webhook_id":%d,"delivery_id":5,"job_id":77}`, id), res.body)
	d.redo = fmt.Errorf("wrapped: %w", redisstore.ErrNotFound)
	assert.Equal(t, http.StatusNotFound, ta.do("POST", url, "").status)
	d.redo = fmt.Errorf("wrapped: %w", dispatcher.ErrRedeliveryUnavailable)
	assert.Equal(t, http.StatusConflict, ta.do("POST", url, "").status)
	res = ta.do("POST", "/wp-json/wc-webhooks/v1/webhooks/999999/deliveries/5/redeliver", "")
	assert.Equal(t, `{"code":"woocommerce_rest_webhook_invalid_id","message":"Invalid webhook ID.","data":{"status":404}}`, res.body)

	ta.api.opts.Dispatch = nil
	assert.Equal(t, http.StatusNotImplemented, ta.do("POST", url, "").status)
}
