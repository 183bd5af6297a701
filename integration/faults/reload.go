package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// reloadUnderLoad: events are published at a fixed rate while Caddy's
// config is replaced Reloads times through the admin API (POST /load with
// a Caddyfile whose site header and dispatcher max_concurrent change, so
// the wc_webhooks app and its dispatcher are replaced). Every reload must
// take effect (the X-Config-Gen header). In flight at the faults: the
// work stream's pending entries just before each reload, summed.
func (s *suite) reloadUnderLoad(r *result) (*env, error) {
	r.Settings = strings.Join(crashDispatch, "; ")
	e, rcs, _, err := s.setup("reload", crashDispatch, 1, "coupon.created", "r1")
	defer closeAll(rcs)
	if err != nil {
		return e, err
	}
	n := int(s.sz.ReloadRate * s.sz.ReloadFor.Seconds())
	p := publish(e, bases(e), "coupon.created", "rl", n, s.sz.ReloadRate, publishWorkers, time.Now().Add(s.sz.ReloadFor+s.sz.DrainWithin))
	defer p.halt()
	every := s.sz.ReloadFor / time.Duration(s.sz.Reloads+1)
	node := e.nodes[0]
	inflight := 0
	var took []string
	for i := 0; i < s.sz.Reloads; i++ {
		time.Sleep(every)
		qs, err := e.stats()
		if err != nil {
			return e, fmt.Errorf("queue stats before reload %d: %w", i+1, err)
		}
		inflight += int(qs.ReadyPending)
		t0 := time.Now()
		if err := e.reload(node); err != nil {
			return e, err
		}
		took = append(took, time.Since(t0).Round(time.Millisecond).String())
		if err := e.checkGen(node); err != nil {
			return e, err
		}
	}
	r.InFlight = inflight
	r.InFlightNote = "work-stream pending entries before each reload, summed"
	if err := s.finish(e, p, r, rcs...); err != nil {
		return e, err
	}
	r.note("%d reloads, each took %s", s.sz.Reloads, strings.Join(took, ", "))
	return e, nil
}

// checkGen checks that node n answers with its current X-Config-Gen (a
// GET, retried: a fresh connection made while Caddy hands its listeners
// over can be reset, with or without the module).
func (e *env) checkGen(n *node) error {
	c := e.client(5 * time.Second)
	var last string
	for attempt := 0; attempt < 10; attempt++ {
		res, err := c.Get(n.base() + "/")
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			last = res.Header.Get("X-Config-Gen")
			if last == fmt.Sprint(n.gen) {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("reload to generation %d did not take effect (X-Config-Gen %q)", n.gen, last)
}
