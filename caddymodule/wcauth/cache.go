package wcauth

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// DefaultCacheEntries bounds the Upstream verdict cache (10,000 entries); the
// least recently stored entry goes first.
const DefaultCacheEntries = 10000

// verdictCache holds upstream verdicts under the SHA-256 of the credential
// material, and lets concurrent requests with the same credentials share
// one probe.
type verdictCache struct {
	mu       sync.Mutex
	max      int
	order    *list.List // of *cacheItem, oldest first
	items    map[[32]byte]*list.Element
	inflight map[[32]byte]*flight
}

type cacheItem struct {
	key     [32]byte
	verdict Verdict
	expires time.Time
}

// flight is one probe in progress.
type flight struct {
	done    chan struct{}
	verdict Verdict
}

func newVerdictCache(max int) *verdictCache {
	if max <= 0 {
		max = DefaultCacheEntries
	}
	return &verdictCache{
		max:      max,
		order:    list.New(),
		items:    map[[32]byte]*list.Element{},
		inflight: map[[32]byte]*flight{},
	}
}

// get returns a fresh cached verdict.
func (c *verdictCache) get(key [32]byte, now time.Time) (Verdict, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return Verdict{}, false
	}
	it := el.Value.(*cacheItem)
	if !now.Before(it.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return Verdict{}, false
	}
	return copyVerdict(it.verdict), true
}

// put stores v until expires, evicting the oldest entry when full.
func (c *verdictCache) put(key [32]byte, v Verdict, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		it := el.Value.(*cacheItem)
		it.verdict, it.expires = copyVerdict(v), expires
		c.order.MoveToBack(el)
		return
	}
	c.items[key] = c.order.PushBack(&cacheItem{key: key, verdict: copyVerdict(v), expires: expires})
	for c.order.Len() > c.max {
		oldest := c.order.Front()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*cacheItem).key)
	}
}

// len is the number of entries (expired ones included until touched).
func (c *verdictCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// share runs probe once for all concurrent callers with the same key.
// Callers that wait give up with ok=false when ctx ends.
func (c *verdictCache) share(ctx context.Context, key [32]byte, probe func() Verdict) (v Verdict, ok bool) {
	c.mu.Lock()
	if f, busy := c.inflight[key]; busy {
		c.mu.Unlock()
		select {
		case <-f.done:
			return copyVerdict(f.verdict), true
		case <-ctx.Done():
			return Verdict{}, false
		}
	}
	f := &flight{done: make(chan struct{})}
	c.inflight[key] = f
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.inflight, key)
		c.mu.Unlock()
		close(f.done)
	}()
	f.verdict = probe()
	return copyVerdict(f.verdict), true
}

// copyVerdict copies v so that callers may change its error.
func copyVerdict(v Verdict) Verdict {
	v.Err = v.Err.clone()
	return v
}
