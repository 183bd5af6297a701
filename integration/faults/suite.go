package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"
)

// sizes bound one run's traffic and fault durations.
type sizes struct {
	BurstN      int           // events of the crash scenarios (1, 2)
	BurstRate   float64       // events/s
	DownFor     time.Duration // scenario 3: receiver down
	DownRate    float64
	HangFor     time.Duration // scenario 4: receiver hanging (and the baseline before it)
	HangRate    float64
	ReloadFor   time.Duration // scenario 5: publishing time
	Reloads     int
	ReloadRate  float64
	TwoN        int // scenario 6
	TwoRate     float64
	DrainWithin time.Duration // wait for every delivery after publishing
}

var (
	shortSizes = sizes{BurstN: 2000, BurstRate: 1000, DownFor: 5 * time.Second, DownRate: 100,
		HangFor: 5 * time.Second, HangRate: 100, ReloadFor: 6 * time.Second, Reloads: 2, ReloadRate: 100,
		TwoN: 600, TwoRate: 200, DrainWithin: 90 * time.Second}
	fullSizes = sizes{BurstN: 6000, BurstRate: 1000, DownFor: 60 * time.Second, DownRate: 50,
		HangFor: 30 * time.Second, HangRate: 100, ReloadFor: 20 * time.Second, Reloads: 4, ReloadRate: 100,
		TwoN: 3000, TwoRate: 200, DrainWithin: 120 * time.Second}
)

// suite is one run of the fault scenarios.
type suite struct {
	bin      string    // Caddy with the module
	root     string    // scenario directories go here
	keepLogs string    // failed scenarios' logs are written here ("": not kept)
	sz       sizes     // traffic and durations
	short    bool      // the -short run
	log      io.Writer // progress
	only     map[int]bool
}

// scenario is one numbered fault scenario.
type scenario struct {
	num  int
	name string
	run  func(s *suite, r *result) (*env, error)
	// overlap: the short run runs this scenario beside the other
	// overlapping ones (it mostly waits for the visibility timeout).
	overlap bool
}

// scenarios are the six fault scenarios of issue 5, in order.
var scenarios = []scenario{
	{1, "kill -9 of Caddy mid-burst, then restart", (*suite).killCaddy, true},
	{2, "Redis killed -9 and restarted mid-burst (AOF, appendfsync always)", (*suite).killRedis, true},
	{3, "a receiver down, then back", (*suite).receiverDown, false},
	{4, "one receiver hanging beside three fast ones", (*suite).receiverHang, false},
	{5, "config reloads (POST /load, changed Caddyfile) under load", (*suite).reloadUnderLoad, true},
	{6, "two Caddy processes sharing one Redis", (*suite).twoProcesses, false},
}

// report is everything one run found.
type report struct {
	Mode    string
	Started time.Time
	Took    time.Duration
	CPUs    int
	Results []*result
}

// failed reports whether any scenario failed.
func (rp *report) failed() bool {
	for _, r := range rp.Results {
		if !r.pass() {
			return true
		}
	}
	return false
}

// lost is the number of acknowledged events lost over all scenarios.
func (rp *report) lost() int {
	n := 0
	for _, r := range rp.Results {
		n += r.Lost
	}
	return n
}

// runSuite runs the selected scenarios, each from a fresh Redis and Caddy.
func (s *suite) runSuite() *report {
	rp := &report{Mode: "default", Started: time.Now(), CPUs: runtime.NumCPU()}
	if s.short {
		rp.Mode = "short"
	}
	var selected []scenario
	for _, sc := range scenarios {
		if len(s.only) == 0 || s.only[sc.num] {
			selected = append(selected, sc)
		}
	}
	results := make([]*result, len(selected))
	// The short run overlaps the scenarios that mostly wait for the
	// visibility timeout (1, 2, 5); the timing of none of them is
	// measured. The others run alone.
	var wg sync.WaitGroup
	for i, sc := range selected {
		if s.short && sc.overlap {
			wg.Add(1)
			go func() { defer wg.Done(); results[i] = s.runOne(sc) }()
		}
	}
	wg.Wait()
	for i, sc := range selected {
		if !(s.short && sc.overlap) {
			results[i] = s.runOne(sc)
		}
	}
	rp.Results = results
	rp.Took = time.Since(rp.Started)
	return rp
}

