package dispatcher_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// tally counts deliveries per event number at a receiver.
type tally struct {
	mu   sync.Mutex
	url  string
	seen map[int]int
	all  int
}

func (t *tally) add(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seen[n]++
	t.all++
}

func (t *tally) counts() (distinct, all int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.seen), t.all
}

func countingReceiver(t *testing.T, pause time.Duration) *tally {
	tl := &tally{seen: map[int]int{}}
	var rc *receiver
	rc = newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		var body struct{ N int }
		if err := json.Unmarshal(rc.requests()[n-1].body, &body); err == nil {
			tl.add(body.N)
		}
		time.Sleep(pause)
		w.WriteHeader(http.StatusOK)
	})
	tl.url = rc.URL
	return tl
}

func burst(t *testing.T, site *redisstore.Site, topic string, n int) {
	t.Helper()
	for i := range n {
		publish(t, site, topic, int64(i), `{"n":`+strconv.Itoa(i)+`}`)
	}
}

func TestHardStopMidBurstLosesNothing(t *testing.T) {
	const n = 400
	store, site := newSite(t)
	tl := countingReceiver(t, 5*time.Millisecond)
	hook(t, site, redisstore.StatusActive, "order.created", tl.url, "")
	opts := testOptions(t, store)
	opts.HTTPTimeout = time.Second
	opts.PingTimeout = time.Second
	opts.VisibilityTimeout = 1500 * time.Millisecond

	d1, err := dispatcher.New(opts)
	require.NoError(t, err)
	require.NoError(t, d1.AddSite(context.Background(), site, dispatcher.SiteOptions{HomeURL: "https://shop.example"}))
	ctx1, cancel1 := context.WithCancel(context.Background())
	require.NoError(t, d1.Start(ctx1))
	burst(t, site, "order.created", n)
	eventually(t, "first deliveries", func() bool { d, _ := tl.counts(); return d >= 50 })
	cancel1() // hard stop: nothing more is recorded, in-flight attempts are abandoned
	require.NoError(t, d1.Stop(context.Background()))
	distinct, _ := tl.counts()
	require.Less(t, distinct, n, "the stop happened mid-burst")

	opts.ConsumerName = "" // a new process gets a new consumer name
	d2, err := dispatcher.New(opts)
	require.NoError(t, err)
	require.NotEqual(t, d1.ConsumerName(), d2.ConsumerName())
	require.NoError(t, d2.AddSite(context.Background(), site, dispatcher.SiteOptions{HomeURL: "https://shop.example"}))
	require.NoError(t, d2.Start(context.Background()))
	t.Cleanup(func() { _ = d2.Stop(context.Background()) })
	eventually(t, "every event delivered", func() bool { d, _ := tl.counts(); return d == n })
	drained(t, site)
	_, all := tl.counts()
	t.Logf("%d events, %d deliveries (%d duplicates from abandoned in-flight attempts)", n, all, all-n)
	// Per worker of the one webhook: the attempt being sent and the one
	// sent whose outcome was being recorded.
	require.LessOrEqual(t, all-n, 2*dispatcher.DefaultMaxPerWebhook, "duplicates only for attempts in flight")
}

func TestTwoDispatchersShareWork(t *testing.T) {
	const n = 300
	store, site := newSite(t)
	tl := countingReceiver(t, 0)
	hook(t, site, redisstore.StatusActive, "order.created", tl.url, "")
	opts := testOptions(t, store)
	opts.ConsumerName = "one"
	d1 := start(t, opts, site)
	opts.ConsumerName = "two"
	start(t, opts, site)

	burst(t, site, "order.created", n)
	eventually(t, "every event delivered", func() bool { d, _ := tl.counts(); return d == n })
	drained(t, site)
	distinct, all := tl.counts()
	require.Equal(t, n, distinct)
	require.Equal(t, n, all, "no double delivery without crashes")

	consumers, err := store.Client().XInfoConsumers(context.Background(), site.KeyPrefix()+"dq:ready", redisstore.QueueGroup).Result()
	require.NoError(t, err)
	for _, c := range consumers {
		require.Zero(t, c.Pending, c.Name)
		t.Logf("consumer %s", c.Name)
	}
	require.NoError(t, d1.Stop(context.Background()))
	require.NoError(t, d1.Stop(context.Background()), "Stop is idempotent")
	// Restarted, it serves again.
	require.NoError(t, d1.Start(context.Background()))
	publish(t, site, "order.created", n, `{"n":`+strconv.Itoa(n)+`}`)
	eventually(t, "delivery after restart", func() bool { d, _ := tl.counts(); return d == n+1 })
}
