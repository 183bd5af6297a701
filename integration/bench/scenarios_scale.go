package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/harness"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// scalePhase is the cost of one fixed-rate run of events to one site, with
// a given number of other sites known to the dispatcher.
type scalePhase struct {
	Sites, Hooks        int // sites of the scenario (the event's and the others) and their webhooks
	FanOut              int // webhooks of the event's topic in the event's site
	Known               int // all sites known to the dispatcher (the benchmark's other sites included)
	Events, Failed, Got int
	Lat                 []time.Duration // sorted
	Busy, Idle          cpuDelta        // the run, and a window of the same length without events before it
	Clients, Blocked    int64           // INFO clients at the end of the run
}

// perEvent divides a CPU time by the events of the phase.
func (p scalePhase) perEvent(d time.Duration) time.Duration {
	if p.Events-p.Failed <= 0 {
		return 0
	}
	return d / time.Duration(p.Events-p.Failed)
}

// marginal is busy CPU minus the idle rate over the busy window.
func marginal(busy, idle cpuDelta, pick func(cpuDelta) time.Duration) time.Duration {
	if idle.Wall <= 0 {
		return pick(busy)
	}
	return pick(busy) - time.Duration(float64(pick(idle))*float64(busy.Wall)/float64(idle.Wall))
}

// scaleResult compares the cost per event with one site and with many,
// first with the Redis connection pool as configured by default, then with
// pool_size above the number of sites.
type scaleResult struct {
	Rate, Seconds float64
	HooksPerSite  int
	DefaultPool   int // go-redis's default pool size in Caddy (10 × GOMAXPROCS)
	PoolSize      int // pool_size of the last phase
	One, Many     scalePhase
	Pooled        scalePhase
	RSSKiB        int64
	Notes         []string // what did not go to plan (late warm-ups, a failed reload)
}

func scaleSiteName(i int) string { return fmt.Sprintf("scale-%04d", i) }

// runScale publishes events straight to the event stream of one site
// (XADD through redisstore, as the module does) at a fixed rate; the site
// has HooksPerSite webhooks of the topic, each at its own receiver path.
// It measures Redis and Caddy CPU per event with that site alone, then
// again after adding ScaleSites-1 sites of HooksPerSite webhooks each
// (same topic, never sent an event) that the dispatcher discovers, then
// once more after reloading Caddy with a Redis URL whose pool_size exceeds
// the number of sites (each served site holds one blocking connection).
func runScale(e *env, sz sizes) (scaleResult, error) {
	sr := scaleResult{Rate: sz.ScaleRate, Seconds: sz.ScaleSeconds, HooksPerSite: sz.ScaleHooks, DefaultPool: 10 * caddyProcs(e)}
	ctx := context.Background()
	site0, err := e.store.Site(scaleSiteName(0))
	if err != nil {
		return sr, err
	}
	if err := site0.EnsureQueues(ctx); err != nil {
		return sr, err
	}
	if err := seedWebhooks(ctx, site0, sz.ScaleHooks, topicFanOut10, e.recvURL); err != nil {
		return sr, err
	}
	// The dispatcher discovers the site within its refresh interval (10 s).
	if err := warmSite(e, site0, sz.ScaleHooks, 30*time.Second); err != nil {
		return sr, fmt.Errorf("site %s never served: %w", site0.Name(), err)
	}
	e.caddy.ResetPeakRSS()
	if sr.One, err = scaleMeasure(e, site0, sz, "scale-one", []string{site0.Name()}); err != nil {
		return sr, err
	}
	sr.One.Hooks = sz.ScaleHooks

	names := []string{site0.Name()}
	for i := 1; i < sz.ScaleSites; i++ {
		names = append(names, scaleSiteName(i))
	}
	if err := seedSites(ctx, e, names[1:], sz.ScaleHooks); err != nil {
		return sr, err
	}
	// The dispatcher discovers new sites every 10 s, and at once when it
	// starts (after the reload).
	phase := func(label string, ph *scalePhase, min time.Duration) error {
		waitReaders(ctx, e.rdb, int64(len(names)), min, min+15*time.Second)
		if err := warmSite(e, site0, sz.ScaleHooks, 10*time.Second); err != nil {
			sr.Notes = append(sr.Notes, label+": the warm-up event was not delivered in time ("+err.Error()+")")
		}
		var err error
		if *ph, err = scaleMeasure(e, site0, sz, "scale-"+label, names); err != nil {
			return err
		}
		ph.Hooks = sz.ScaleHooks * len(names)
		return nil
	}
	if err := phase("many", &sr.Many, 11*time.Second); err != nil {
		return sr, err
	}
	sr.PoolSize = len(names) + 100
	pooled := strings.Replace(e.cfile, "redis "+e.redis.URL+"\n", fmt.Sprintf("redis %s?pool_size=%d\n", e.redis.URL, sr.PoolSize), 1)
	if pooled == e.cfile {
		return sr, fmt.Errorf("no redis line in the Caddyfile")
	}
	if err := e.caddy.Reload(pooled); err != nil {
		sr.Notes = append(sr.Notes, "reload with pool_size failed: "+err.Error())
		sr.RSSKiB = e.caddy.PeakRSS()
		return sr, nil
	}
	if err := phase("pooled", &sr.Pooled, time.Second); err != nil {
		return sr, err
	}
	sr.RSSKiB = e.caddy.PeakRSS()
	return sr, nil
}

