package caddymodule

import "sync"

// maxBackgroundEmits bounds the watched writes whose events are being
// published at once per handler; beyond it the request's own goroutine
// publishes them (back-pressure, nothing dropped).
const maxBackgroundEmits = 256

// backgroundWork runs event publishing off the request path, bounded by
// maxBackgroundEmits, and lets Cleanup wait for what is under way.
type backgroundWork struct {
	once sync.Once
	sem  chan struct{}
	wg   sync.WaitGroup
}

// run calls f in a goroutine of its own when a slot is free, else in the
// caller's goroutine.
func (b *backgroundWork) run(f func()) {
	b.once.Do(func() { b.sem = make(chan struct{}, maxBackgroundEmits) })
	select {
	case b.sem <- struct{}{}:
	default:
		f()
		return
	}
	b.wg.Add(1)
	go func() {
		defer func() { <-b.sem; b.wg.Done() }()
		f()
	}()
}

// wait blocks until every publishing started by run has finished (each is
// bounded by eventTimeout).
func (b *backgroundWork) wait() { b.wg.Wait() }
