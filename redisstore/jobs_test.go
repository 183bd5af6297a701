package redisstore_test

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

func queueSite(t *testing.T) (*redisstore.Store, *redisstore.Site) {
	t.Helper()
	s, site, _ := newSite(t, "shop")
	require.NoError(t, site.EnsureQueues(context.Background()))
	return s, site
}

func activeHook(t *testing.T, site *redisstore.Site, name string) *redisstore.Webhook {
	t.Helper()
	w := &redisstore.Webhook{Name: name, Status: redisstore.StatusActive, Topic: "order.created",
		DeliveryURL: "https://example.com/h", Secret: "s", APIVersion: redisstore.APIVersionWPV3, PendingDelivery: true}
	require.NoError(t, site.CreateWebhook(context.Background(), w))
	return w
}

// readOne reads the queues once, with a short block.
func readOne(t *testing.T, site *redisstore.Site, consumer string) ([]redisstore.Event, []redisstore.QueuedJob) {
	t.Helper()
	evs, jobs, err := site.ReadQueues(context.Background(), consumer, 100, 50*time.Millisecond)
	require.NoError(t, err)
	return evs, jobs
}

func TestEventFanOutOnce(t *testing.T) {
	ctx := context.Background()
	s, site := queueSite(t)
	w1, w2 := activeHook(t, site, "a"), activeHook(t, site, "b")
	payload := []byte("{\"x\":\"\\u00e9\\/\"}\x00\xff")
	eid, err := site.PublishEvent(ctx, "order.created", 42, payload, time.UnixMilli(1700000000123))
	require.NoError(t, err)

	evs, _ := readOne(t, site, "c1")
	require.Len(t, evs, 1)
	require.Equal(t, eid, evs[0].EntryID)
	require.Equal(t, payload, evs[0].Payload)
	require.Equal(t, int64(42), evs[0].ResourceID)
	require.Equal(t, int64(1700000000123), evs[0].Time.UnixMilli())

	// A second consumer reclaims it; the first fan-out wins, the second does nothing.
	cevs, _, err := site.ClaimStale(ctx, "c2", 0, 10)
	require.NoError(t, err)
	require.Len(t, cevs, 1)
	n, err := site.FanOut(ctx, eid, []int64{w1.ID, w2.ID})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	n, err = site.FanOut(ctx, eid, []int64{w1.ID, w2.ID})
	require.NoError(t, err)
	require.Equal(t, -1, n)

	_, jobs := readOne(t, site, "c1")
	require.Len(t, jobs, 2)
	qs, err := site.QueueStats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(0), qs.Events, "fanned-out events leave the stream")
	require.Equal(t, int64(2), qs.ReadyPending)

	out, job, hook, err := site.BeginJob(ctx, "c1", jobs[0], redisstore.QueuePolicy{})
	require.NoError(t, err)
	require.Equal(t, redisstore.BeginOK, out)
	require.Equal(t, payload, job.Payload)
	require.Equal(t, "order.created", job.Topic)
	require.Equal(t, w1.ID, hook.ID)
	require.Equal(t, "s", hook.Secret)
	require.Positive(t, job.DeliveryID)
	require.Regexp(t, `^msg_[0-9a-f]{12}_`+regexp.QuoteMeta(eid)+"_"+strconv.FormatInt(w1.ID, 10)+"$", job.MessageID)
	// Another site's message ids have another prefix.
	other, err := s.Site("other")
	require.NoError(t, err)
	require.NoError(t, other.EnsureQueues(ctx))
	_, err = other.PublishEvent(ctx, "order.created", 1, nil, time.Time{})
	require.NoError(t, err)
	oevs, _ := readOne(t, other, "c1")
	require.Len(t, oevs, 1)
	_, err = other.FanOut(ctx, oevs[0].EntryID, []int64{w1.ID})
	require.NoError(t, err)
	_, ojobs := readOne(t, other, "c1")
	require.Len(t, ojobs, 1)
	oj, err := other.GetJob(ctx, ojobs[0].JobID)
	require.NoError(t, err)
	require.NotEqual(t, job.MessageID[:17], oj.MessageID[:17])

	// Another consumer cannot begin an entry it does not hold.
	out, _, _, err = site.BeginJob(ctx, "c2", jobs[1], redisstore.QueuePolicy{})
	require.NoError(t, err)
	require.Equal(t, redisstore.BeginNotMine, out)

	d := &redisstore.Delivery{WebhookID: w1.ID, Summary: "HTTP 200 OK: ", ResponseCode: "200"}
	require.NoError(t, site.CompleteJob(ctx, jobs[0], d, redisstore.QueuePolicy{}))
	got, err := site.GetDelivery(ctx, w1.ID, job.DeliveryID)
	require.NoError(t, err)
	require.Equal(t, "HTTP 200 OK: ", got.Summary)
	j2, err := site.JobForDelivery(ctx, w1.ID, job.DeliveryID)
	require.NoError(t, err)
	require.Equal(t, job.ID, j2.ID)
	require.Equal(t, "done", j2.Status)
}

