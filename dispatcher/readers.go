package dispatcher

import (
	"context"
	"hash/fnv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// Reading: on a standalone Redis, readShards readers each read the queues
// of their share of the sites with one blocking XREADGROUP over all their
// streams, so blocked reads hold readShards connections of the client's
// pool whatever the number of sites (one per site would starve the pool,
// and with it the API, at a few dozen sites). On a Redis Cluster (sites in
// different slots), and for a site of another store, each site has its own
// reader (readLoop).

// readShards is the number of shared readers on a standalone Redis.
const readShards = 2

// freshBlock is the block of the interim reader of a site added while the
// shared reader of its shard is blocked.
const freshBlock = 100 * time.Millisecond

// shared reports whether ss is read by a shared reader.
func (d *Dispatcher) shared(ss *siteState) bool {
	return d.multiRead && ss.site.Store() == d.cfg.Store
}

func shardOf(name string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return int(h.Sum32() % readShards)
}

// startReaders starts the shared readers; d.mu is held.
func (d *Dispatcher) startReaders() {
	if !d.multiRead {
		return
	}
	d.shardGen = make([]uint64, readShards)
	d.fresh = make([]*freshSites, readShards)
	if d.sitesChanged == nil {
		d.sitesChanged = make(chan struct{})
	}
	for i := range readShards {
		d.readWG.Add(1)
		go d.shardLoop(d.loopCtx, i)
	}
}

// siteAdded starts reading a site added while running; d.mu is held. A
// shared reader includes it from its next read; until then (its current
// read blocks up to ReadBlock) the shard's interim reader reads it, with
// the other sites added meanwhile, in one XREADGROUP.
func (d *Dispatcher) siteAdded(ss *siteState) {
	if !d.shared(ss) {
		d.startSite(ss)
		return
	}
	close(d.sitesChanged)
	d.sitesChanged = make(chan struct{})
	i := shardOf(ss.site.Name())
	if f := d.fresh[i]; f != nil {
		f.sites = append(f.sites, ss)
		f.gen = d.shardGen[i] // every one of them needs a read that begins after now
		return
	}
	d.fresh[i] = &freshSites{sites: []*siteState{ss}, gen: d.shardGen[i]}
	d.readWG.Add(1)
	go d.freshReader(d.loopCtx, i)
}

// freshSites are the sites added to a shard while its reader's read of
// generation gen (the last one begun when a site was added) runs.
type freshSites struct {
	sites []*siteState
	gen   uint64
}

// shardSites returns the sites of shard i and marks a new read of it.
func (d *Dispatcher) shardSites(i int) ([]*redisstore.Site, map[*redisstore.Site]*siteState, <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var sites []*redisstore.Site
	by := map[*redisstore.Site]*siteState{}
	for name, ss := range d.sites {
		if d.shared(ss) && shardOf(name) == i {
			sites = append(sites, ss.site)
			by[ss.site] = ss
		}
	}
	d.shardGen[i]++
	return sites, by, d.sitesChanged
}

// shardLoop reads the queues of shard i's sites until ctx ends.
func (d *Dispatcher) shardLoop(ctx context.Context, i int) {
	defer d.readWG.Done()
	for ctx.Err() == nil {
		n := d.readBudget(ctx)
		if n == 0 {
			return
		}
		sites, by, changed := d.shardSites(i)
		if len(sites) == 0 {
			select {
			case <-ctx.Done():
			case <-changed:
			}
			continue
		}
		got, err := d.cfg.Store.ReadSites(d.hardCtx, sites, d.cfg.ConsumerName, n, d.cfg.ReadBlock)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.log.Warn("read queues failed", zap.Int("sites", len(sites)), zap.Error(err))
			sleep(ctx, time.Second)
			continue
		}
		d.handleAll(got, by)
		d.followHot(ctx, got, by)
	}
}

// handleAll handles the entries read for several sites, in parallel.
func (d *Dispatcher) handleAll(got []redisstore.SiteEntries, by map[*redisstore.Site]*siteState) {
	if len(got) == 1 {
		d.handle(d.hardCtx, by[got[0].Site], got[0].Events, got[0].Jobs)
		return
	}
	var wg sync.WaitGroup
	for _, e := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.handle(d.hardCtx, by[e.Site], e.Events, e.Jobs)
		}()
	}
	wg.Wait()
}

// Hot sites: an XREADGROUP over a shard's streams costs Redis time in
// proportion to the number of streams, so while some sites have traffic
// the shard reader keeps reading just those, without blocking (one small
// XREADGROUP each), for up to hotRounds reads or hotSpan, before the next
// read over the whole shard lets the others in.
const (
	hotRounds = 16
	hotSpan   = 20 * time.Millisecond
)

// followHot reads the sites that had entries again, alone and without
// blocking, until they run dry or the hotRounds / hotSpan bound is met.
func (d *Dispatcher) followHot(ctx context.Context, got []redisstore.SiteEntries, by map[*redisstore.Site]*siteState) {
	hot := make([]*redisstore.Site, 0, len(got))
	for _, e := range got {
		hot = append(hot, e.Site)
	}
	deadline := time.Now().Add(hotSpan)
	for round := 0; round < hotRounds && len(hot) > 0 && time.Now().Before(deadline) && ctx.Err() == nil; round++ {
		var again []redisstore.SiteEntries
		for _, st := range hot {
			n := d.readBudget(ctx)
			if n == 0 {
				return
			}
			evs, jobs, err := st.ReadQueues(d.hardCtx, d.cfg.ConsumerName, n, -1)
			if err != nil || len(evs)+len(jobs) == 0 {
				continue
			}
			again = append(again, redisstore.SiteEntries{Site: st, Events: evs, Jobs: jobs})
		}
		d.handleAll(again, by)
		hot = hot[:0]
		for _, e := range again {
			hot = append(hot, e.Site)
		}
	}
}

// freshReader reads the sites added to shard i until the shard has
// started a read that includes them (its generation passed theirs).
func (d *Dispatcher) freshReader(ctx context.Context, i int) {
	defer d.readWG.Done()
	for ctx.Err() == nil {
		d.mu.Lock()
		f := d.fresh[i]
		if d.shardGen[i] > f.gen {
			d.fresh[i] = nil
			d.mu.Unlock()
			return
		}
		sites := make([]*redisstore.Site, len(f.sites))
		by := make(map[*redisstore.Site]*siteState, len(f.sites))
		for k, ss := range f.sites {
			sites[k], by[ss.site] = ss.site, ss
		}
		d.mu.Unlock()
		n := d.readBudget(ctx)
		if n == 0 {
			break
		}
		got, err := d.cfg.Store.ReadSites(d.hardCtx, sites, d.cfg.ConsumerName, n, freshBlock)
		if err != nil {
			sleep(ctx, freshBlock)
			continue
		}
		d.handleAll(got, by)
	}
	d.mu.Lock()
	d.fresh[i] = nil
	d.mu.Unlock()
}
