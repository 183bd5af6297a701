package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// parkSetup queues n jobs of one webhook and reads them as consumer "c".
func parkSetup(t *testing.T, n int) (*redisstore.Store, *redisstore.Site, *redisstore.Webhook, []redisstore.QueuedJob) {
	t.Helper()
	s, site := queueSite(t)
	w := activeHook(t, site, "h")
	for range n {
		_, err := site.EnqueueJob(context.Background(), redisstore.Job{WebhookID: w.ID, Kind: redisstore.JobDelivery, Topic: "order.created", Payload: []byte(`{}`)})
		require.NoError(t, err)
	}
	_, jobs := readOne(t, site, "c")
	require.Len(t, jobs, n)
	return s, site, w, jobs
}

func TestParkAndUnpark(t *testing.T) {
	ctx := context.Background()
	s, site, w, jobs := parkSetup(t, 5)
	n, err := site.ParkJobs(ctx, jobs[1:], time.Minute)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	again, err := site.ParkJobs(ctx, jobs[1:], time.Minute)
	require.NoError(t, err)
	require.Zero(t, again, "entries no longer pending are not parked twice")
	c, err := site.ParkedCount(ctx, w.ID)
	require.NoError(t, err)
	require.Equal(t, int64(4), c)
	qs, err := site.QueueStats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), qs.ReadyPending, "parked jobs left the work stream")
	require.Equal(t, int64(1), qs.Ready)
	require.Equal(t, int64(4), qs.Parked, "and are counted as parked")
	sites, err := s.ParkedSites(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"shop"}, sites)

	// A live lease is not recovered.
	rec, err := site.RecoverParked(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Zero(t, rec.Moved)
	require.Equal(t, 1, rec.ParkedHooks)

	moved, left, err := site.UnparkJobs(ctx, w.ID, 3, time.Minute)
	require.NoError(t, err)
	require.Equal(t, 3, moved)
	require.Equal(t, 1, left)
	qs, err = site.QueueStats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), qs.Parked)
	_, back := readOne(t, site, "c")
	require.Len(t, back, 3)
	for i, q := range back {
		require.Equal(t, jobs[1+i].JobID, q.JobID, "oldest first")
		require.Equal(t, w.ID, q.WebhookID)
		j, err := site.GetJob(ctx, q.JobID)
		require.NoError(t, err)
		require.Equal(t, "queued", j.Status)
	}
	moved, left, err = site.UnparkJobs(ctx, w.ID, 3, time.Minute)
	require.NoError(t, err)
	require.Equal(t, 1, moved)
	require.Zero(t, left)
	rec, err = site.RecoverParked(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Zero(t, rec.ParkedHooks, "the webhook left the parked set")
}

func TestRecoverParkedAfterLease(t *testing.T) {
	ctx := context.Background()
	_, site, w, jobs := parkSetup(t, 3)
	_, err := site.ParkJobs(ctx, jobs, 0) // lease already over: the parker died
	require.NoError(t, err)
	rec, err := site.RecoverParked(ctx, 2, time.Minute)
	require.NoError(t, err)
	require.Equal(t, 2, rec.Moved)
	require.Equal(t, []int64{w.ID}, rec.Taken, "the caller takes the webhook over")
	// The renewed lease keeps the rest parked for the taker.
	rec, err = site.RecoverParked(ctx, 2, time.Minute)
	require.NoError(t, err)
	require.Zero(t, rec.Moved)
	require.Equal(t, 1, rec.ParkedHooks)
	_, back := readOne(t, site, "other")
	require.Len(t, back, 2)
}

// TestRequeueJobs: a stopping consumer hands back what it read and never
// sent (begun ahead of its send or not), leaves a finished job finished,
// and leaves alone entries pending to another consumer.
func TestRequeueJobs(t *testing.T) {
	ctx := context.Background()
	_, site, _, jobs := parkSetup(t, 4)
	n, err := site.RequeueJobs(ctx, "another", jobs)
	require.NoError(t, err)
	require.Zero(t, n, "entries pending to another consumer are not taken")

	begun, err := site.BeginJobs(ctx, "c", jobs[:2], redisstore.QueuePolicy{})
	require.NoError(t, err)
	require.Equal(t, redisstore.BeginOK, begun[1].Outcome)
	fin, err := site.FinishJobs(ctx, []redisstore.Outcome{{Job: jobs[0], Success: true,
		Delivery: &redisstore.Delivery{WebhookID: jobs[0].WebhookID, ResponseCode: "200"}}}, redisstore.QueuePolicy{})
	require.NoError(t, err)
	require.NoError(t, fin[0].Err)
	n, err = site.RequeueJobs(ctx, "c", jobs)
	require.NoError(t, err)
	require.Equal(t, 3, n, "the begun job and the two not begun; not the finished one")
	qs, err := site.QueueStats(ctx)
	require.NoError(t, err)
	require.Zero(t, qs.ReadyPending, "nothing left pending with the old consumer")
	_, back := readOne(t, site, "next")
	require.Len(t, back, 3)
	for i, q := range back {
		require.Equal(t, jobs[1+i].JobID, q.JobID)
	}
	again, err := site.RequeueJobs(ctx, "c", jobs)
	require.NoError(t, err)
	require.Zero(t, again, "old entries are gone")
}

func TestReadSitesOneCall(t *testing.T) {
	ctx := context.Background()
	s, a := queueSite(t)
	require.True(t, s.MultiSiteReads())
	b, err := s.Site("other")
	require.NoError(t, err)
	require.NoError(t, b.EnsureQueues(ctx))
	w := activeHook(t, b, "h")
	_, err = a.PublishEvent(ctx, "order.created", 7, []byte(`{}`), time.Time{})
	require.NoError(t, err)
	_, err = b.EnqueueJob(ctx, redisstore.Job{WebhookID: w.ID, Kind: redisstore.JobPing})
	require.NoError(t, err)
	got, err := s.ReadSites(ctx, []*redisstore.Site{a, b}, "c", 10, 50*time.Millisecond)
	require.NoError(t, err)
	require.Len(t, got, 2)
	by := map[string]redisstore.SiteEntries{}
	for _, e := range got {
		by[e.Site.Name()] = e
	}
	require.Len(t, by["shop"].Events, 1)
	require.Equal(t, int64(7), by["shop"].Events[0].ResourceID)
	require.Len(t, by["other"].Jobs, 1)
	require.Equal(t, w.ID, by["other"].Jobs[0].WebhookID)
	got, err = s.ReadSites(ctx, []*redisstore.Site{a, b}, "c", 10, 20*time.Millisecond)
	require.NoError(t, err)
	require.Empty(t, got)
}
