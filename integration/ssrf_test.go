package integration

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestDeliverySSRFRefused: without allow_networks, deliveries (and pings)
// to loopback, private, link-local addresses are refused at dial time: the
// receivers get nothing, and each webhook's delivery log shows the refusal.
// retry_ladder 1h proves the refusal fails the delivery at once.
func TestDeliverySSRFRefused(t *testing.T) {
	h := newHookEnv(t, dispatchBlock(false, "retry_ladder 1h"))
	sec := hookSecret{Stored: "ssrf", Key: "ssrf"}
	v4 := newHookReceiver(t, nil)
	urls := []string{v4.URL, "http://10.0.0.1:9/hook", "http://169.254.169.254/latest/meta-data/"}
	var v6hits atomic.Int32
	if l, err := net.Listen("tcp", "[::1]:0"); err == nil {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { v6hits.Add(1) }))
		srv.Listener = l
		srv.Start()
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL+"/hook")
	} else {
		urls = append(urls, "http://[::1]:9/hook")
	}

	var ids []int64
	for i, u := range urls {
		ids = append(ids, h.CreateWebhook(t, fmt.Sprintf("ssrf-%d", i), "order.updated", u, sec, "").ID)
	}
	time.Sleep(fanoutCacheWait)
	h.Publish(t, `{"topic":"order.updated","resource_id":5,"payload":{"id":5}}`)

	for i, id := range ids {
		waitUntil(t, 30*time.Second, "the refusal of "+urls[i], func() bool { return h.Stored(t, id).FailureCount == 1 })
		ds := h.Deliveries(t, deliveryRoutes[0], id)
		if !assert.Len(t, ds, 1, urls[i]) {
			continue
		}
		d := ds[0]
		assert.Equal(t, "http_request_failed", d.ResponseCode, urls[i])
		assert.Contains(t, strings.ToLower(d.Summary+" "+d.ResponseMessage), "not allowed", "%s: the log names the refusal", urls[i])
		assert.Equal(t, urls[i], d.RequestURL)
		assert.True(t, h.Stored(t, id).PendingDelivery, "%s: a refused ping leaves pending_delivery set", urls[i])
	}
	assert.Empty(t, v4.Requests(), "nothing reached 127.0.0.1")
	assert.Zero(t, v6hits.Load(), "nothing reached [::1]")
}
