package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// Dispatcher turns the events of its sites into webhook deliveries. It is
// safe for concurrent use. Several dispatchers (processes) on one Redis
// share the work.
type Dispatcher struct {
	cfg        config
	log        *zap.Logger
	client     *http.Client
	pingClient *http.Client

	mu      sync.Mutex
	sites   map[string]*siteState
	running bool
	loopCtx context.Context // cancelled by Stop: no new work
	hardCtx context.Context // cancelled by Start's ctx or an expired Stop: abort in-flight
	stopAll context.CancelFunc
	stopNew context.CancelFunc
	wg      sync.WaitGroup // lane workers and outcome recording
	readWG  sync.WaitGroup // readers and the maintenance loop

	lanesMu  sync.Mutex
	lanes    map[laneKey]*lane
	inflight map[jobKey]struct{}
	sem      chan struct{}
	freed    chan struct{}      // signalled when a held job is released
	soon     chan time.Duration // a retry was scheduled this far ahead: promote then
	parked   map[laneKey]bool   // lanes with jobs parked in Redis (park.go); lanesMu

	multiRead    bool          // shared readers (readers.go)
	shardGen     []uint64      // reads started per shard; mu
	fresh        []*freshSites // sites added but not yet read by their shard; mu
	sitesChanged chan struct{} // closed when a site is added; mu
}

// siteState is one served site.
type siteState struct {
	site  *redisstore.Site
	opts  SiteOptions
	batch *siteBatchers

	cacheMu  sync.Mutex
	cached   []redisstore.Webhook
	cachedAt time.Time

	promMu    sync.Mutex // promote schedule (promote.go)
	promoteAt time.Time
	hintAt    time.Time
	idle      time.Duration
	active    time.Time // entries last read
}

// New returns a dispatcher; it does nothing until Start.
func New(opts Options) (*Dispatcher, error) {
	cfg, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	dc, pc := newClients(cfg)
	return &Dispatcher{
		cfg: cfg, log: cfg.Logger.With(zap.String("consumer", cfg.ConsumerName)),
		client: dc, pingClient: pc,
		sites: map[string]*siteState{}, lanes: map[laneKey]*lane{}, inflight: map[jobKey]struct{}{},
		sem: make(chan struct{}, cfg.MaxConcurrent), freed: make(chan struct{}, 1),
		soon: make(chan time.Duration, 16), parked: map[laneKey]bool{},
		multiRead: cfg.Store.MultiSiteReads(),
	}, nil
}

// ConsumerName returns the name this dispatcher uses in the consumer groups.
func (d *Dispatcher) ConsumerName() string { return d.cfg.ConsumerName }

// AddSite makes the dispatcher serve site: it creates the site's streams
// and consumer groups, records the site in the store's known-sites set and,
// when running, starts reading its queues. Adding a site again updates its
// options.
func (d *Dispatcher) AddSite(ctx context.Context, site *redisstore.Site, so SiteOptions) error {
	if site == nil {
		return errors.New("dispatcher: add site: no site")
	}
	if err := site.EnsureQueues(ctx); err != nil {
		return fmt.Errorf("dispatcher: add site %s: %w", site.Name(), err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if ss, ok := d.sites[site.Name()]; ok {
		ss.opts = so
		return nil
	}
	ss := &siteState{site: site, opts: so, batch: d.newBatchers(site)}
	d.sites[site.Name()] = ss
	if d.running {
		d.siteAdded(ss)
	}
	return nil
}

// Start launches the workers: the readers (on a standalone Redis a few
// shared readers, each one XREADGROUP over the event and work streams of
// its share of the sites; on a Cluster one per site), a maintenance loop
// (promote due retries, reclaim stale entries and expired parked jobs,
// discover sites) and delivery workers on demand. Calling
// it while running does nothing. Cancelling ctx is a hard stop: in-flight
// attempts are aborted and left for reclaim; use Stop for a clean one.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running {
		return nil
	}
	d.hardCtx, d.stopAll = context.WithCancel(ctx)
	d.loopCtx, d.stopNew = context.WithCancel(d.hardCtx)
	d.running = true
	for _, ss := range d.sites {
		if !d.shared(ss) {
			d.startSite(ss)
		}
	}
	d.startReaders()
	d.readWG.Add(1)
	go d.maintain(d.loopCtx)
	d.log.Info("webhook dispatcher started", zap.Int("sites", len(d.sites)))
	return nil
}

