package dispatcher

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// aheadFixture is a dispatcher whose site's begin batcher answers
// "fresh" without Redis and counts the jobs it began.
func aheadFixture() (*Dispatcher, *siteState, *atomic.Int32) {
	var began atomic.Int32
	ss := &siteState{batch: &siteBatchers{}}
	ss.batch.begin.run = func(_ context.Context, qs []redisstore.QueuedJob) ([]redisstore.BeginResult, error) {
		began.Add(int32(len(qs)))
		out := make([]redisstore.BeginResult, len(qs))
		for i := range out {
			out[i] = redisstore.BeginResult{Outcome: "fresh"}
		}
		return out, nil
	}
	d := &Dispatcher{hardCtx: context.Background(), cfg: config{Options: Options{
		HTTPTimeout: time.Second, PingTimeout: time.Second, VisibilityTimeout: 5 * time.Second}}}
	return d, ss, &began
}

// TestBeginUsesAFreshBeginAhead: a begin started ahead is used while it is
// younger than 1 s (a quarter of the 4 s visibility margin here); an old
// or failed one is replaced by a new begin.
func TestBeginUsesAFreshBeginAhead(t *testing.T) {
	d, ss, began := aheadFixture()
	require.Equal(t, time.Second, d.cfg.aheadMaxAge())
	short := config{Options: Options{HTTPTimeout: time.Second, VisibilityTimeout: 1200 * time.Millisecond}}
	require.Equal(t, 50*time.Millisecond, short.aheadMaxAge(), "a quarter of a short visibility margin")
	long := config{Options: Options{HTTPTimeout: time.Minute, VisibilityTimeout: 90 * time.Second}}
	require.Equal(t, time.Second, long.aheadMaxAge(), "at most 1 s")
	w := work{ss: ss, q: redisstore.QueuedJob{JobID: 7}}
	done := make(chan struct{})
	close(done)
	ctx := context.Background()

	r, err := d.begin(ctx, w, &beginAhead{done: done, res: redisstore.BeginResult{Outcome: "ahead"}, at: time.Now()})
	require.NoError(t, err)
	require.Equal(t, "ahead", r.Outcome)
	require.Zero(t, began.Load(), "no second begin")

	for name, a := range map[string]*beginAhead{
		"none":   nil,
		"old":    {done: done, res: redisstore.BeginResult{Outcome: "ahead"}, at: time.Now().Add(-2 * time.Second)},
		"failed": {done: done, err: context.Canceled, at: time.Now()},
	} {
		before := began.Load()
		r, err := d.begin(ctx, w, a)
		require.NoError(t, err, name)
		require.Equal(t, "fresh", r.Outcome, name)
		require.Equal(t, before+1, began.Load(), name)
	}
}

// TestStartAheadOncePerJob: a lane begins its next job once however many
// workers ask, and the worker taking the job gets that begin.
func TestStartAheadOncePerJob(t *testing.T) {
	d, ss, began := aheadFixture()
	l := &lane{}
	w := work{ss: ss, q: redisstore.QueuedJob{JobID: 9}}
	d.startAheadLocked(l, w)
	d.startAheadLocked(l, w)
	a := l.takeAheadLocked(9)
	require.NotNil(t, a)
	require.Nil(t, l.takeAheadLocked(9), "taken once")
	<-a.done
	d.wg.Wait()
	require.Equal(t, int32(1), began.Load())
	r, err := d.begin(context.Background(), w, a)
	require.NoError(t, err)
	require.Equal(t, "fresh", r.Outcome)
	require.Equal(t, int32(1), began.Load(), "the begin ahead was used")
}
