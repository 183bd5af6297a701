package dispatcher

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// Promotion schedule: each site is promoted (due retries moved to its work
// stream, acknowledged entries trimmed) when its next delayed job falls
// due, when this process has just scheduled a retry for it (hint), and
// otherwise at an interval that doubles from PromoteInterval up to
// idlePromoteMax while nothing is promoted. So idle sites cost one script
// every few seconds each, not four a second, and a retry this process
// schedules still goes out on time. A retry scheduled by another process
// that then dies waits at most idlePromoteMax more. A site with no entries
// read for 2×idlePromoteMax is only checked (one ZRANGE of its delayed
// set, pipelined with the other such sites) until a job is due there.

// idlePromoteMax bounds the promote interval of an idle site (or
// PromoteInterval when that is longer).
const idlePromoteMax = 4 * time.Second

// promoteLimit is the most jobs one promote moves.
const promoteLimit = 1000

func (d *Dispatcher) idleMax() time.Duration { return max(idlePromoteMax, d.cfg.PromoteInterval) }

// promoteHint asks for a promote of ss in `in` (a retry was scheduled).
func (d *Dispatcher) promoteHint(ss *siteState, in time.Duration) {
	at := time.Now().Add(max(in, 0))
	ss.promMu.Lock()
	if ss.hintAt.IsZero() || at.Before(ss.hintAt) {
		ss.hintAt = at
	}
	ss.promMu.Unlock()
	select {
	case d.soon <- in:
	default:
	}
}

// promoteDue returns when ss should be promoted next (zero: now).
func (ss *siteState) promoteDue() time.Time {
	ss.promMu.Lock()
	defer ss.promMu.Unlock()
	if !ss.hintAt.IsZero() && ss.hintAt.Before(ss.promoteAt) {
		return ss.hintAt
	}
	return ss.promoteAt
}

// promoted records a promote that started at start, moved jobs and found
// the next delayed job due in next (-1: none), and returns when to
// promote ss again.
func (d *Dispatcher) promoted(ss *siteState, start time.Time, moved int, next time.Duration) time.Time {
	ss.promMu.Lock()
	defer ss.promMu.Unlock()
	switch {
	case moved > 0 || ss.idle == 0:
		ss.idle = d.cfg.PromoteInterval
	default:
		ss.idle = min(2*ss.idle, d.idleMax())
	}
	at := start.Add(ss.idle)
	if moved >= promoteLimit {
		at = start
	}
	if next >= 0 && start.Add(next).Before(at) {
		at = start.Add(next)
	}
	ss.promoteAt = at
	if !ss.hintAt.IsZero() && !ss.hintAt.After(start) {
		ss.hintAt = time.Time{} // covered by this promote
	}
	if !ss.hintAt.IsZero() && ss.hintAt.Before(at) {
		return ss.hintAt
	}
	return at
}

// touch records that entries of ss were read: its streams have entries to
// trim, so it gets full promotes (not only the cheap due check) for a while.
func (ss *siteState) touch(now time.Time) {
	ss.promMu.Lock()
	ss.active = now
	ss.promMu.Unlock()
}

// needsFull reports whether ss, due for a promote, needs the promote
// script (first promote, a retry hint due, or entries read within the
// last 2×idleMax) rather than the cheap check of its delayed set.
func (d *Dispatcher) needsFull(ss *siteState, now time.Time) bool {
	ss.promMu.Lock()
	defer ss.promMu.Unlock()
	switch {
	case ss.idle == 0:
		return true
	case !ss.hintAt.IsZero() && !ss.hintAt.After(now):
		return true
	default:
		return now.Sub(ss.active) < 2*d.idleMax()
	}
}

// promoteAll promotes the sites that are due and returns when to look
// again: when the next site is due, at most idleMax, at least 5 ms. A
// site idle for a while is first checked with one ZRANGE of its delayed
// set (all such sites in one pipeline); the promote script, which also
// trims the streams, runs only when a job is due there.
func (d *Dispatcher) promoteAll(ctx context.Context) time.Duration {
	now := time.Now()
	next := now.Add(d.idleMax())
	var full, check []*siteState
	for _, ss := range d.siteList() {
		if at := ss.promoteDue(); at.After(now) {
			next = earlier(next, at)
			continue
		}
		if ss.site.Store() == d.cfg.Store && !d.needsFull(ss, now) {
			check = append(check, ss)
		} else {
			full = append(full, ss)
		}
	}
	if len(check) > 0 {
		sites := make([]*redisstore.Site, len(check))
		for i, ss := range check {
			sites[i] = ss.site
		}
		start := time.Now()
		dues, err := d.cfg.Store.NextDue(ctx, sites)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("check due retries failed", zap.Error(err))
			}
			full = append(full, check...)
		} else {
			for i, ss := range check {
				if dues[i] == 0 {
					full = append(full, ss)
					continue
				}
				next = earlier(next, d.promoted(ss, start, 0, dues[i]))
			}
		}
	}
	for _, ss := range full {
		start := time.Now()
		moved, due, err := ss.site.PromoteDue(ctx, promoteLimit)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("promote due retries failed", zap.String("site", ss.site.Name()), zap.Error(err))
			}
			moved, due = 0, d.cfg.PromoteInterval
		}
		next = earlier(next, d.promoted(ss, start, moved, due))
	}
	return max(time.Until(next), 5*time.Millisecond)
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
