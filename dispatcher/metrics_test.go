package dispatcher_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

type fakeMetrics struct {
	mu       sync.Mutex
	attempts map[string]int
	fanned   int
	latency  int
	disabled int
	pings    int
}

func (m *fakeMetrics) EventFannedOut(_ string, jobs int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fanned += jobs
}

func (m *fakeMetrics) Attempt(_ string, outcome string, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.attempts[outcome]++
}

func (m *fakeMetrics) EventToDelivery(string, time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.latency++
}

func (m *fakeMetrics) WebhookDisabled(string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.disabled++
}

func (m *fakeMetrics) JobPoisoned(string) {}

func (m *fakeMetrics) Ping(string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pings++
}

func TestMetricsAndSiteDiscovery(t *testing.T) {
	ctx := context.Background()
	store, site := newSite(t)
	good := newReceiver(t, nil)
	bad := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(http.StatusBadGateway) })
	wg := hook(t, site, redisstore.StatusActive, "order.created", good.URL, "")
	hook(t, site, redisstore.StatusActive, "order.created", bad.URL, "")
	require.NoError(t, site.EnsureQueues(ctx)) // as AddSite in another process does
	names, err := store.KnownSites(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"shop"}, names)

	m := &fakeMetrics{attempts: map[string]int{}}
	opts := testOptions(t, store)
	opts.Metrics = m
	opts.MaxFailures = 1
	opts.DiscoverSites = true
	opts.SiteDefaults = func(name string) dispatcher.SiteOptions {
		return dispatcher.SiteOptions{HomeURL: "https://" + name + ".example"}
	}
	d, err := dispatcher.New(opts)
	require.NoError(t, err)
	require.NoError(t, d.Start(ctx)) // no AddSite: the site is discovered
	t.Cleanup(func() { _ = d.Stop(ctx) })
	_, err = dispatcher.Ping(ctx, site, wg.ID)
	require.NoError(t, err)
	publish(t, site, "order.created", 1, `{}`)
	drained(t, site)

	require.Equal(t, 2, good.count())
	for _, r := range good.requests() {
		if r.header.Get("X-WC-Webhook-Topic") != "" {
			require.Equal(t, "https://shop.example/", r.header.Get("X-WC-Webhook-Source"))
		}
	}
	// The queue drains when the finish script ran; the metrics are counted
	// just after it, in the attempt's goroutine.
	eventually(t, "every metric counted", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.pings == 1 && m.disabled == 1 && m.latency == 1 && m.attempts[dispatcher.OutcomeSuccess]+m.attempts[dispatcher.OutcomeRetry]+m.attempts[dispatcher.OutcomeDisabled] == 4
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	require.Equal(t, 2, m.fanned)
	require.Equal(t, map[string]int{dispatcher.OutcomeSuccess: 1, dispatcher.OutcomeRetry: 2, dispatcher.OutcomeDisabled: 1}, m.attempts)
	require.Equal(t, 1, m.latency)
	require.Equal(t, 1, m.disabled)
	require.Equal(t, 1, m.pings)
	qs, err := d.QueueStats(ctx, site)
	require.NoError(t, err)
	require.Zero(t, qs)
}