// Stop stops reading new work and waits for in-flight attempts to finish;
// jobs read but not started are handed back to the work stream at once
// (any dispatcher takes them), and parked jobs of this process are
// released to the next dispatcher's recovery. When ctx ends first,
// in-flight attempts are aborted (left for reclaim after
// VisibilityTimeout) and Stop returns ctx's error.
// Readers notice the stop when their blocking read returns (at most
// ReadBlock, default 2 s). Calling it when stopped does nothing; Start
// may be called again afterwards.
func (d *Dispatcher) Stop(ctx context.Context) error {
	d.mu.Lock()
	if !d.running {
		d.mu.Unlock()
		return nil
	}
	d.running = false
	stopNew, stopAll := d.stopNew, d.stopAll
	d.mu.Unlock()
	stopNew()
	done := make(chan struct{})
	go func() {
		// Once the readers are out, no job joins a lane any more: hand
		// back what the lanes hold, then wait for the attempts in flight.
		d.readWG.Wait()
		d.handBackQueued()
		d.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
		d.releaseParked()
	case <-ctx.Done():
		err = ctx.Err()
		stopAll()
		<-done
	}
	stopAll()
	d.log.Info("webhook dispatcher stopped")
	return err
}

// startSite launches the reader of ss; d.mu is held.
func (d *Dispatcher) startSite(ss *siteState) {
	d.readWG.Add(1)
	go d.readLoop(d.loopCtx, ss)
}

// QueueStats returns the queue sizes of a site (for gauges).
func (d *Dispatcher) QueueStats(ctx context.Context, site *redisstore.Site) (redisstore.QueueStats, error) {
	return site.QueueStats(ctx)
}

// readLoop reads a site's event and work streams until ctx ends.
func (d *Dispatcher) readLoop(ctx context.Context, ss *siteState) {
	defer d.readWG.Done()
	log := d.log.With(zap.String("site", ss.site.Name()))
	for ctx.Err() == nil {
		n := d.readBudget(ctx)
		if n == 0 {
			return
		}
		evs, jobs, err := ss.site.ReadQueues(d.hardCtx, d.cfg.ConsumerName, n, d.cfg.ReadBlock)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("read queues failed", zap.Error(err))
			sleep(ctx, time.Second)
			continue
		}
		d.handle(d.hardCtx, ss, evs, jobs) // read before a stop: still fanned out, handed back
	}
}

// handle fans out events and hands jobs to their webhook's lane.
func (d *Dispatcher) handle(ctx context.Context, ss *siteState, evs []redisstore.Event, jobs []redisstore.QueuedJob) {
	if len(evs)+len(jobs) > 0 {
		ss.touch(time.Now())
	}
	if err := d.fanOut(ctx, ss, evs); err != nil && ctx.Err() == nil {
		d.log.Warn("fan out failed; the events stay pending", zap.String("site", ss.site.Name()),
			zap.Int("events", len(evs)), zap.Error(err))
	}
	var full []redisstore.QueuedJob
	for _, q := range jobs {
		if !d.submit(ss, q) {
			full = append(full, q)
		}
	}
	d.park(ss, full)
}

// fanOut creates the jobs of the events, one per active webhook of the
// site with the event's topic (and API version, when the event names one),
// in one round trip.
func (d *Dispatcher) fanOut(ctx context.Context, ss *siteState, evs []redisstore.Event) error {
	if len(evs) == 0 {
		return nil
	}
	hooks, err := d.activeWebhooks(ctx, ss)
	if err != nil {
		return err
	}
	reqs := make([]redisstore.FanOutRequest, len(evs))
	for i, ev := range evs {
		reqs[i].EventEntryID = ev.EntryID
		for _, w := range hooks {
			if w.Topic == ev.Topic && (ev.APIVersion == "" || w.APIVersion == ev.APIVersion) {
				reqs[i].WebhookIDs = append(reqs[i].WebhookIDs, w.ID)
			}
		}
	}
	res, err := ss.site.FanOutBatch(ctx, reqs)
	if err != nil {
		return err
	}
	for _, n := range res {
		if n >= 0 {
			d.cfg.Metrics.EventFannedOut(ss.site.Name(), n)
		}
	}
	return nil
}

