package dispatcher

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// Parking: when a webhook's lane is full (its receiver is slow or hangs),
// further jobs of it are parked in Redis, in a list of that webhook (one
// script per read batch), instead of being deferred one by one and read
// again and again. The lane worker moves them back to the work stream when
// the lane has room. Parked jobs carry a lease (VisibilityTimeout) renewed
// by every park and unpark; when this process dies, another dispatcher (or
// this one after a restart) moves the jobs of expired leases back.

// parkRecoverSweep is how often every served site (not only those in the
// store's parked-sites set) is checked for expired parked jobs.
const parkRecoverSweep = 5 * time.Minute

// parkLease is how long parked jobs wait for this process before another
// dispatcher takes them over.
func (d *Dispatcher) parkLease() time.Duration { return d.cfg.VisibilityTimeout }

// park parks jobs whose lane is full and marks their lanes, so the lane
// workers move them back when there is room; a lane that drained meanwhile
// gets its jobs back at once. On an error the jobs stay pending in the
// work stream (reclaimed after VisibilityTimeout).
func (d *Dispatcher) park(ss *siteState, qs []redisstore.QueuedJob) {
	if len(qs) == 0 {
		return
	}
	_, err := ss.site.ParkJobs(d.hardCtx, qs, d.parkLease())
	if err != nil {
		d.log.Warn("park jobs of full lanes failed; they stay pending", zap.String("site", ss.site.Name()),
			zap.Int("jobs", len(qs)), zap.Error(err))
	}
	now := map[laneKey]int{}
	d.lanesMu.Lock()
	for _, q := range qs {
		lk := laneKey{ss.site.Name(), q.WebhookID}
		if _, seen := now[lk]; seen || d.parked[lk] {
			continue
		}
		if l := d.lanes[lk]; l != nil && len(l.q) > d.cfg.LaneQueue/2 {
			d.parked[lk] = true
			continue
		}
		n := d.cfg.LaneQueue
		if l := d.lanes[lk]; l != nil {
			n -= len(l.q)
		}
		now[lk] = n
	}
	d.lanesMu.Unlock()
	for lk, n := range now {
		d.unpark(ss, lk, n, d.parkLease())
	}
}

// takeUnpark reports how many parked jobs the lane has room for, when
// jobs of it are parked and its queue is at most half full, and clears the
// lane's parked mark. lanesMu is held.
func (d *Dispatcher) takeUnpark(lk laneKey, l *lane) int {
	if !d.parked[lk] || len(l.q) > d.cfg.LaneQueue/2 {
		return 0
	}
	delete(d.parked, lk)
	return d.cfg.LaneQueue - len(l.q)
}

// unpark moves up to n parked jobs of the lane back to the work stream and
// marks the lane again while more stay parked. lease 0 hands the rest to
// any dispatcher's recovery (at a stop).
func (d *Dispatcher) unpark(ss *siteState, lk laneKey, n int, lease time.Duration) {
	if ss == nil {
		return
	}
	for range 4 {
		moved, left, err := ss.site.UnparkJobs(d.hardCtx, lk.hook, n, lease)
		if err != nil {
			if d.hardCtx.Err() == nil {
				d.log.Warn("unpark jobs failed; tried again as the lane drains", zap.String("site", lk.site),
					zap.Int64("webhook", lk.hook), zap.Error(err))
			}
			break
		}
		if left == 0 || lease == 0 {
			return
		}
		if moved > 0 {
			break
		}
		// Only stale ids were popped: try the next ones.
	}
	if lease == 0 {
		return
	}
	// More stay parked (or the move failed): the lane takes them when it
	// next has room, else recovery after the lease.
	d.lanesMu.Lock()
	d.parked[lk] = true
	d.lanesMu.Unlock()
}

// siteOf returns the served site called name, or nil.
func (d *Dispatcher) siteOf(name string) *siteState {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sites[name]
}

// handBack requeues jobs read but never started (the dispatcher is
// stopping), so another dispatcher takes them at once instead of after
// VisibilityTimeout. On an error they stay pending for reclaim.
func (d *Dispatcher) handBack(lk laneKey, ws []work) {
	if len(ws) == 0 {
		return
	}
	qs := make([]redisstore.QueuedJob, len(ws))
	for i, w := range ws {
		qs[i] = w.q
	}
	ss := ws[0].ss
	ctx, cancel := context.WithTimeout(d.hardCtx, 5*time.Second)
	defer cancel()
	n, err := ss.site.RequeueJobs(ctx, d.cfg.ConsumerName, qs)
	if err != nil {
		d.log.Warn("hand back unstarted jobs failed; reclaimed after the visibility timeout",
			zap.String("site", lk.site), zap.Int("jobs", len(qs)), zap.Error(err))
		return
	}
	d.log.Debug("handed back unstarted jobs", zap.String("site", lk.site), zap.Int("jobs", n))
}

// handBackQueued, at a stop, takes every lane's queued jobs (not started)
// and hands them back, while the lanes' in-flight attempts finish.
func (d *Dispatcher) handBackQueued() {
	d.lanesMu.Lock()
	back := map[laneKey][]work{}
	for lk, l := range d.lanes {
		if len(l.q) == 0 {
			continue
		}
		for _, w := range l.q {
			delete(d.inflight, jobKey{lk.site, w.q.JobID})
		}
		back[lk], l.q, l.ahead = l.q, nil, nil
	}
	d.lanesMu.Unlock()
	d.signalFreed()
	for lk, ws := range back {
		d.handBack(lk, ws)
	}
}

// releaseParked, at a stop, moves a lane's worth of each marked lane's
// parked jobs back and expires the lease of the rest, so the next
// dispatcher takes them over at its next recovery pass.
func (d *Dispatcher) releaseParked() {
	d.lanesMu.Lock()
	keys := make([]laneKey, 0, len(d.parked))
	for lk := range d.parked {
		keys = append(keys, lk)
	}
	clear(d.parked)
	d.lanesMu.Unlock()
	for _, lk := range keys {
		if ss := d.siteOf(lk.site); ss != nil {
			d.unpark(ss, lk, d.cfg.LaneQueue, 0)
		}
	}
}

// recoverParked moves back the parked jobs of expired leases, for the
// sites in the store's parked-sites set, or every served site when all
// (the periodic sweep), and takes their lanes over.
func (d *Dispatcher) recoverParked(ctx context.Context, all bool) {
	var sites []*siteState
	if all {
		sites = d.siteList()
	} else {
		names, err := d.cfg.Store.ParkedSites(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("list parked sites failed", zap.Error(err))
			}
			return
		}
		for _, n := range names {
			if ss := d.siteOf(n); ss != nil {
				sites = append(sites, ss)
			}
		}
	}
	for _, ss := range sites {
		rec, err := ss.site.RecoverParked(ctx, d.cfg.LaneQueue, d.parkLease())
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("recover parked jobs failed", zap.String("site", ss.site.Name()), zap.Error(err))
			}
			continue
		}
		if rec.Moved > 0 {
			d.log.Info("recovered parked jobs of an expired lease", zap.String("site", ss.site.Name()), zap.Int("jobs", rec.Moved))
		}
		if len(rec.Taken) > 0 {
			d.lanesMu.Lock()
			for _, id := range rec.Taken {
				d.parked[laneKey{ss.site.Name(), id}] = true
			}
			d.lanesMu.Unlock()
		}
		if rec.ParkedHooks == 0 && !all {
			if err := d.cfg.Store.ForgetParkedSite(ctx, ss.site.Name()); err != nil && ctx.Err() == nil {
				d.log.Warn("forget parked site failed", zap.Error(err))
			}
		}
	}
}
