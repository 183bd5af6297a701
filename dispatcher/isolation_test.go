package dispatcher_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

func TestSlowReceiverDoesNotBlockFast(t *testing.T) {
	store, site := newSite(t)
	release := make(chan struct{})
	slow := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		<-release
		w.WriteHeader(http.StatusOK)
	})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	fast := newReceiver(t, nil)
	hook(t, site, redisstore.StatusActive, "order.updated", slow.URL, "")
	hook(t, site, redisstore.StatusActive, "order.updated", fast.URL, "")
	opts := testOptions(t, store)
	opts.MaxPerWebhook = 2
	opts.MaxConcurrent = 4
	opts.LaneQueue = 3
	start(t, opts, site)

	for i := range 20 {
		publish(t, site, "order.updated", int64(i), `{}`)
	}
	// Every fast delivery arrives while the slow receiver holds its requests.
	eventually(t, "fast receiver got all 20", func() bool { return fast.count() == 20 })
	require.LessOrEqual(t, slow.count(), 2, "at most MaxPerWebhook in flight to one webhook")
	unblock()
	drained(t, site)
	require.Equal(t, 20, slow.count())
}

func TestSSRFRefusedByDefault(t *testing.T) {
	ctx := context.Background()
	store, site := newSite(t)
	rc := newReceiver(t, nil)
	_, port, err := net.SplitHostPort(strings.TrimPrefix(rc.URL, "http://"))
	require.NoError(t, err)
	urls := []string{
		rc.URL,
		"http://10.0.0.1:" + port + "/",
		"http://[::1]:" + port + "/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::ffff:127.0.0.1]:" + port + "/",
		"http://localhost:" + port + "/",
		"http://user:pass@example.com/",
	}
	var hooks []*redisstore.Webhook
	for _, u := range urls {
		hooks = append(hooks, hook(t, site, redisstore.StatusActive, "order.created", u, ""))
	}
	opts := testOptions(t, store)
	opts.AllowCIDRs = nil
	start(t, opts, site)
	publish(t, site, "order.created", 1, `{}`)
	drained(t, site)

	require.Zero(t, rc.count(), "nothing reached the loopback receiver")
	for i, w := range hooks {
		logs, err := site.ListDeliveries(ctx, w.ID)
		require.NoError(t, err)
		require.Len(t, logs, 1, "refused at once, never retried: %s", urls[i])
		require.Equal(t, "http_request_failed", logs[0].ResponseCode, urls[i])
		require.Contains(t, logs[0].ResponseMessage, "A valid URL was not provided.", urls[i])
		if i < len(urls)-1 {
			require.Contains(t, logs[0].ResponseMessage, "not allowed", urls[i])
		}
		got, err := site.GetWebhook(ctx, w.ID)
		require.NoError(t, err)
		require.Equal(t, 1, got.FailureCount, urls[i])
	}
}
