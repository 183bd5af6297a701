package caddymodule

import "sync"

// maxBackgroundEmits bounds the watched writes whose events are being
// published at once per handler; beyond it the request's own goroutine
// publishes them (back-pressure, nothing dropped).
const maxBackgroundEmits = 256

// backgroundWork runs event publishing off the request path, bounded by
// maxBackgroundEmits, and lets Cleanup wait for what is under way.
type backgroundWork struct {
	mu     sync.Mutex
	sem    chan struct{}
	closed bool // wait was called: run works in the caller's goroutine
	wg     sync.WaitGroup
}

// run calls f in a goroutine of its own when a slot is free, else (or
// once wait was called) in the caller's goroutine.
func (b *backgroundWork) run(f func()) {
	b.mu.Lock()
	if b.sem == nil {
		b.sem = make(chan struct{}, maxBackgroundEmits)
	}
	queued := false
	if !b.closed {
		select {
		case b.sem <- struct{}{}:
			b.wg.Add(1)
			queued = true
		default:
		}
	}
	b.mu.Unlock()
	if !queued {
		f()
		return
	}
	go func() {
		defer func() { <-b.sem; b.wg.Done() }()
		f()
	}()
}

// wait blocks until every publishing started by run has finished (each is
// bounded by eventTimeout); later work runs in its caller's goroutine.
func (b *backgroundWork) wait() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.wg.Wait()
}
