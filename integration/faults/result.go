package main

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// result is one scenario's outcome.
type result struct {
	Name     string
	Settings string // the dispatch settings, for the report
	Took     time.Duration

	Published       int // events acknowledged 2xx by the events endpoint
	Unacked         int // publish tries not answered 2xx (retried as new events)
	UnackedArrived  int // of which delivered anyway (stored before the fault cut the answer)
	Webhooks        int // receivers subscribed to the topic
	Expected        int // Published × Webhooks
	Delivered       int // distinct acknowledged events delivered, summed over receivers
	Lost            int // acknowledged but never delivered, summed over receivers
	Duplicated      int // deliveries beyond the first of an event at a receiver
	InFlight        int // deliveries in flight at the fault(s); -1: not measured
	InFlightNote    string
	BadSignatures   int
	LostIDs, DupIDs []string      // the first few, for the report
	MaxLatency      time.Duration // the longest publish-to-first-delivery time
	Latency         [4]int        // first deliveries within 1 s, 1-5 s, 5-30 s, over 30 s
	P50, P99        time.Duration // of publish-to-first-delivery over every receiver

	// Checks are further pass conditions of the scenario (each with a
	// verdict); Notes are shown under the table.
	Checks []check
	Notes  []string
	Err    error // the scenario could not run to the end
}

// check is one extra pass condition.
type check struct {
	What string
	OK   bool
}

// pass is the verdict: no error, zero lost, no bad signature, duplicates
// at most the deliveries in flight at the fault, every extra check met.
func (r *result) pass() bool {
	if r.Err != nil || r.Lost > 0 || r.BadSignatures > 0 || r.Duplicated > max(r.InFlight, 0) {
		return false
	}
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// verdict is "PASS" or "FAIL".
func (r *result) verdict() string {
	if r.pass() {
		return "PASS"
	}
	return "FAIL"
}

func (r *result) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func (r *result) require(ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, check{What: fmt.Sprintf(format, args...), OK: ok})
}

// tally counts the publisher's acknowledged events at every receiver.
func (r *result) tally(p *publisher, rcs ...*receiver) {
	acked := p.ackedKeys()
	unsure := p.unsureKeys()
	r.Published, r.Unacked, r.Webhooks = len(acked), len(unsure), len(rcs)
	r.Expected = len(acked) * len(rcs)
	arrived := map[string]bool{}
	for _, rc := range rcs {
		counts, _, bad, _ := rc.snapshot()
		r.BadSignatures += bad
		for _, k := range acked {
			switch n := counts[k]; {
			case n == 0:
				r.Lost++
				if len(r.LostIDs) < 20 {
					r.LostIDs = append(r.LostIDs, rc.name+":"+k)
				}
			default:
				r.Delivered++
				if n > 1 {
					r.Duplicated += n - 1
					if len(r.DupIDs) < 20 {
						r.DupIDs = append(r.DupIDs, fmt.Sprintf("%s:%s×%d", rc.name, k, n))
					}
				}
			}
		}
		for _, k := range unsure {
			if n := counts[k]; n > 0 {
				arrived[k] = true
				r.Duplicated += n - 1
			}
		}
		for k := range counts {
			if !strings.HasPrefix(k, p.prefix+"-") {
				r.note("receiver %s got an event id of no publisher: %q", rc.name, k)
			}
		}
	}
	r.UnackedArrived = len(arrived)
	var lat []time.Duration
	for _, rc := range rcs {
		_, first, _, _ := rc.snapshot()
		for _, k := range acked {
			a, ok := first[k]
			if !ok {
				continue
			}
			lat = append(lat, a.latency)
			r.MaxLatency = max(r.MaxLatency, a.latency)
			switch {
			case a.latency <= time.Second:
				r.Latency[0]++
			case a.latency <= 5*time.Second:
				r.Latency[1]++
			case a.latency <= 30*time.Second:
				r.Latency[2]++
			default:
				r.Latency[3]++
			}
		}
	}
	r.P50, r.P99 = pct(lat, 50), pct(lat, 99)
	if f := p.failures(); len(f) > 0 {
		r.require(false, "every publish answered 2xx or 5xx/no answer (got %d 4xx: %s)", len(f), f[0])
	}
}

// waitDone waits until every acknowledged event reached every receiver and
// the site's queues are empty (no event, job, retry or pending entry, so
// no delivery can still come), then half a second more; it reports
// whether that happened within timeout.
func waitDone(e *env, p *publisher, timeout time.Duration, rcs ...*receiver) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		keys := p.ackedKeys()
		all := true
		for _, rc := range rcs {
			if !rc.has(keys) {
				all = false
				break
			}
		}
		if all && e.drained() {
			time.Sleep(500 * time.Millisecond)
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// pct returns the p-th percentile (0..100) of ds (sorted in place).
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[int(float64(len(ds)-1)*p/100)]
}

// ms formats a duration in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
