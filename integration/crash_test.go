package integration

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// siteAddrs are the addresses the environment's Caddy listens on.
func (e *testEnv) siteAddrs() []string {
	return []string{fmt.Sprintf("127.0.0.1:%d", e.httpPort), fmt.Sprintf("127.0.0.1:%d", e.httpsPort), fmt.Sprintf("127.0.0.1:%d", e.plainPort)}
}

// restartCaddy starts Caddy again with the environment's Caddyfile (same
// ports, same Redis).
func (e *testEnv) restartCaddy() {
	e.t.Helper()
	e.Caddy = startCaddy(e.t, e.Dir, e.admin, e.Caddyfile(e.opts), e.siteAddrs()...)
}

// twin starts a second Caddy process for the same Redis, stand-in and site,
// on ports of its own.
func (e *testEnv) twin(t testing.TB) *testEnv {
	t.Helper()
	return e.twinWith(t, func(tw *testEnv) string { return tw.Caddyfile(tw.opts) })
}

// twinWith is twin with the second process's Caddyfile made by caddyfile.
func (e *testEnv) twinWith(t testing.TB, caddyfile func(tw *testEnv) string) *testEnv {
	t.Helper()
	tw := *e
	tw.Dir = t.TempDir()
	tw.admin = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	tw.httpPort, tw.httpsPort, tw.plainPort = freePort(t), freePort(t), freePort(t)
	tw.globalHTTP, tw.globalHTTPS = freePort(t), freePort(t)
	tw.HTTPBase = fmt.Sprintf("http://127.0.0.1:%d", tw.httpPort)
	tw.HTTPSBase = fmt.Sprintf("https://127.0.0.1:%d", tw.httpsPort)
	tw.PlainBase = fmt.Sprintf("http://127.0.0.1:%d", tw.plainPort)
	tw.Caddy = startCaddy(t, tw.Dir, tw.admin, caddyfile(&tw), tw.siteAddrs()...)
	return &tw
}

// eventCounter is a receiver that counts deliveries by the payload's "k"
// and checks each X-WC-Webhook-Signature.
type eventCounter struct {
	*receiver
	mu     sync.Mutex
	counts map[string]int
	badSig int
}

func newEventCounter(t testing.TB, sec hookSecret) *eventCounter {
	ec := &eventCounter{counts: map[string]int{}}
	ec.receiver = newHookReceiver(t, func(r hookRequest) int {
		if r.IsPing() {
			return 200
		}
		var p struct{ K string }
		_ = json.Unmarshal(r.Body, &p)
		ec.mu.Lock()
		defer ec.mu.Unlock()
		ec.counts[p.K]++
		if r.Header.Get("X-WC-Webhook-Signature") != b64HMAC([]byte(sec.Key), r.Body) {
			ec.badSig++
		}
		return 200
	})
	return ec
}

// snapshot returns a copy of the counts and the number of bad signatures.
func (ec *eventCounter) snapshot() (map[string]int, int) {
	ec.mu.Lock()
	defer ec.mu.Unlock()
	out := make(map[string]int, len(ec.counts))
	for k, v := range ec.counts {
		out[k] = v
	}
	return out, ec.badSig
}

// publisher publishes events {"k":"<seq>-<try>"} through the events
// endpoint with several workers, retrying an event (as a new try) while
// Caddy does not answer 202. Acked holds the keys answered 202; Unsure the
// tries that got no answer (they may or may not have been stored).
type publisher struct {
	mu     sync.Mutex
	Acked  map[string]bool
	Unsure map[string]bool
	failed []string
	done   chan struct{}
}