func TestFailRetryPromoteAndDisable(t *testing.T) {
	ctx := context.Background()
	_, site := queueSite(t)
	w := activeHook(t, site, `tricky "status":"paused","failure_count":9 é`)
	pol := redisstore.QueuePolicy{MaxFailures: 2}

	deliverOnce := func(final bool) string {
		t.Helper()
		eid, err := site.PublishEvent(ctx, "order.created", 1, []byte(`{}`), time.Time{})
		require.NoError(t, err)
		n, err := site.FanOut(ctx, eid, nil) // not read by a consumer yet: not pending
		require.NoError(t, err)
		require.Equal(t, -1, n)
		evs, _ := readOne(t, site, "c")
		require.Len(t, evs, 1)
		n, err = site.FanOut(ctx, evs[0].EntryID, []int64{w.ID})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		_, jobs := readOne(t, site, "c")
		require.Len(t, jobs, 1)
		out, _, _, err := site.BeginJob(ctx, "c", jobs[0], pol)
		require.NoError(t, err)
		require.Equal(t, redisstore.BeginOK, out)
		if !final {
			res, err := site.FailJob(ctx, jobs[0], &redisstore.Delivery{WebhookID: w.ID, ResponseCode: "500"}, 0, "code 500", pol)
			require.NoError(t, err)
			require.Equal(t, redisstore.FailRetry, res)
			n, _, err := site.PromoteDue(ctx, 10)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			_, jobs = readOne(t, site, "c")
			require.Len(t, jobs, 1)
			out, job, _, err := site.BeginJob(ctx, "c", jobs[0], pol)
			require.NoError(t, err)
			require.Equal(t, redisstore.BeginOK, out)
			require.Equal(t, 1, job.Attempts)
		}
		res, err := site.FailJob(ctx, jobs[0], &redisstore.Delivery{WebhookID: w.ID, ResponseCode: "500"}, -1, "code 500", pol)
		require.NoError(t, err)
		// Recording the same final failure again changes nothing.
		again, err := site.FailJob(ctx, jobs[0], nil, -1, "code 500", pol)
		require.NoError(t, err)
		require.Equal(t, "dup", again)
		return res
	}

	require.Equal(t, redisstore.FailFailed, deliverOnce(false))
	got, err := site.GetWebhook(ctx, w.ID)
	require.NoError(t, err)
	require.Equal(t, 1, got.FailureCount)
	require.Equal(t, w.Name, got.Name)
	require.Equal(t, redisstore.StatusActive, got.Status)
	require.False(t, got.Modified.IsZero())

	require.Equal(t, redisstore.FailDisabled, deliverOnce(true))
	got, err = site.GetWebhook(ctx, w.ID)
	require.NoError(t, err)
	require.Equal(t, 2, got.FailureCount)
	require.Equal(t, redisstore.StatusDisabled, got.Status)
	require.Equal(t, w.Name, got.Name)
	require.True(t, got.PendingDelivery)

	// The status indexes moved.
	for st, want := range map[string]int{"active": 0, "disabled": 1, "all": 1} {
		res, err := site.ListWebhooks(ctx, redisstore.ListQuery{Status: st, Limit: -1})
		require.NoError(t, err)
		require.Equal(t, want, res.Total, st)
	}
	res, err := site.ListWebhooks(ctx, redisstore.ListQuery{Status: "disabled", OrderBy: redisstore.OrderByModified, Limit: -1})
	require.NoError(t, err)
	require.Len(t, res.Items, 1)

	ok, err := site.ClearPendingDelivery(ctx, w.ID)
	require.NoError(t, err)
	require.True(t, ok)
	got, err = site.GetWebhook(ctx, w.ID)
	require.NoError(t, err)
	require.False(t, got.PendingDelivery)
	require.Equal(t, redisstore.StatusDisabled, got.Status)
}

