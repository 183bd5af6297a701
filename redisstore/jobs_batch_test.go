package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// queueJobs publishes n events, fans each out to the webhooks and reads and
// begins the jobs as consumer c.
func queueJobs(t *testing.T, site *redisstore.Site, n int, hooks ...int64) ([]redisstore.QueuedJob, []redisstore.BeginResult) {
	t.Helper()
	ctx := context.Background()
	for range n {
		_, err := site.PublishEvent(ctx, "order.created", 1, []byte(`{"id":1}`), time.Time{})
		require.NoError(t, err)
	}
	evs, _ := readOne(t, site, "c")
	require.Len(t, evs, n)
	reqs := make([]redisstore.FanOutRequest, len(evs))
	for i, ev := range evs {
		reqs[i] = redisstore.FanOutRequest{EventEntryID: ev.EntryID, WebhookIDs: hooks}
	}
	_, err := site.FanOutBatch(ctx, reqs)
	require.NoError(t, err)
	_, jobs := readOne(t, site, "c")
	require.Len(t, jobs, n*len(hooks))
	brs, err := site.BeginJobs(ctx, "c", jobs, redisstore.QueuePolicy{})
	require.NoError(t, err)
	for _, br := range brs {
		require.NoError(t, br.Err)
		require.Equal(t, redisstore.BeginOK, br.Outcome)
	}
	return jobs, brs
}

// One FinishJobs call applies its outcomes in order: failure_count follows
// the sequence (a success resets it), every attempt is logged, and the
// delivery log maps each logged delivery back to its job.
func TestFinishBatchInOrder(t *testing.T) {
	ctx := context.Background()
	_, site := queueSite(t)
	w, other := activeHook(t, site, "w"), activeHook(t, site, "other")
	jobs, brs := queueJobs(t, site, 3, w.ID)
	ojobs, _ := queueJobs(t, site, 1, other.ID)

	fail := func(q redisstore.QueuedJob) redisstore.Outcome {
		return redisstore.Outcome{Job: q, Delivery: &redisstore.Delivery{WebhookID: q.WebhookID, ResponseCode: "500"}, RetryIn: -1, Reason: "code 500"}
	}
	ok := func(q redisstore.QueuedJob) redisstore.Outcome {
		return redisstore.Outcome{Job: q, Delivery: &redisstore.Delivery{WebhookID: q.WebhookID, ResponseCode: "200"}, Success: true}
	}
	res, err := site.FinishJobs(ctx, []redisstore.Outcome{fail(jobs[0]), ok(jobs[1]), fail(ojobs[0]), fail(jobs[2])}, redisstore.QueuePolicy{MaxFailures: 2})
	require.NoError(t, err)
	words := make([]string, len(res))
	for i, r := range res {
		require.NoError(t, r.Err)
		words[i] = r.Result
	}
	require.Equal(t, []string{redisstore.FailFailed, "ok", redisstore.FailFailed, redisstore.FailFailed}, words)
	for id, want := range map[int64]int{w.ID: 1, other.ID: 1} {
		got, err := site.GetWebhook(ctx, id)
		require.NoError(t, err)
		require.Equal(t, want, got.FailureCount)
		require.Equal(t, redisstore.StatusActive, got.Status)
	}

	logs, err := site.ListDeliveries(ctx, w.ID)
	require.NoError(t, err)
	require.Len(t, logs, 3)
	for i, br := range brs {
		require.Equal(t, br.Job.DeliveryID, logs[2-i].ID, "newest first")
		j, err := site.JobForDelivery(ctx, w.ID, br.Job.DeliveryID)
		require.NoError(t, err)
		require.Equal(t, br.Job.ID, j.ID)
	}
	_, err = site.JobForDelivery(ctx, other.ID, brs[0].Job.DeliveryID)
	require.ErrorIs(t, err, redisstore.ErrNotFound, "another webhook's delivery")

	// Two more final failures of other in one call: the first reaches
	// MaxFailures and disables it, the second only counts.
	ojobs, _ = queueJobs(t, site, 2, other.ID)
	res, err = site.FinishJobs(ctx, []redisstore.Outcome{fail(ojobs[0]), fail(ojobs[1])}, redisstore.QueuePolicy{MaxFailures: 2})
	require.NoError(t, err)
	require.Equal(t, redisstore.FailDisabled, res[0].Result)
	require.Equal(t, redisstore.FailFailed, res[1].Result)
	got, err := site.GetWebhook(ctx, other.ID)
	require.NoError(t, err)
	require.Equal(t, 3, got.FailureCount)
	require.Equal(t, redisstore.StatusDisabled, got.Status)
}

