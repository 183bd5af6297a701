package dispatcher_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore/redistest"
)

// BenchmarkDispatch measures draining a burst of b.N published events, each
// delivered to four webhooks on one local receiver; compare with BenchmarkBarePost
// (go test -bench . -run ^$ ./dispatcher/).
func BenchmarkDispatch(b *testing.B) {
	rdb := redistest.Client(b)
	store := redisstore.New(rdb, redisstore.Options{})
	site, _ := store.Site("bench")
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got.Add(1)
	}))
	defer srv.Close()
	for range 4 {
		w := &redisstore.Webhook{Name: "b", Status: redisstore.StatusActive, Topic: "order.created", DeliveryURL: srv.URL, APIVersion: redisstore.APIVersionWPV3}
		if err := site.CreateWebhook(context.Background(), w); err != nil {
			b.Fatal(err)
		}
	}
	d, err := dispatcher.New(dispatcher.Options{Store: store, AllowCIDRs: []string{"127.0.0.0/8"}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := d.AddSite(ctx, site, dispatcher.SiteOptions{HomeURL: "https://bench.example"}); err != nil {
		b.Fatal(err)
	}
	payload := bytes.Repeat([]byte("x"), 1024)
	for range b.N {
		if _, err := dispatcher.Publish(ctx, site, dispatcher.Event{Topic: "order.created", Payload: payload}); err != nil {
			b.Fatal(err)
		}
	}
	_ = rdb.ConfigResetStat(ctx).Err()
	cpu0, self0 := redistest.ServerCPU(b, rdb), processCPU()
	b.ResetTimer() // measure draining the published burst
	if err := d.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer d.Stop(ctx)
	for got.Load() < int64(4*b.N) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(4*b.N)/b.Elapsed().Seconds(), "deliveries/s")
	b.ReportMetric((processCPU()-self0)*1e6/float64(4*b.N), "go-cpu-µs/delivery")
	b.StopTimer() // Stop waits for the readers' blocking reads
	b.ReportMetric((redistest.ServerCPU(b, rdb)-cpu0)*1e6/float64(4*b.N), "redis-cpu-µs/delivery")
	if testing.Verbose() {
		b.Log(rdb.Info(ctx, "commandstats").Val())
	}
}

// BenchmarkBarePost is a bare Go POST loop with 16 workers to the same
// kind of receiver, four POSTs per iteration.
func BenchmarkBarePost(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	payload := bytes.Repeat([]byte("x"), 1024)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	jobs := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				resp, err := client.Post(srv.URL, "application/json", bytes.NewReader(payload))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	self0 := processCPU()
	b.ResetTimer()
	for range 4 * b.N {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	b.ReportMetric(float64(4*b.N)/b.Elapsed().Seconds(), "deliveries/s")
	b.ReportMetric((processCPU()-self0)*1e6/float64(4*b.N), "go-cpu-µs/delivery")
}

// processCPU returns the CPU seconds (user + system) this process has
// used: the benchmark's sender and receiver together. CPU per delivery
// is the figure that bounds throughput on a machine that is busy anyway.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