func startPublisher(h *hookEnv, bases []string, topic string, n, workers int) *publisher {
	p := &publisher{Acked: map[string]bool{}, Unsure: map[string]bool{}, done: make(chan struct{})}
	seqs := make(chan int, n)
	for i := 0; i < n; i++ {
		seqs <- i
	}
	close(seqs)
	deadline := time.Now().Add(120 * time.Second)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := h.Client(false)
			c.Timeout = 5 * time.Second
			for seq := range seqs {
				base := bases[seq%len(bases)]
				for try := 0; ; try++ {
					k := fmt.Sprintf("%d-%d", seq, try)
					body := fmt.Sprintf(`{"topic":%q,"resource_id":%d,"payload":{"k":%q}}`, topic, seq+1, k)
					r, err := tryDo(c, "POST", base+"/wp-json/wc-webhooks/v1/events", []byte(body), basic(h.Key))
					p.mu.Lock()
					if err == nil && r.Status == 202 {
						p.Acked[k] = true
						p.mu.Unlock()
						break
					}
					p.Unsure[k] = true
					if err == nil && r.Status < 500 {
						p.failed = append(p.failed, fmt.Sprintf("%s: %d %s", k, r.Status, r.Body))
					}
					p.mu.Unlock()
					if time.Now().After(deadline) {
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	go func() { wg.Wait(); close(p.done) }()
	return p
}

func (p *publisher) ackedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.Acked)
}

// missing returns the acked keys not in counts.
func (p *publisher) missing(counts map[string]int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for k := range p.Acked {
		if counts[k] == 0 {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// dupStats returns the number of extra deliveries (beyond one per key).
func dupStats(counts map[string]int) (dups int) {
	for _, c := range counts {
		if c > 1 {
			dups += c - 1
		}
	}
	return dups
}

// TestDeliveryKill9: 2,000 events are published through the endpoint while
// Caddy is killed with SIGKILL twice mid-burst, each time started again on
// the same Redis; every event answered 202 must reach the receiver at least
// once. Entries the dead processes held are reclaimed after the visibility
// timeout (http_timeout 2s + 30 s), so this test takes about 40 s.
func TestDeliveryKill9(t *testing.T) {
	h := newHookEnv(t, dispatchBlock(true, "retry_ladder 50ms 100ms 200ms", "http_timeout 2s", "ping_timeout 1s"))
	burstWithCrashes(t, h, 2000, func(round int) {
		h.Caddy.kill9()
		h.restartCaddy()
	})
}

// TestDeliveryRedisRestart: the same burst with Redis (appendonly yes,
// appendfsync always) killed with SIGKILL and restarted on its data, then
// Caddy killed and restarted: nothing acked is lost.
func TestDeliveryRedisRestart(t *testing.T) {
	rds := startAOFRedis(t)
	h := newHookEnvWith(t, envOptions{RedisAddr: rds.Addr,
		Global: dispatchBlock(true, "retry_ladder 50ms 100ms 200ms 400ms", "http_timeout 2s", "ping_timeout 1s")})
	burstWithCrashes(t, h, 1000, func(round int) {
		if round == 1 {
			rds.restart()
			return
		}
		h.Caddy.kill9()
		h.restartCaddy()
	})
}

// burstWithCrashes publishes n events with four workers and calls crash
// twice, each time once 300 more distinct events have been delivered;
// then it waits until every acked event has arrived and logs the
// duplicates.
func burstWithCrashes(t *testing.T, h *hookEnv, n int, crash func(round int)) {
	sec := hookSecret{Stored: "crash-secret", Key: "crash-secret"}
	ec := newEventCounter(t, sec)
	h.CreateWebhook(t, "burst", "order.created", ec.URL, sec, "")
	waitUntil(t, 20*time.Second, "the ping", func() bool { return len(ec.Pings()) == 1 })
	time.Sleep(fanoutCacheWait)

	pub := startPublisher(h, []string{h.HTTPSBase}, "order.created", n, 4)
	for round := 1; round <= 2; round++ {
		before, _ := ec.snapshot()
		waitUntil(t, 60*time.Second, "300 more deliveries before a crash", func() bool { c, _ := ec.snapshot(); return len(c) >= len(before)+300 })
		got, _ := ec.snapshot()
		t.Logf("crash %d with %d events acked and %d delivered", round, pub.ackedCount(), len(got))
		crash(round)
	}

	select {
	case <-pub.done:
	case <-time.After(150 * time.Second):
		t.Fatalf("publishing did not finish")
	}
	require.Empty(t, pub.failed, "publish answers other than 202 or a 5xx")
	require.Equal(t, n, pub.ackedCount(), "every event was acked once")
	waitUntil(t, 120*time.Second, "every acked event delivered", func() bool { c, _ := ec.snapshot(); return len(pub.missing(c)) == 0 })
	time.Sleep(settle)
	counts, bad := ec.snapshot()
	unsureArrived := 0
	for k := range pub.Unsure {
		if counts[k] > 0 {
			unsureArrived++
		}
	}
	t.Logf("%d events acked, %d distinct delivered, %d duplicate deliveries, %d unanswered publishes (%d of them delivered)",
		n, len(counts), dupStats(counts), len(pub.Unsure), unsureArrived)
	assert.Zero(t, bad, "every delivery carries a valid signature")
	assert.Empty(t, pub.missing(counts))
}

// TestDeliveryTwoProcesses: two Caddy processes on one Redis serve the same
// site; events published through both are delivered exactly once each in a
// calm run.
func TestDeliveryTwoProcesses(t *testing.T) {
	const events = 600
	h := newHookEnv(t, dispatchBlock(true))
	tw := h.twin(t)
	sec := hookSecret{Stored: "two-secret", Key: "two-secret"}
	ec := newEventCounter(t, sec)
	h.CreateWebhook(t, "shared", "customer.created", ec.URL, sec, "")
	waitUntil(t, 20*time.Second, "the ping", func() bool { return len(ec.Pings()) >= 1 })
	time.Sleep(fanoutCacheWait)

	pub := startPublisher(h, []string{h.HTTPSBase, tw.HTTPSBase}, "customer.created", events, 4)
	<-pub.done
	require.Empty(t, pub.failed)
	require.Empty(t, pub.Unsure, "a calm run answers every publish")
	waitUntil(t, 60*time.Second, "every event delivered", func() bool { c, _ := ec.snapshot(); return len(pub.missing(c)) == 0 })
	time.Sleep(settle)
	counts, bad := ec.snapshot()
	assert.Zero(t, bad)
	assert.Len(t, counts, events)
	assert.Zero(t, dupStats(counts), "no event delivered twice in a calm run")
	assert.Len(t, ec.Pings(), 1, "one ping for one webhook, whatever the number of processes")
	t.Logf("two processes: %d events, %d duplicates; connections to the receiver by process: %s",
		events, dupStats(counts), connectionOwners(ec.URL))
}

// connectionOwners reports, from `ss -tnp`, which processes hold
// connections to the receiver at url (evidence that both processes
// delivered; informational only).
func connectionOwners(url string) string {
	port := url[strings.LastIndex(url, ":")+1:]
	port = strings.TrimSuffix(port, "/hook")
	out, err := exec.Command("ss", "-Htnp", "dport", "= :"+port).Output()
	if err != nil {
		return "(ss unavailable)"
	}
	owners := map[string]int{}
	for _, l := range strings.Split(string(out), "\n") {
		if i := strings.Index(l, "pid="); i >= 0 {
			pid := l[i+4:]
			if j := strings.IndexAny(pid, ",)"); j >= 0 {
				pid = pid[:j]
			}
			owners["pid "+pid]++
		}
	}
	return fmt.Sprint(owners)
}

// TestDeliverySlowBesideFast: a receiver that does not answer until the
// test lets it holds at most max_per_webhook deliveries in flight, while a
// fast receiver subscribed to the same events gets all of them. No timing
// is asserted: the slow receiver answers only after the fast one has
// everything.
func TestDeliverySlowBesideFast(t *testing.T) {
	const events = 40
	h := newHookEnv(t, dispatchBlock(true, "max_per_webhook 2", "http_timeout 30s"))
	sec := hookSecret{Stored: "slow-secret", Key: "slow-secret"}
	gate := make(chan struct{})
	var mu sync.Mutex
	started := 0
	slow := newHookReceiver(t, func(r hookRequest) int {
		if r.IsPing() {
			return 200
		}
		mu.Lock()
		started++
		mu.Unlock()
		select {
		case <-gate:
		case <-time.After(60 * time.Second):
		}
		return 200
	})
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release) // before the receiver closes (cleanups run last-in first-out)
	fast := newHookReceiver(t, nil)
	h.CreateWebhook(t, "slow", "product.created", slow.URL, sec, "")
	wFast := h.CreateWebhook(t, "fast", "product.created", fast.URL, sec, "")
	waitUntil(t, 20*time.Second, "the pings", func() bool { return len(slow.Pings()) == 1 && len(fast.Pings()) == 1 })
	time.Sleep(fanoutCacheWait)

	for i := 1; i <= events; i++ {
		h.Publish(t, fmt.Sprintf(`{"topic":"product.created","resource_id":%d,"payload":{"id":%d}}`, i, i))
	}
	waitUntil(t, 60*time.Second, "all fast deliveries while the slow receiver holds its first ones", func() bool { return len(fast.Deliveries()) == events })
	mu.Lock()
	inFlight := started
	mu.Unlock()
	assert.Empty(t, slow.Deliveries(), "the slow receiver has answered nothing yet")
	assert.LessOrEqual(t, inFlight, 2, "max_per_webhook bounds the slow webhook's attempts in flight")
	for _, d := range fast.Deliveries() {
		verifyDelivery(t, d, wantDelivery{WebhookID: wFast.ID, Topic: "product.created", Secret: sec, Sources: h.Sources()})
	}
	release()
	waitUntil(t, 60*time.Second, "the slow receiver to get everything", func() bool { return len(slow.Deliveries()) == events })
	time.Sleep(settle)
	assert.Len(t, fast.Deliveries(), events)
	t.Logf("slow receiver had %d requests in flight when the fast one had all %d", inFlight, events)
}
