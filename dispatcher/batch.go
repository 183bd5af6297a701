package dispatcher

import (
	"context"
	"sync"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// batcher groups the requests that workers make at about the same time
// into one call (group commit): a request waits only while the call before
// it runs, so a lone request goes out at once and a busy site sends many
// per round trip. Each item keeps its own result and error.
type batcher[T, R any] struct {
	run func(ctx context.Context, items []T) ([]R, error) // one result per item

	mu      sync.Mutex
	pending []*batchCall[T, R]
	running bool
}

type batchCall[T, R any] struct {
	ctx  context.Context
	item T
	res  R
	err  error
	done chan struct{}
}

// do queues item, waits for its batch and returns its result. When ctx
// ends first it returns ctx's error; the item may still be applied.
func (b *batcher[T, R]) do(ctx context.Context, item T) (R, error) {
	c := &batchCall[T, R]{ctx: ctx, item: item, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		var zero R
		return zero, ctx.Err()
	}
}

// loop runs batches until nothing is pending.
func (b *batcher[T, R]) loop() {
	for {
		b.mu.Lock()
		calls := b.pending
		b.pending = nil
		if len(calls) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.runBatch(calls)
	}
}

// runBatch runs the items of calls whose context is still live, under the
// context of the first of them.
func (b *batcher[T, R]) runBatch(calls []*batchCall[T, R]) {
	live := calls[:0]
	for _, c := range calls {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			close(c.done)
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	items := make([]T, len(live))
	for i, c := range live {
		items[i] = c.item
	}
	res, err := b.run(live[0].ctx, items)
	for i, c := range live {
		if err != nil {
			c.err = err
		} else {
			c.res = res[i]
		}
		close(c.done)
	}
}

// siteBatchers are the per-site batchers of begin and finish scripts.
type siteBatchers struct {
	begin  batcher[redisstore.QueuedJob, redisstore.BeginResult]
	finish batcher[redisstore.Outcome, redisstore.FinishResult]
}

func (d *Dispatcher) newBatchers(site *redisstore.Site) *siteBatchers {
	b := &siteBatchers{}
	b.begin.run = func(ctx context.Context, qs []redisstore.QueuedJob) ([]redisstore.BeginResult, error) {
		return site.BeginJobs(ctx, d.cfg.ConsumerName, qs, d.cfg.policy())
	}
	b.finish.run = func(ctx context.Context, outs []redisstore.Outcome) ([]redisstore.FinishResult, error) {
		return site.FinishJobs(ctx, outs, d.cfg.policy())
	}
	return b
}

// beginJob begins q through the site's begin batcher.
func (d *Dispatcher) beginJob(ctx context.Context, ss *siteState, q redisstore.QueuedJob) (redisstore.BeginResult, error) {
	r, err := ss.batch.begin.do(ctx, q)
	if err == nil {
		err = r.Err
	}
	return r, err
}

// finishJob records o through the site's finish batcher.
func (d *Dispatcher) finishJob(ctx context.Context, ss *siteState, o redisstore.Outcome) (string, error) {
	r, err := ss.batch.finish.do(ctx, o)
	if err == nil {
		err = r.Err
	}
	return r.Result, err
}
