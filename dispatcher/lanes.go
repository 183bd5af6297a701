package dispatcher

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// laneKey names one webhook of one site.
type laneKey struct {
	site string
	hook int64
}

// jobKey names one job of one site.
type jobKey struct {
	site string
	job  int64
}

// lane queues the jobs of one webhook; at most MaxPerWebhook workers drain
// it, so a slow receiver holds only its own lane's slots.
type lane struct {
	q      []work
	active int
	ahead  map[int64]*beginAhead // by job id, see ahead.go
}

type work struct {
	ss *siteState
	q  redisstore.QueuedJob
}

// submit queues q on its webhook's lane. It returns false when the lane is
// full (the caller parks the job in Redis). A job already queued or in
// flight here (read again by a reclaim) is ignored.
func (d *Dispatcher) submit(ss *siteState, q redisstore.QueuedJob) bool {
	lk := laneKey{ss.site.Name(), q.WebhookID}
	jk := jobKey{ss.site.Name(), q.JobID}
	d.lanesMu.Lock()
	defer d.lanesMu.Unlock()
	if _, dup := d.inflight[jk]; dup {
		return true
	}
	l := d.lanes[lk]
	if l == nil {
		l = &lane{}
		d.lanes[lk] = l
	}
	if len(l.q) >= d.cfg.LaneQueue {
		return false
	}
	d.inflight[jk] = struct{}{}
	l.q = append(l.q, work{ss, q})
	if l.active < d.cfg.MaxPerWebhook {
		l.active++
		d.wg.Add(1)
		go d.laneWorker(lk, l)
	}
	return true
}

// laneWorker drains a lane until it is empty or the dispatcher stops;
// jobs left queued at a stop are handed back to the work stream at once
// (handBack). When jobs of the lane are parked (park.go), it moves them
// back as the lane gets room.
func (d *Dispatcher) laneWorker(lk laneKey, l *lane) {
	defer d.wg.Done()
	var rec outcomes
	for {
		d.lanesMu.Lock()
		if len(l.q) == 0 || d.loopCtx.Err() != nil {
			for _, w := range l.q {
				delete(d.inflight, jobKey{lk.site, w.q.JobID})
			}
			d.signalFreed()
			var back []work
			room := 0
			if d.loopCtx.Err() != nil {
				back, l.q, l.ahead = l.q, nil, nil
			} else {
				room = d.takeUnpark(lk, l)
			}
			l.active--
			if l.active == 0 && len(l.q) == 0 {
				delete(d.lanes, lk)
			}
			d.lanesMu.Unlock()
			d.handBack(lk, back)
			if room > 0 {
				d.unpark(d.siteOf(lk.site), lk, room, d.parkLease())
			}
			return
		}
		w := l.q[0]
		l.q = l.q[1:]
		ahead := l.takeAheadLocked(w.q.JobID)
		if len(l.q) > 0 {
			d.startAheadLocked(l, l.q[0])
		}
		room := d.takeUnpark(lk, l)
		d.lanesMu.Unlock()
		if room > 0 {
			d.unpark(w.ss, lk, room, d.parkLease())
		}

		select {
		case d.sem <- struct{}{}:
			if d.loopCtx.Err() == nil {
				d.process(d.hardCtx, w, ahead, &rec)
			} else {
				d.handBack(lk, []work{w})
			}
			<-d.sem
		case <-d.loopCtx.Done():
			d.handBack(lk, []work{w})
		}
		d.lanesMu.Lock()
		delete(d.inflight, jobKey{lk.site, w.q.JobID})
		d.lanesMu.Unlock()
		d.signalFreed()
	}
}

// signalFreed wakes a reader waiting for capacity.
func (d *Dispatcher) signalFreed() {
	select {
	case d.freed <- struct{}{}:
	default:
	}
}

// readBudget waits until this process holds fewer than 2×MaxConcurrent
// jobs and returns how many to read (at most ReadCount), or 0 when ctx
// ends. Work not read stays in the stream for any process to take.
func (d *Dispatcher) readBudget(ctx context.Context) int {
	limit := 2 * d.cfg.MaxConcurrent
	for {
		d.lanesMu.Lock()
		held := len(d.inflight)
		d.lanesMu.Unlock()
		if free := limit - held; free > 0 {
			return min(d.cfg.ReadCount, free)
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0
		case <-d.freed:
		case <-t.C:
		}
		t.Stop()
	}
}

