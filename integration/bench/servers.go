package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// smallPage is the page upstream's page for the pass-through scenario
// (about 1 KiB of HTML).
var smallPage = []byte("<!doctype html><html><head><title>Shop</title></head><body>" +
	strings.Repeat("<p>Stand-in WooCommerce page.</p>", 28) + "</body></html>\n")

// pageHandler is the pass-through upstream: a fast page for every GET and
// a 404 for anything else (the benchmark sends nothing else through).
func pageHandler() http.Handler {
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

// hookPayload is what the benchmark puts in an event's payload: the run,
// a sequence number and the send time in Unix nanoseconds.
type hookPayload struct {
	Run string `json:"run"`
	K   int    `json:"k"`
	T   int64  `json:"t"`
}

// maxPaths bounds the receiver paths told apart (/hook, /hook/1 … /hook/255).
const maxPaths = 256

// receiver is a fast webhook receiver: it answers 200 at once and records,
// for the current run, the first arrival latency of each (sequence number,
// path) pair, so a fan-out to several webhooks (each with its own path
// /hook/<n>) counts every delivery. Deliveries without a run payload (the
// order payloads of watched writes) are counted by X-WC-Webhook-Topic.
type receiver struct {
	mu     sync.Mutex
	run    string
	seen   map[int64]bool
	lat    []time.Duration
	dups   int
	last   time.Time
	topics map[string]int
	cond   *sync.Cond
}

func newReceiver() *receiver {
	r := &receiver{seen: map[int64]bool{}, topics: map[string]int{}}
	r.cond = sync.NewCond(&r.mu)
	return r
}

// reset starts a new run: only payloads carrying run are counted.
func (rc *receiver) reset(run string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.run, rc.seen, rc.lat, rc.dups, rc.last = run, map[int64]bool{}, nil, 0, time.Time{}
}

// pathIndex is n for /hook/<n>, else 0.
func pathIndex(p string) int64 {
	rest := strings.Trim(strings.TrimPrefix(p, "/hook"), "/")
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || n >= maxPaths {
		return 0
	}
	return int64(n)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	now := time.Now()
	w.WriteHeader(http.StatusOK)
	var p hookPayload
	if json.Unmarshal(body, &p) != nil || p.Run == "" {
		if topic := r.Header.Get("X-WC-Webhook-Topic"); topic != "" {
			rc.mu.Lock()
			rc.topics[topic]++
			rc.cond.Broadcast()
			rc.mu.Unlock()
		}
		return // a ping, an order payload or something else
	}
	key := int64(p.K)*maxPaths + pathIndex(r.URL.Path)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if p.Run != rc.run {
		return
	}
	if rc.seen[key] {
		rc.dups++
		return
	}
	rc.seen[key] = true
	rc.lat = append(rc.lat, now.Sub(time.Unix(0, p.T)))
	rc.last = now
	rc.cond.Broadcast()
}

// waitCond waits until done (called with rc.mu held) or timeout passed.
func (rc *receiver) waitCond(timeout time.Duration, done func() bool) {
	deadline := time.Now().Add(timeout)
	stop := time.AfterFunc(timeout, func() {
		rc.mu.Lock()
		rc.cond.Broadcast()
		rc.mu.Unlock()
	})
	defer stop.Stop()
	for !done() && time.Now().Before(deadline) {
		rc.cond.Wait()
	}
}

// wait waits until n distinct deliveries of the current run arrived or
// timeout passed; it returns the latencies, the duplicates and the time of
// the last arrival.
func (rc *receiver) wait(n int, timeout time.Duration) ([]time.Duration, int, time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.waitCond(timeout, func() bool { return len(rc.lat) >= n })
	return append([]time.Duration(nil), rc.lat...), rc.dups, rc.last
}

// burst waits (at most 90 s) for n deliveries of the current run that
// started at start and returns them as a burst.
func (rc *receiver) burst(n int, start time.Time) burst {
	lat, dups, last := rc.wait(n, 90*time.Second)
	sortDur(lat)
	return burst{Got: len(lat), Dups: dups, Time: last.Sub(start), Lat: lat}
}

// waitStall is wait that also gives up once no new delivery of the run
// arrived for stall (a dispatcher that stopped delivering).
func (rc *receiver) waitStall(n int, timeout, stall time.Duration) ([]time.Duration, int, time.Time) {
	deadline := time.Now().Add(timeout)
	seen, progressAt := -1, time.Now()
	for {
		rc.mu.Lock()
		rc.waitCond(min(stall/4, time.Until(deadline)), func() bool { return len(rc.lat) >= n })
		got := len(rc.lat)
		rc.mu.Unlock()
		if got > seen {
			seen, progressAt = got, time.Now()
		}
		if got >= n || !time.Now().Before(deadline) || time.Since(progressAt) > stall {
			return rc.wait(n, 0)
		}
	}
}

// waitTopic waits until n deliveries of topic (without a run payload)
// arrived in total, or timeout passed, and returns the count.
func (rc *receiver) waitTopic(topic string, n int, timeout time.Duration) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.waitCond(timeout, func() bool { return rc.topics[topic] >= n })
	return rc.topics[topic]
}
