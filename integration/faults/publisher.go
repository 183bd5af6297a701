package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"
)

// publisher publishes events through POST /wp-json/wc-webhooks/v1/events
// at a fixed rate over several workers. Each try carries a unique event
// id "<prefix>-<seq>-<try>" in its payload; a try not answered 2xx is
// retried as a new try after a short pause, so an event counts as
// acknowledged only on a 2xx answer.
type publisher struct {
	e      *env
	bases  []string
	topic  string
	prefix string

	mu     sync.Mutex
	acked  map[string]time.Time // id -> when the 2xx came
	unsure map[string]bool      // tries not answered 2xx (they may still be stored)
	failed []string             // 4xx answers: the suite's own error
	sent   int                  // events handed to the workers
	done   chan struct{}
	quit   chan struct{} // closed by halt
	once   sync.Once
}

// publish starts publishing n events at rate per second round-robin over
// bases with workers goroutines; retries stop at deadline. done is closed
// when every event is acknowledged or given up.
func publish(e *env, bases []string, topic, prefix string, n int, rate float64, workers int, deadline time.Time) *publisher {
	p := &publisher{e: e, bases: bases, topic: topic, prefix: prefix,
		acked: map[string]time.Time{}, unsure: map[string]bool{}, done: make(chan struct{}), quit: make(chan struct{})}
	seqs := make(chan int, n)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.client(5 * time.Second)
			for seq := range seqs {
				p.one(c, seq, deadline)
			}
		}()
	}
	go func() {
		start := time.Now()
		interval := time.Duration(float64(time.Second) / rate)
		for i := 0; i < n; i++ {
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				select {
				case <-time.After(d):
				case <-p.quit:
				}
			}
			if p.halted() {
				break
			}
			seqs <- i
			p.mu.Lock()
			p.sent++
			p.mu.Unlock()
		}
		close(seqs)
		wg.Wait()
		close(p.done)
	}()
	return p
}

// one publishes event seq until it is acknowledged or deadline passes.
func (p *publisher) one(c *http.Client, seq int, deadline time.Time) {
	base := p.bases[seq%len(p.bases)]
	for try := 0; ; try++ {
		k := fmt.Sprintf("%s-%d-%d", p.prefix, seq, try)
		body := fmt.Sprintf(`{"topic":%q,"resource_id":%d,"payload":{"k":%q,"t":%d}}`, p.topic, seq+1, k, time.Now().UnixNano())
		status, answer, err := p.post(c, base, body)
		p.mu.Lock()
		if err == nil && status >= 200 && status < 300 {
			p.acked[k] = time.Now()
			p.mu.Unlock()
			return
		}
		p.unsure[k] = true
		if err == nil && status >= 400 && status < 500 {
			p.failed = append(p.failed, fmt.Sprintf("%s: %d %.200s", k, status, answer))
		}
		p.mu.Unlock()
		if time.Now().After(deadline) || p.halted() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *publisher) post(c *http.Client, base, body string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/wp-json/wc-webhooks/v1/events", bytes.NewReader([]byte(body)))
	if err != nil {
		return 0, nil, fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Authorization", p.e.auth())
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	b, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	return res.StatusCode, b, nil
}

// halt stops publishing (a scenario that ends early calls it).
func (p *publisher) halt() { p.once.Do(func() { close(p.quit) }) }

func (p *publisher) halted() bool {
	select {
	case <-p.quit:
		return true
	default:
		return false
	}
}

// wait waits until publishing is over (or timeout passed) and reports
// whether it is.
func (p *publisher) wait(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// ackedKeys returns the acknowledged event ids, sorted.
func (p *publisher) ackedKeys() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.acked))
	for k := range p.acked {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ackedCount is the number of acknowledged events so far.
func (p *publisher) ackedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acked)
}

// unsureKeys returns the tries that got no 2xx answer.
func (p *publisher) unsureKeys() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.unsure))
	for k := range p.unsure {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// failures returns the 4xx answers (a fault of the suite, never expected).
func (p *publisher) failures() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.failed...)
}

// gaveUp is the number of events handed out minus those acknowledged once
// publishing is over: events whose every try failed until the deadline.
func (p *publisher) gaveUp() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent - len(p.acked)
}
