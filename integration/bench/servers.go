package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// smallPage is the upstream's page for the pass-through scenario (about
// 1 KiB of HTML).
var smallPage = []byte("<!doctype html><html><head><title>Shop</title></head><body>" +
	strings.Repeat("<p>Stand-in WooCommerce page.</p>", 28) + "</body></html>\n")

// upstreamHandler is the stand-in upstream: a fast page for every GET and
// a 404 for anything else (the benchmark sends nothing else through).
func upstreamHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		_, _ = w.Write(smallPage)
	})
}

// hookPayload is what the benchmark puts in an event's payload: a sequence
// number and the send time in Unix nanoseconds.
type hookPayload struct {
	Run string `json:"run"`
	K   int    `json:"k"`
	T   int64  `json:"t"`
}

// receiver is a fast webhook receiver: it answers 200 at once and records,
// for the current run, each sequence number's first arrival latency.
type receiver struct {
	mu   sync.Mutex
	run  string
	seen map[int]bool
	lat  []time.Duration
	dups int
	last time.Time
	cond *sync.Cond
}

func newReceiver() *receiver {
	r := &receiver{seen: map[int]bool{}}
	r.cond = sync.NewCond(&r.mu)
	return r
}

// reset starts a new run: only payloads carrying run are counted.
func (rc *receiver) reset(run string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.run, rc.seen, rc.lat, rc.dups, rc.last = run, map[int]bool{}, nil, 0, time.Time{}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	now := time.Now()
	w.WriteHeader(http.StatusOK)
	var p hookPayload
	if json.Unmarshal(body, &p) != nil || p.Run == "" {
		return // a ping or something else
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if p.Run != rc.run {
		return
	}
	if rc.seen[p.K] {
		rc.dups++
		return
	}
	rc.seen[p.K] = true
	rc.lat = append(rc.lat, now.Sub(time.Unix(0, p.T)))
	rc.last = now
	rc.cond.Broadcast()
}

// wait waits until n distinct deliveries of the current run arrived or
// timeout passed; it returns the latencies, the duplicates and the time of
// the last arrival.
func (rc *receiver) wait(n int, timeout time.Duration) ([]time.Duration, int, time.Time) {
	deadline := time.Now().Add(timeout)
	stop := time.AfterFunc(timeout, func() {
		rc.mu.Lock()
		rc.cond.Broadcast()
		rc.mu.Unlock()
	})
	defer stop.Stop()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for len(rc.lat) < n && time.Now().Before(deadline) {
		rc.cond.Wait()
	}
	return append([]time.Duration(nil), rc.lat...), rc.dups, rc.last
}