// activeWebhooks lists the site's active webhooks, cached WebhookCacheTTL.
func (d *Dispatcher) activeWebhooks(ctx context.Context, ss *siteState) ([]redisstore.Webhook, error) {
	ss.cacheMu.Lock()
	defer ss.cacheMu.Unlock()
	if d.cfg.WebhookCacheTTL > 0 && ss.cached != nil && time.Since(ss.cachedAt) < d.cfg.WebhookCacheTTL {
		return ss.cached, nil
	}
	res, err := ss.site.ListWebhooks(ctx, redisstore.ListQuery{Status: redisstore.StatusActive, OrderBy: redisstore.OrderByID, Limit: -1})
	if err != nil {
		return nil, err
	}
	ss.cached, ss.cachedAt = res.Items, time.Now()
	if ss.cached == nil {
		ss.cached = []redisstore.Webhook{}
	}
	return ss.cached, nil
}

// maintain promotes due retries and deferred jobs (when they fall due, at
// least every PromoteInterval), reclaims stale entries and discovers sites
// until ctx ends.
func (d *Dispatcher) maintain(ctx context.Context) {
	defer d.readWG.Done()
	promote := time.NewTimer(0)
	defer promote.Stop()
	promoteAt := time.Now()
	reclaim := time.NewTicker(d.cfg.ReclaimInterval)
	defer reclaim.Stop()
	sweep := time.NewTicker(parkRecoverSweep)
	defer sweep.Stop()
	discover := time.NewTicker(d.cfg.SiteRefresh)
	defer discover.Stop()
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	if d.cfg.DiscoverSites {
		d.discover(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-promote.C:
			wait := d.promoteAll(ctx)
			promoteAt = time.Now().Add(wait)
			promote.Reset(wait)
		case wait := <-d.soon:
			if at := time.Now().Add(wait); at.Before(promoteAt) {
				promoteAt = at
				promote.Reset(wait)
			}
		case <-reclaim.C:
			for _, ss := range d.siteList() {
				evs, jobs, err := ss.site.ClaimStale(ctx, d.cfg.ConsumerName, d.cfg.VisibilityTimeout, 100)
				if err != nil {
					if ctx.Err() == nil {
						d.log.Warn("reclaim failed", zap.String("site", ss.site.Name()), zap.Error(err))
					}
					continue
				}
				if len(evs)+len(jobs) > 0 {
					d.log.Info("reclaimed stale entries", zap.String("site", ss.site.Name()),
						zap.Int("events", len(evs)), zap.Int("jobs", len(jobs)))
				}
				d.handle(ctx, ss, evs, jobs)
			}
			d.recoverParked(ctx, false)
		case <-sweep.C:
			d.recoverParked(ctx, true)
		case <-prune.C:
			for _, ss := range d.siteList() {
				if n, err := ss.site.PruneConsumers(ctx, d.cfg.ConsumerName, d.cfg.ConsumerExpiry); err != nil && ctx.Err() == nil {
					d.log.Warn("prune consumers failed", zap.String("site", ss.site.Name()), zap.Error(err))
				} else if n > 0 {
					d.log.Info("pruned idle consumers", zap.String("site", ss.site.Name()), zap.Int("consumers", n))
				}
			}
		case <-discover.C:
			if d.cfg.DiscoverSites {
				d.discover(ctx)
			}
		}
	}
}

// discover serves every known site not served yet.
func (d *Dispatcher) discover(ctx context.Context) {
	names, err := d.cfg.Store.KnownSites(ctx)
	if err != nil {
		d.log.Warn("list known sites failed", zap.Error(err))
		return
	}
	for _, n := range names {
		d.mu.Lock()
		_, ok := d.sites[n]
		d.mu.Unlock()
		if ok {
			continue
		}
		site, err := d.cfg.Store.Site(n)
		if err != nil {
			continue
		}
		if err := d.AddSite(ctx, site, d.cfg.SiteDefaults(n)); err != nil {
			d.log.Warn("serve discovered site failed", zap.String("site", n), zap.Error(err))
		}
	}
}

func (d *Dispatcher) siteList() []*siteState {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*siteState, 0, len(d.sites))
	for _, ss := range d.sites {
		out = append(out, ss)
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
