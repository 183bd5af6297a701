package dispatcher_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore/redistest"
)

// hangingReceiver holds every request until release is called.
func hangingReceiver(t *testing.T) (*receiver, func()) {
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusOK)
	})
	return rc, unblock
}

// A hung webhook's overflow is parked in Redis (not deferred again and
// again through the delayed set), and all of it is delivered once the
// receiver answers again.
func TestHungReceiverOverflowIsParked(t *testing.T) {
	ctx := context.Background()
	store, site := newSite(t)
	slow, unblock := hangingReceiver(t)
	fast := newReceiver(t, nil)
	sw := hook(t, site, redisstore.StatusActive, "order.updated", slow.URL, "")
	hook(t, site, redisstore.StatusActive, "order.updated", fast.URL, "")
	opts := testOptions(t, store)
	opts.MaxPerWebhook = 1
	opts.LaneQueue = 3
	start(t, opts, site)

	for i := range 20 {
		publish(t, site, "order.updated", int64(i), `{}`)
	}
	eventually(t, "fast receiver got all 20", func() bool { return fast.count() == 20 })
	// 1 in flight, 3 in the lane, 16 parked.
	eventually(t, "overflow parked", func() bool {
		n, err := site.ParkedCount(ctx, sw.ID)
		require.NoError(t, err)
		return n == 16
	})
	qs, err := site.QueueStats(ctx)
	require.NoError(t, err)
	require.Zero(t, qs.Delayed, "nothing deferred through the delayed set")
	require.Equal(t, int64(4), qs.ReadyPending, "only the lane's jobs stay pending in the work stream")
	unblock()
	drained(t, site)
	require.Equal(t, 20, slow.count())
	n, err := site.ParkedCount(ctx, sw.ID)
	require.NoError(t, err)
	require.Zero(t, n)
}

// Jobs parked by a dispatcher that dies are recovered by another one once
// their lease (VisibilityTimeout) expires: nothing is lost.
func TestParkedJobsRecoveredAfterCrash(t *testing.T) {
	ctx := context.Background()
	store, site := newSite(t)
	var hang atomic.Bool
	hang.Store(true)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if hang.Load() {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	w := hook(t, site, redisstore.StatusActive, "order.updated", rc.URL, "")
	opts := testOptions(t, store)
	opts.MaxPerWebhook = 1
	opts.LaneQueue = 2
	opts.HTTPTimeout = time.Second
	opts.PingTimeout = time.Second
	opts.VisibilityTimeout = 2 * time.Second
	opts.RetryLadder = []time.Duration{time.Millisecond}

	crashed, err := dispatcher.New(opts)
	require.NoError(t, err)
	require.NoError(t, crashed.AddSite(ctx, site, dispatcher.SiteOptions{HomeURL: "https://shop.example"}))
	hard, kill := context.WithCancel(ctx)
	require.NoError(t, crashed.Start(hard))
	for i := range 10 {
		publish(t, site, "order.updated", int64(i), `{"i":`+strconv.Itoa(i)+`}`)
	}
	eventually(t, "overflow parked", func() bool {
		n, err := site.ParkedCount(ctx, w.ID)
		require.NoError(t, err)
		return n == 7
	})
	kill() // hard stop: nothing handed back, the leases stay
	_ = crashed.Stop(ctx)
	hang.Store(false)

	start(t, opts, site)
	drained(t, site)
	n, err := site.ParkedCount(ctx, w.ID)
	require.NoError(t, err)
	require.Zero(t, n)
	got := map[string]bool{}
	for _, r := range rc.requests() {
		got[string(r.body)] = true
	}
	require.Len(t, got, 10, "every event delivered")
}

// Stop hands jobs read but not started back to the work stream at once, so
// the next dispatcher sends them without waiting for the visibility
// timeout (5 minutes here).
func TestStopHandsBackUnstartedJobs(t *testing.T) {
	ctx := context.Background()
	store, site := newSite(t)
	slow, unblock := hangingReceiver(t)
	w := hook(t, site, redisstore.StatusActive, "order.updated", slow.URL, "")
	opts := testOptions(t, store)
	opts.MaxPerWebhook = 1
	opts.LaneQueue = 10
	opts.VisibilityTimeout = 5 * time.Minute
	old, err := dispatcher.New(opts)
	require.NoError(t, err)
	require.NoError(t, old.AddSite(ctx, site, dispatcher.SiteOptions{HomeURL: "https://shop.example"}))
	require.NoError(t, old.Start(ctx))
	for i := range 5 {
		publish(t, site, "order.updated", int64(i), `{}`)
	}
	eventually(t, "one in flight, four queued", func() bool {
		qs, err := site.QueueStats(ctx)
		require.NoError(t, err)
		return slow.count() == 1 && qs.ReadyPending == 5
	})
	stopped := make(chan error, 1)
	go func() { stopped <- old.Stop(ctx) }()
	eventually(t, "four handed back", func() bool {
		qs, err := site.QueueStats(ctx)
		require.NoError(t, err)
		return qs.Ready == 5 && qs.ReadyPending == 1
	})
	unblock()
	require.NoError(t, <-stopped)

	start(t, opts, site)
	drained(t, site)
	require.Equal(t, 5, slow.count())
	logs, err := site.ListDeliveries(ctx, w.ID)
	require.NoError(t, err)
	require.Len(t, logs, 5)
}

// Many sites are read by a few shared blocking reads, so a small client
// pool is not exhausted by blocked readers and every site is served.
func TestManySitesFewReadConnections(t *testing.T) {
	ctx := context.Background()
	addr := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 4})
	t.Cleanup(func() { _ = rdb.Close() })
	store := redisstore.New(rdb, redisstore.Options{})
	rc := newReceiver(t, nil)
	opts := testOptions(t, store)
	opts.ReadBlock = 2 * time.Second
	d, err := dispatcher.New(opts)
	require.NoError(t, err)
	const n = 30
	var sites []*redisstore.Site
	for i := range n {
		site, err := store.Site("shop" + strconv.Itoa(i))
		require.NoError(t, err)
		hook(t, site, redisstore.StatusActive, "order.created", rc.URL, "")
		require.NoError(t, d.AddSite(ctx, site, dispatcher.SiteOptions{HomeURL: "https://shop.example"}))
		sites = append(sites, site)
	}
	require.NoError(t, d.Start(ctx))
	t.Cleanup(func() { _ = d.Stop(context.Background()) })
	// A site added while running is served too.
	late, err := store.Site("late")
	require.NoError(t, err)
	hook(t, late, redisstore.StatusActive, "order.created", rc.URL, "")
	require.NoError(t, d.AddSite(ctx, late, dispatcher.SiteOptions{HomeURL: "https://shop.example"}))
	sites = append(sites, late)

	for _, s := range sites {
		publish(t, s, "order.created", 1, `{}`)
	}
	eventually(t, "every site delivered", func() bool { return rc.count() == len(sites) })

	// Idle: the blocked reads are the shared readers, not one per site.
	obs := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = obs.Close() })
	eventually(t, "readers blocked", func() bool { return blockedClients(t, obs) >= 1 })
	for range 20 {
		require.LessOrEqual(t, blockedClients(t, obs), 2)
		time.Sleep(10 * time.Millisecond)
	}
}

func blockedClients(t *testing.T, c *redis.Client) int {
	info, err := c.Info(context.Background(), "clients").Result()
	require.NoError(t, err)
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "blocked_clients:"); ok {
			n, err := strconv.Atoi(v)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no blocked_clients in INFO")
	return 0
}