// runOne runs one scenario from a fresh set-up and tears it down.
func (s *suite) runOne(sc scenario) *result {
	fmt.Fprintf(s.log, "faults: %d. %s\n", sc.num, sc.name)
	r := &result{Name: fmt.Sprintf("%d. %s", sc.num, sc.name), InFlight: -1}
	start := time.Now()
	e, err := sc.run(s, r)
	r.Took = time.Since(start)
	if err != nil {
		r.Err = err
	}
	if e != nil {
		if !r.pass() {
			if s.keepLogs != "" {
				if dir, err := e.saveLogs(s.keepLogs); err == nil {
					r.note("logs of this scenario: %s", dir)
				}
			}
			fmt.Fprintf(s.log, "faults: %d failed; last log lines:\n%s\n", sc.num, e.logs(15))
		}
		e.stop()
	}
	fmt.Fprintf(s.log, "faults: %d %s in %s: published %d, lost %d, duplicated %d, in flight %d%s\n",
		sc.num, r.verdict(), r.Took.Round(time.Second), r.Published, r.Lost, r.Duplicated, r.InFlight, errText(r.Err))
	return r
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

// setup starts a fresh env with nodes Caddy processes and the dispatch
// settings, one receiver per name, each subscribed to topic by its own
// webhook (secret "faults-<name>"), and waits for their pings and the
// webhook cache.
func (s *suite) setup(name string, dispatch []string, nodes int, topic string, names ...string) (*env, []*receiver, []int64, error) {
	e, err := newEnv(s.root, s.bin, name, dispatch)
	if err != nil {
		return e, nil, nil, err
	}
	for i := 0; i < nodes; i++ {
		if _, err := e.addNode(); err != nil {
			return e, nil, nil, err
		}
	}
	var rcs []*receiver
	var ids []int64
	for _, n := range names {
		rc, err := newReceiver(n, "faults-"+n)
		if err != nil {
			return e, rcs, ids, err
		}
		rcs = append(rcs, rc)
		id, err := e.createWebhook(n, topic, rc.url(), rc.secret)
		if err != nil {
			return e, rcs, ids, err
		}
		ids = append(ids, id)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, rc := range rcs {
		for rc.pingCount() == 0 {
			if time.Now().After(deadline) {
				return e, rcs, ids, fmt.Errorf("receiver %s got no ping", rc.name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	time.Sleep(cacheWait)
	return e, rcs, ids, nil
}

// closeAll stops the receivers.
func closeAll(rcs []*receiver) {
	for _, rc := range rcs {
		rc.close()
	}
}

// bases are the HTTPS site URLs of every node of e.
func bases(e *env) []string {
	var out []string
	for _, n := range e.nodes {
		out = append(out, n.base())
	}
	return out
}

// waitAcked waits until p has n acknowledged events or timeout passed.
func waitAcked(p *publisher, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for p.ackedCount() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d events acknowledged after %s", p.ackedCount(), n, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// finish waits for publishing to end and every delivery to arrive, then
// counts.
func (s *suite) finish(e *env, p *publisher, r *result, rcs ...*receiver) error {
	if !p.wait(s.sz.DrainWithin) {
		return fmt.Errorf("publishing did not end within %s", s.sz.DrainWithin)
	}
	t0 := time.Now()
	done := waitDone(e, p, s.sz.DrainWithin, rcs...)
	r.tally(p, rcs...)
	if g := p.gaveUp(); g > 0 {
		r.require(false, "every event acknowledged in the end (%d given up)", g)
	}
	if !done {
		qs, _ := e.stats()
		r.note("not drained %s after publishing: %+v", s.sz.DrainWithin, qs)
	} else {
		r.note("drained %s after the last publish", time.Since(t0).Round(100*time.Millisecond))
	}
	return nil
}

// mkdirTemp makes the run's root directory.
func mkdirTemp() (string, error) {
	dir, err := os.MkdirTemp("", "wcwh-faults-")
	if err != nil {
		return "", fmt.Errorf("temp dir: %w", err)
	}
	return dir, nil
}
