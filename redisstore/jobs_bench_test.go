package redisstore_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore/redistest"
)

// BenchmarkJobPipeline runs the Redis side of b.N deliveries without HTTP:
// events of 1 KiB fanned out to four webhooks, then read, begun and
// completed in batches of 32, as the dispatcher does. It reports the CPU
// time redis-server spent per delivery (user + system), the figure that
// bounds dispatch throughput on a small machine.
func BenchmarkJobPipeline(b *testing.B) {
	ctx := context.Background()
	_, site, rdb := newSite(b, "bench")
	if err := site.EnsureQueues(ctx); err != nil {
		b.Fatal(err)
	}
	var hooks []int64
	for range 4 {
		w := &redisstore.Webhook{Name: "b", Status: redisstore.StatusActive, Topic: "order.created",
			DeliveryURL: "https://example.com/h", Secret: "s", APIVersion: redisstore.APIVersionWPV3}
		if err := site.CreateWebhook(ctx, w); err != nil {
			b.Fatal(err)
		}
		hooks = append(hooks, w.ID)
	}
	events := max(b.N/len(hooks), 1)
	payload := bytes.Repeat([]byte("x"), 1024)
	for range events {
		if _, err := site.PublishEvent(ctx, "order.created", 1, payload, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	rec := &redisstore.Delivery{RequestMethod: "POST", RequestURL: "https://example.com/h",
		RequestHeaders: map[string]string{"Content-Type": "application/json", "X-WC-Webhook-Topic": "order.created"},
		RequestBody:    string(payload), ResponseCode: "200", ResponseMessage: "OK",
		ResponseHeaders: map[string]string{"Content-Length": "0"}, Summary: "HTTP 200 OK: ", Duration: "0.001"}
	pol := redisstore.QueuePolicy{}
	cpu0 := redistest.ServerCPU(b, rdb)
	b.ResetTimer()
	done := 0
	var phase [4]float64 // read, fan out, begin, finish
	last := cpu0
	mark := func(i int) {
		if testing.Verbose() {
			now := redistest.ServerCPU(b, rdb)
			phase[i] += now - last
			last = redistest.ServerCPU(b, rdb)
		}
	}
	for done < events*len(hooks) {
		evs, jobs, err := site.ReadQueues(ctx, "c", 64, 10*time.Millisecond)
		if err != nil {
			b.Fatal(err)
		}
		mark(0)
		if len(evs) > 0 {
			reqs := make([]redisstore.FanOutRequest, len(evs))
			for i, ev := range evs {
				reqs[i] = redisstore.FanOutRequest{EventEntryID: ev.EntryID, WebhookIDs: hooks}
			}
			if _, err := site.FanOutBatch(ctx, reqs); err != nil {
				b.Fatal(err)
			}
			mark(1)
		}
		for len(jobs) > 0 {
			part := jobs[:min(len(jobs), redisstore.MaxBatch)]
			jobs = jobs[len(part):]
			brs, err := site.BeginJobs(ctx, "c", part, pol)
			if err != nil {
				b.Fatal(err)
			}
			mark(2)
			outs := make([]redisstore.Outcome, 0, len(part))
			for i, br := range brs {
				if br.Err != nil || br.Outcome != redisstore.BeginOK {
					b.Fatalf("begin: %q %v", br.Outcome, br.Err)
				}
				d := *rec
				d.WebhookID = br.Webhook.ID
				outs = append(outs, redisstore.Outcome{Job: part[i], Delivery: &d, Success: true})
			}
			frs, err := site.FinishJobs(ctx, outs, pol)
			if err != nil {
				b.Fatal(err)
			}
			mark(3)
			for _, fr := range frs {
				if fr.Err != nil {
					b.Fatal(fr.Err)
				}
			}
			done += len(part)
		}
	}
	b.StopTimer()
	b.ReportMetric((redistest.ServerCPU(b, rdb)-cpu0)*1e6/float64(done), "redis-cpu-µs/delivery")
	if testing.Verbose() {
		b.Logf("redis CPU µs per delivery: read %.1f, fan out %.1f, begin %.1f, finish %.1f (measured apart)",
			phase[0]*1e6/float64(done), phase[1]*1e6/float64(done), phase[2]*1e6/float64(done), phase[3]*1e6/float64(done))
		b.Log(rdb.Info(ctx, "commandstats").Val())
	}
}
