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
// read blocks up to ReadBlock) an interim reader reads the site alone.
func (d *Dispatcher) siteAdded(ss *siteState) {
	if !d.shared(ss) {
		d.startSite(ss)
		return
	}
	close(d.sitesChanged)
	d.sitesChanged = make(chan struct{})
	i := shardOf(ss.site.Name())
	d.readWG.Add(1)
	go d.freshReader(d.loopCtx, ss, i, d.shardGen[i])
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
		if len(got) == 1 {
			d.handle(d.hardCtx, by[got[0].Site], got[0].Events, got[0].Jobs)
			continue
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
}

// freshReader reads one site alone until shard i has started a read that
// includes it (its generation passed gen).
func (d *Dispatcher) freshReader(ctx context.Context, ss *siteState, i int, gen uint64) {
	defer d.readWG.Done()
	for ctx.Err() == nil {
		d.mu.Lock()
		done := d.shardGen[i] > gen
		d.mu.Unlock()
		if done {
			return
		}
		n := d.readBudget(ctx)
		if n == 0 {
			return
		}
		evs, jobs, err := ss.site.ReadQueues(d.hardCtx, d.cfg.ConsumerName, n, freshBlock)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			sleep(ctx, freshBlock)
			continue
		}
		d.handle(d.hardCtx, ss, evs, jobs)
	}
}