// caddyProcs is Caddy's GOMAXPROCS, taken to be this process's (same
// machine, same limits).
func caddyProcs(*env) int { return runtime.GOMAXPROCS(0) }

// warmSite publishes one event to site and waits for its deliveries.
func warmSite(e *env, site *redisstore.Site, hooks int, timeout time.Duration) error {
	run := "warm-" + site.Name()
	e.recv.reset(run)
	p, _ := json.Marshal(hookPayload{Run: run, K: 0, T: time.Now().UnixNano()})
	if _, err := site.PublishEvent(context.Background(), topicFanOut10, 1, p, time.Now()); err != nil {
		return err
	}
	if got, _, _ := e.recv.wait(hooks, timeout); len(got) < hooks {
		return fmt.Errorf("%d of %d deliveries in %s", len(got), hooks, timeout)
	}
	return nil
}

// seedSites registers sites (queues and the known-sites set) and stores
// hooks webhooks in each, with 8 concurrent writers.
func seedSites(ctx context.Context, e *env, names []string, hooks int) error {
	jobs := make(chan string)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range jobs {
				site, err := e.store.Site(name)
				if err == nil {
					err = site.EnsureQueues(ctx)
				}
				for i := 0; err == nil && i < hooks; i++ {
					err = site.CreateWebhook(ctx, &redisstore.Webhook{Name: fmt.Sprintf("Webhook %d", i),
						Status: redisstore.StatusActive, Topic: topicFanOut10, DeliveryURL: fmt.Sprintf("%s/%d", e.recvURL, i),
						Secret: "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN", APIVersion: redisstore.APIVersionWPV3,
						UserID: 1, Created: time.Now()})
				}
				if err != nil {
					select {
					case errs <- fmt.Errorf("seed site %s: %w", name, err):
					default:
					}
				}
			}
		}()
	}
	for _, n := range names {
		jobs <- n
	}
	close(jobs)
	wg.Wait()
	close(errs)
	return <-errs
}

// blockedClients is INFO clients blocked_clients: the dispatcher's
// readers waiting in XREADGROUP (one per site it reads, when its pool has
// a connection for each; Redis 7.0 shows no consumer in XINFO until a
// blocking read returns an entry, so this is what can be observed).
func blockedClients(ctx context.Context, rdb *redis.Client) int64 {
	info, err := harness.RedisInfo(ctx, rdb, "clients")
	if err != nil {
		return 0
	}
	return harness.InfoInt(info, "blocked_clients")
}

// waitReaders waits at least min (for the dispatcher's site discovery),
// then until want readers are blocked, their number stopped growing for
// 3 s, or timeout passed.
func waitReaders(ctx context.Context, rdb *redis.Client, want int64, min, timeout time.Duration) int64 {
	start := time.Now()
	time.Sleep(min)
	best, bestAt := int64(-1), time.Now()
	for {
		n := blockedClients(ctx, rdb)
		if n > best {
			best, bestAt = n, time.Now()
		}
		if n >= want || time.Since(start) > timeout || time.Since(bestAt) > 3*time.Second {
			return n
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// scaleMeasure runs an idle window, then the fixed-rate run, sampling CPU.
func scaleMeasure(e *env, site *redisstore.Site, sz sizes, run string, names []string) (scalePhase, error) {
	ctx := context.Background()
	ph := scalePhase{Sites: len(names), FanOut: sz.ScaleHooks}
	n := int(sz.ScaleRate * sz.ScaleSeconds)
	ph.Events = n
	idleFrom, err := e.sample(ctx)
	if err != nil {
		return ph, err
	}
	time.Sleep(time.Duration(sz.ScaleSeconds * float64(time.Second)))
	from, err := e.sample(ctx)
	if err != nil {
		return ph, err
	}
	ph.Idle = idleFrom.to(from)
	e.recv.reset(run)
	ph.Failed, _ = openLoop(n, sz.ScaleRate, 16, func(i int) error {
		p, _ := json.Marshal(hookPayload{Run: run, K: i, T: time.Now().UnixNano()})
		_, err := site.PublishEvent(ctx, topicFanOut10, int64(i+1), p, time.Now())
		return err
	})
	got, _, _ := e.recv.waitStall((n-ph.Failed)*sz.ScaleHooks, sz.Drain, 3*time.Second)
	drain(ctx, site, 2*time.Second)
	to, err := e.sample(ctx)
	if err != nil {
		return ph, err
	}
	ph.Busy = from.to(to)
	sortDur(got)
	ph.Got, ph.Lat = len(got), got
	ph.Clients, ph.Blocked = to.Clients, to.Blocked
	if known, err := e.store.KnownSites(ctx); err == nil {
		ph.Known = len(known)
	}
	return ph, nil
}
