package dispatcher

import (
	"context"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// beginAhead is the begin of a lane's next job, started while a worker of
// the lane sends the job before it, so that the begin's round trip is off
// the send's critical path.
type beginAhead struct {
	done chan struct{}
	res  redisstore.BeginResult
	err  error
	at   time.Time // when the begin returned
}

// startAheadLocked begins w in the background unless that is under way;
// d.lanesMu is held. The result waits in l.ahead for the worker that
// takes w.
func (d *Dispatcher) startAheadLocked(l *lane, w work) {
	if _, started := l.ahead[w.q.JobID]; started {
		return
	}
	if l.ahead == nil {
		l.ahead = map[int64]*beginAhead{}
	}
	a := &beginAhead{done: make(chan struct{})}
	l.ahead[w.q.JobID] = a
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		a.res, a.err = d.beginJob(d.hardCtx, w.ss, w.q)
		a.at = time.Now()
		close(a.done)
	}()
}

// takeAheadLocked removes and returns the begin started ahead for job, or
// nil; d.lanesMu is held.
func (l *lane) takeAheadLocked(job int64) *beginAhead {
	a := l.ahead[job]
	delete(l.ahead, job)
	return a
}

// begin returns w's begin: the one started ahead when it succeeded and is
// fresh enough (see config.aheadMaxAge), else a new one. A begin not used
// costs a receive count and a delivery id, no delivery.
func (d *Dispatcher) begin(ctx context.Context, w work, a *beginAhead) (redisstore.BeginResult, error) {
	if a != nil {
		select {
		case <-a.done:
			if a.err == nil && time.Since(a.at) < d.cfg.aheadMaxAge() {
				return a.res, nil
			}
		case <-ctx.Done():
			return redisstore.BeginResult{}, ctx.Err()
		}
	}
	return d.beginJob(ctx, w.ss, w.q)
}

// aheadMaxAge is how long a begin started ahead may wait for its send: at
// most a quarter of the visibility margin (VisibilityTimeout minus the
// longest attempt), so that the entry's idle time at the attempt's end
// stays below the visibility timeout and no other dispatcher reclaims it
// meanwhile, and at most 1 s, so that the webhook read with it (status,
// URL, secret) is as fresh as the dispatcher's webhook cache. A busy lane
// sends within milliseconds; a lane of slow receivers begins again.
func (c config) aheadMaxAge() time.Duration {
	return min(time.Second, (c.VisibilityTimeout-max(c.HTTPTimeout, c.PingTimeout))/4)
}
