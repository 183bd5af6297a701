package main

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// crashDispatch are the dispatch settings of the process-crash scenarios:
// http_timeout 2s makes the visibility timeout (http_timeout + 30 s) 32 s,
// so a dead process's entries are reclaimed within the run; with the
// default 60 s they are reclaimed after 90 s, with the same outcome.
var crashDispatch = []string{"http_timeout 2s", "ping_timeout 1s", "retry_ladder 200ms 400ms 800ms 1600ms"}

const publishWorkers = 8

// killCaddy: events are published at a fixed rate; once a third of them
// are acknowledged Caddy gets SIGKILL and is started again on the same
// Redis. Deliveries in flight at the fault are the entries the killed
// process had read and not finished (the work stream's pending entries
// right after the kill): only those may arrive twice.
func (s *suite) killCaddy(r *result) (*env, error) {
	r.Settings = strings.Join(crashDispatch, "; ")
	e, rcs, _, err := s.setup("kill9", crashDispatch, 1, "order.created", "r1")
	defer closeAll(rcs)
	if err != nil {
		return e, err
	}
	n := s.sz.BurstN
	p := publish(e, bases(e), "order.created", "k9", n, s.sz.BurstRate, publishWorkers, time.Now().Add(s.sz.DrainWithin))
	defer p.halt()
	if err := waitAcked(p, n/3, 60*time.Second); err != nil {
		return e, err
	}
	node := e.nodes[0]
	delivered := rcs[0].distinct()
	node.caddy.Kill9()
	qs, err := e.stats()
	if err != nil {
		return e, fmt.Errorf("queue stats after the kill: %w", err)
	}
	r.InFlight = int(qs.ReadyPending)
	r.InFlightNote = "work-stream entries the killed process held"
	r.note("killed with %d events acknowledged and %d delivered; the dead process held %d jobs and %d events read but unfinished",
		p.ackedCount(), delivered, qs.ReadyPending, qs.EventsPending)
	if err := e.start(node); err != nil {
		return e, fmt.Errorf("restart caddy: %w", err)
	}
	return e, s.finish(e, p, r, rcs...)
}

// killRedis: events are published at a fixed rate; once a third of them
// are acknowledged redis-server (appendonly yes, appendfsync always) gets
// SIGKILL, stays down for a second and is started again on its AOF.
// Publishes that fail meanwhile are retried as new events. In flight at
// the fault: the work stream's pending entries just before the kill and
// right after the restart (the larger counts).
func (s *suite) killRedis(r *result) (*env, error) {
	r.Settings = strings.Join(crashDispatch, "; ")
	e, rcs, _, err := s.setup("redis9", crashDispatch, 1, "order.created", "r1")
	defer closeAll(rcs)
	if err != nil {
		return e, err
	}
	n := s.sz.BurstN
	p := publish(e, bases(e), "order.created", "rk", n, s.sz.BurstRate, publishWorkers, time.Now().Add(s.sz.DrainWithin))
	defer p.halt()
	if err := waitAcked(p, n/3, 60*time.Second); err != nil {
		return e, err
	}
	before, err := e.stats()
	if err != nil {
		return e, fmt.Errorf("queue stats before the kill: %w", err)
	}
	acked, delivered := p.ackedCount(), rcs[0].distinct()
	e.redis.Kill9()
	e.redisLogs = append(e.redisLogs, e.redis.Log.String())
	time.Sleep(time.Second)
	if err := e.redis.Restart(); err != nil {
		return e, fmt.Errorf("restart redis: %w", err)
	}
	after, err := e.stats()
	if err != nil {
		return e, fmt.Errorf("queue stats after the restart: %w", err)
	}
	r.InFlight = int(max(before.ReadyPending, after.ReadyPending))
	r.InFlightNote = "work-stream pending entries at the kill"
	r.note("Redis killed with %d events acknowledged and %d delivered; pending jobs %d just before the kill, %d right after the restart",
		acked, delivered, before.ReadyPending, after.ReadyPending)
	return e, s.finish(e, p, r, rcs...)
}

// twoProcesses: two Caddy processes serve the site on one Redis; events
// are published to both in turn. No fault: nothing is in flight at one,
// so no event may arrive twice.
func (s *suite) twoProcesses(r *result) (*env, error) {
	r.Settings = "defaults"
	e, rcs, _, err := s.setup("two", nil, 2, "customer.created", "r1")
	defer closeAll(rcs)
	if err != nil {
		return e, err
	}
	p := publish(e, bases(e), "customer.created", "tw", s.sz.TwoN, s.sz.TwoRate, publishWorkers, time.Now().Add(s.sz.DrainWithin))
	defer p.halt()
	if err := s.finish(e, p, r, rcs...); err != nil {
		return e, err
	}
	r.InFlight = 0
	r.InFlightNote = "no fault"
	var parts []string
	for src, c := range rcs[0].bySource() {
		parts = append(parts, fmt.Sprintf("%s %d", src, c))
	}
	sort.Strings(parts)
	r.note("deliveries by X-WC-Webhook-Source (each process has its own home_url): %s", strings.Join(parts, ", "))
	return e, nil
}