func TestPoisonAfterReceives(t *testing.T) {
	ctx := context.Background()
	_, site := queueSite(t)
	w := activeHook(t, site, "p")
	jid, err := site.EnqueueJob(ctx, redisstore.Job{Kind: redisstore.JobDelivery, WebhookID: w.ID, Topic: "order.created", MessageID: "m1"})
	require.NoError(t, err)
	_, jobs := readOne(t, site, "c")
	require.Len(t, jobs, 1)
	require.Equal(t, jid, jobs[0].JobID)
	pol := redisstore.QueuePolicy{MaxReceives: 2}
	for i, want := range []string{redisstore.BeginOK, redisstore.BeginOK, redisstore.BeginPoison} {
		out, _, _, err := site.BeginJob(ctx, "c", jobs[0], pol)
		require.NoError(t, err)
		require.Equal(t, want, out, "receive %d", i+1)
	}
	j, err := site.GetJob(ctx, jid)
	require.NoError(t, err)
	require.Equal(t, "poison", j.Status)
	qs, err := site.QueueStats(ctx)
	require.NoError(t, err)
	require.Zero(t, qs.Ready)
	got, err := site.GetWebhook(ctx, w.ID)
	require.NoError(t, err)
	require.Zero(t, got.FailureCount, "a poison job is not a failed delivery")
}

func TestDeletedWebhookDropsJob(t *testing.T) {
	ctx := context.Background()
	_, site := queueSite(t)
	w := activeHook(t, site, "gone")
	jid, err := site.EnqueueJob(ctx, redisstore.Job{Kind: redisstore.JobDelivery, WebhookID: w.ID, Topic: "order.created"})
	require.NoError(t, err)
	j, err := site.GetJob(ctx, jid)
	require.NoError(t, err)
	require.Equal(t, "job_"+strconv.FormatInt(jid, 10), j.MessageID, "a job without a message id gets one")
	_, err = site.DeleteWebhook(ctx, w.ID)
	require.NoError(t, err)
	_, jobs := readOne(t, site, "c")
	require.Len(t, jobs, 1)
	out, _, _, err := site.BeginJob(ctx, "c", jobs[0], redisstore.QueuePolicy{})
	require.NoError(t, err)
	require.Equal(t, redisstore.BeginNoHook, out)
	qs, err := site.QueueStats(ctx)
	require.NoError(t, err)
	require.Zero(t, qs.Ready)
	require.Zero(t, qs.ReadyPending)
}

func TestPruneConsumers(t *testing.T) {
	ctx := context.Background()
	_, site, rdb := newSite(t, "shop")
	require.NoError(t, site.EnsureQueues(ctx))
	w := activeHook(t, site, "c")
	for _, k := range []string{site.KeyPrefix() + "ev", site.KeyPrefix() + "dq:ready"} {
		for _, c := range []string{"idle", "me"} {
			require.NoError(t, rdb.XGroupCreateConsumer(ctx, k, redisstore.QueueGroup, c).Err())
		}
	}
	_, err := site.EnqueueJob(ctx, redisstore.Job{Kind: redisstore.JobDelivery, WebhookID: w.ID, Topic: "order.created"})
	require.NoError(t, err)
	_, jobs := readOne(t, site, "busy") // holds a pending entry
	require.Len(t, jobs, 1)
	n, err := site.PruneConsumers(ctx, "me", 0)
	require.NoError(t, err)
	require.Equal(t, 2, n, "idle is removed from both groups; busy and me stay")
	_, _, err = site.ClaimStale(ctx, "me", 0, 10)
	require.NoError(t, err)
	n, err = site.PruneConsumers(ctx, "me", 0)
	require.NoError(t, err)
	require.Equal(t, 1, n, "busy goes once its entry was reclaimed")
}
