package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// arrival is the first delivery of one event id at a receiver.
type arrival struct {
	published time.Time     // the publisher's send time (payload "t")
	latency   time.Duration // first arrival minus published
}

// receiver is a webhook receiver on a fixed loopback address that checks
// every X-WC-Webhook-Signature and counts deliveries by the payload's
// event id "k". It can be taken down and brought back on the same address
// (down, up) and made to hang (hangFor).
type receiver struct {
	name   string
	secret string
	addr   string

	mu     sync.Mutex
	counts map[string]int
	first  map[string]arrival
	badSig int
	pings  int
	srv    *http.Server

	active    atomic.Int64 // requests inside the handler
	peak      atomic.Int64 // most requests inside the handler at once
	sources   map[string]int
	hangUntil atomic.Int64 // unix nanos; requests before it wait until then
}

// newReceiver starts a receiver on a free loopback port.
func newReceiver(name, secret string) (*receiver, error) {
	rc := &receiver{name: name, secret: secret, counts: map[string]int{}, first: map[string]arrival{}, sources: map[string]int{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("receiver %s: listen: %w", name, err)
	}
	rc.addr = l.Addr().String()
	rc.serve(l)
	return rc, nil
}

// url is the delivery URL.
func (rc *receiver) url() string { return "http://" + rc.addr + "/hook" }

func (rc *receiver) serve(l net.Listener) {
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	rc.mu.Lock()
	rc.srv = srv
	rc.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// down closes the listener and every connection; later deliveries are
// refused. It returns how many requests were inside the handler then.
func (rc *receiver) down() int {
	rc.mu.Lock()
	srv := rc.srv
	rc.srv = nil
	rc.mu.Unlock()
	n := int(rc.active.Load())
	if srv != nil {
		_ = srv.Close()
	}
	return n
}

// up listens on the receiver's address again (retrying for up to 10 s
// while the port is still held).
func (rc *receiver) up() error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := net.Listen("tcp", rc.addr)
		if err == nil {
			rc.serve(l)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("receiver %s: listen again on %s: %w", rc.name, rc.addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hangFor makes every request that arrives in the next d wait until d has
// passed before it is answered.
func (rc *receiver) hangFor(d time.Duration) {
	rc.hangUntil.Store(time.Now().Add(d).UnixNano())
}

// close stops the receiver for good.
func (rc *receiver) close() {
	rc.hangUntil.Store(0)
	rc.mu.Lock()
	srv := rc.srv
	rc.srv = nil
	rc.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
			_ = srv.Close()
		}
	}
}

// payload is what the publishers put in each event.
type payload struct {
	K string `json:"k"` // unique event id
	T int64  `json:"t"` // publish time, unix nanos
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if n := rc.active.Add(1); n > rc.peak.Load() {
		rc.peak.Store(n) // racy maximum: good enough for a report
	}
	defer rc.active.Add(-1)
	now := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if strings.HasPrefix(string(body), "webhook_id=") {
		rc.mu.Lock()
		rc.pings++
		rc.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		return
	}
	var p payload
	_ = json.Unmarshal(body, &p)
	mac := hmac.New(sha256.New, []byte(rc.secret))
	mac.Write(body)
	good := hmac.Equal([]byte(r.Header.Get("X-WC-Webhook-Signature")), []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil))))
	rc.mu.Lock()
	if !good {
		rc.badSig++
	}
	rc.counts[p.K]++
	rc.sources[r.Header.Get("X-WC-Webhook-Source")]++
	if _, seen := rc.first[p.K]; !seen && p.T > 0 {
		pub := time.Unix(0, p.T)
		rc.first[p.K] = arrival{published: pub, latency: now.Sub(pub)}
	}
	rc.mu.Unlock()
	if until := rc.hangUntil.Load(); until > now.UnixNano() {
		select {
		case <-time.After(time.Until(time.Unix(0, until))):
		case <-r.Context().Done():
		}
	}
	w.WriteHeader(http.StatusOK)
}

// snapshot returns copies of the counts and first arrivals, and the
// numbers of bad signatures and pings.
func (rc *receiver) snapshot() (map[string]int, map[string]arrival, int, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	counts := make(map[string]int, len(rc.counts))
	for k, v := range rc.counts {
		counts[k] = v
	}
	first := make(map[string]arrival, len(rc.first))
	for k, v := range rc.first {
		first[k] = v
	}
	return counts, first, rc.badSig, rc.pings
}

// has reports whether every key in keys was delivered at least once.
func (rc *receiver) has(keys []string) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, k := range keys {
		if rc.counts[k] == 0 {
			return false
		}
	}
	return true
}

// distinct is the number of distinct event ids delivered so far.
func (rc *receiver) distinct() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.counts)
}

// pingCount is the number of pings received.
func (rc *receiver) pingCount() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.pings
}

// bySource returns the number of deliveries per X-WC-Webhook-Source (each
// Caddy process of a scenario has its own home URL).
func (rc *receiver) bySource() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]int, len(rc.sources))
	for k, v := range rc.sources {
		out[k] = v
	}
	return out
}