// process runs one job: begin (lease, receive count, delivery id; the one
// started ahead when there is one), check the webhook, send, and record
// the outcome in one script (in the background, through rec).
func (d *Dispatcher) process(ctx context.Context, w work, ahead *beginAhead, rec *outcomes) {
	site := w.ss.site
	pol := d.cfg.policy()
	// WithLazy: the fields are encoded only when something is logged, not
	// once per job.
	log := d.log.WithLazy(zap.String("site", site.Name()), zap.Int64("job", w.q.JobID), zap.Int64("webhook", w.q.WebhookID))
	br, err := d.begin(ctx, w, ahead)
	outcome, job, hook := br.Outcome, br.Job, br.Webhook
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("begin job failed; it stays pending", zap.Error(err))
		}
		return
	}
	switch outcome {
	case redisstore.BeginOK:
	case redisstore.BeginPoison:
		log.Error("job set aside as poison after repeated receives without a finish")
		d.cfg.Metrics.JobPoisoned(site.Name())
		return
	default:
		log.Debug("job not sent", zap.String("reason", outcome))
		return
	}
	if hook.Status != redisstore.StatusActive {
		if err := site.DropJob(ctx, w.q, "dropped", false, pol); err != nil && ctx.Err() == nil {
			log.Warn("drop job failed", zap.Error(err))
		}
		return
	}
	if job.Kind == redisstore.JobPing {
		d.processPing(ctx, w, hook, log)
		return
	}
	a := d.deliver(ctx, w.ss, job, hook)
	if ctx.Err() != nil {
		return // hard stop: the attempt is left for reclaim, nothing recorded
	}
	rec.start(d, func() { d.record(ctx, w, job, a, log) })
}

// outcomes is one lane worker's outcome recording. An outcome is recorded
// while the worker moves on to its lane's next job: the entry stays pending
// (redelivered after a crash) until the script has run, and Stop waits for
// it. At most one is under way per worker, so that a crash repeats at most
// two attempts per worker (the one sent and the one being recorded).
type outcomes struct{ last chan struct{} }

// start runs record in the background once the previous one has finished.
func (o *outcomes) start(d *Dispatcher, record func()) {
	if o.last != nil {
		<-o.last
	}
	done := make(chan struct{})
	o.last = done
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer close(done)
		record()
	}()
}

// record stores the outcome of a delivery attempt in one script (through
// the site's finish batcher): complete, retry or final failure.
func (d *Dispatcher) record(ctx context.Context, w work, job *redisstore.Job, a attempt, log *zap.Logger) {
	site := w.ss.site
	dur, _ := time.ParseDuration(a.log.Duration + "s")
	if a.success {
		if _, err := d.finishJob(ctx, w.ss, redisstore.Outcome{Job: w.q, Delivery: a.log, Success: true}); err != nil {
			if ctx.Err() == nil {
				log.Warn("complete job failed; it will be redelivered", zap.Error(err))
			}
			return
		}
		d.cfg.Metrics.Attempt(site.Name(), OutcomeSuccess, dur)
		if job.Attempts == 0 && !job.EventTime.IsZero() {
			d.cfg.Metrics.EventToDelivery(site.Name(), time.Since(job.EventTime))
		}
		log.Debug("delivered", zap.Int("code", a.code), zap.Int64("delivery", job.DeliveryID))
		return
	}
	retryIn, retry := d.cfg.retryDelay(job.Attempts+1, a, time.Now())
	if !retry {
		retryIn = -1
	}
	res, err := d.finishJob(ctx, w.ss, redisstore.Outcome{Job: w.q, Delivery: a.log, RetryIn: retryIn, Reason: "code " + a.log.ResponseCode})
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("record failed attempt failed; it will be redelivered", zap.Error(err))
		}
		return
	}
	outcomeName := OutcomeFailed
	switch res {
	case redisstore.FailRetry:
		outcomeName = OutcomeRetry
		d.promoteHint(w.ss, retryIn)
	case redisstore.FailDisabled:
		outcomeName = OutcomeDisabled
		d.cfg.Metrics.WebhookDisabled(site.Name())
		log.Warn("webhook disabled after consecutive failed deliveries", zap.Int("max_failures", d.cfg.MaxFailures))
	}
	d.cfg.Metrics.Attempt(site.Name(), outcomeName, dur)
	log.Info("delivery attempt failed", zap.String("code", a.log.ResponseCode), zap.String("outcome", outcomeName),
		zap.Int("attempt", job.Attempts+1), zap.Duration("retry_in", max(retryIn, 0)))
}

// processPing sends a ping; exactly 200 clears pending_delivery. A ping is
// tried once, as WooCommerce does.
func (d *Dispatcher) processPing(ctx context.Context, w work, hook *redisstore.Webhook, log *zap.Logger) {
	ok, err := d.ping(ctx, hook)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		log.Info("ping failed", zap.String("error", transportMessage(err))) // without the URL
	}
	d.cfg.Metrics.Ping(w.ss.site.Name(), ok)
	status := "failed"
	if ok {
		status = "done"
	}
	if err := w.ss.site.DropJob(ctx, w.q, status, ok, d.cfg.policy()); err != nil {
		log.Warn("record ping failed", zap.Error(err))
	}
}