// The log keeps the newest KeepDeliveries entries per webhook, also when
// one call logs more than that; trimmed entries lose their job link too.
func TestFinishBatchTrimsLog(t *testing.T) {
	ctx := context.Background()
	store, site := queueSite(t)
	w := activeHook(t, site, "w")
	jobs, brs := queueJobs(t, site, 5, w.ID)
	outs := make([]redisstore.Outcome, len(jobs))
	for i, q := range jobs {
		outs[i] = redisstore.Outcome{Job: q, Delivery: &redisstore.Delivery{WebhookID: w.ID, ResponseCode: "200"}, Success: true}
	}
	_, err := site.FinishJobs(ctx, outs, redisstore.QueuePolicy{KeepDeliveries: 2})
	require.NoError(t, err)
	logs, err := site.ListDeliveries(ctx, w.ID)
	require.NoError(t, err)
	require.Len(t, logs, 2)
	require.Equal(t, brs[4].Job.DeliveryID, logs[0].ID)
	require.Equal(t, brs[3].Job.DeliveryID, logs[1].ID)
	_, err = site.JobForDelivery(ctx, w.ID, brs[0].Job.DeliveryID)
	require.ErrorIs(t, err, redisstore.ErrNotFound)
	n, err := store.Client().HLen(ctx, site.KeyPrefix()+"dl:"+strconv.FormatInt(w.ID, 10)+":rec").Result()
	require.NoError(t, err)
	require.EqualValues(t, 4, n, "two records and their job links")
}

// Finishing trims the work stream below its oldest pending entry and
// never removes an entry still pending: a job held by a crashed consumer
// stays claimable. Once nothing is pending the stream is empty.
func TestFinishTrimsOnlyAcknowledged(t *testing.T) {
	ctx := context.Background()
	_, site := queueSite(t)
	w := activeHook(t, site, "w")
	jobs, _ := queueJobs(t, site, 3, w.ID)
	outs := []redisstore.Outcome{
		{Job: jobs[1], Delivery: &redisstore.Delivery{WebhookID: w.ID, ResponseCode: "200"}, Success: true},
		{Job: jobs[2], Delivery: &redisstore.Delivery{WebhookID: w.ID, ResponseCode: "200"}, Success: true},
	}
	_, err := site.FinishJobs(ctx, outs, redisstore.QueuePolicy{})
	require.NoError(t, err)

	_, claimed, err := site.ClaimStale(ctx, "c2", 0, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	require.Equal(t, jobs[0].EntryID, claimed[0].EntryID)
	qs, err := site.QueueStats(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, qs.ReadyPending)

	out, _, _, err := site.BeginJob(ctx, "c2", claimed[0], redisstore.QueuePolicy{})
	require.NoError(t, err)
	require.Equal(t, redisstore.BeginOK, out)
	require.NoError(t, site.CompleteJob(ctx, claimed[0], &redisstore.Delivery{WebhookID: w.ID, ResponseCode: "200"}, redisstore.QueuePolicy{}))
	qs, err = site.QueueStats(ctx)
	require.NoError(t, err)
	require.Equal(t, redisstore.QueueStats{}, qs)
}
