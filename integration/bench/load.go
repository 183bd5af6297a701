package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// result is one measured batch of requests.
type result struct {
	N       int
	Errors  int
	Elapsed time.Duration
	Lat     []time.Duration // sorted
	FirstEr string          // the first error, for the report
	// CaddyCPU is the CPU time Caddy used during the batch, 0 when not
	// measured.
	CaddyCPU time.Duration
}

// CPUPerRequest is Caddy's CPU time per completed request, 0 when not
// measured.
func (r result) CPUPerRequest() time.Duration {
	if r.N-r.Errors <= 0 {
		return 0
	}
	return r.CaddyCPU / time.Duration(r.N-r.Errors)
}

// RPS is completed requests per second (errors excluded).
func (r result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.N-r.Errors) / r.Elapsed.Seconds()
}

// pct returns the p-th percentile (0..100) of sorted latencies.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

func sortDur(d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
}

// closedLoop runs n calls of do over conc workers, each as soon as the
// previous one of that worker finished, and times them.
func closedLoop(n, conc int, do func(i int) error) result {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	ok := make([]bool, n)
	var mu sync.Mutex
	firstErr := ""
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t0 := time.Now()
				err := do(i)
				lat[i] = time.Since(t0)
				ok[i] = err == nil
				if err != nil {
					mu.Lock()
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	res := result{N: n, Elapsed: time.Since(start), FirstEr: firstErr}
	for i := range lat {
		if !ok[i] {
			res.Errors++
			continue
		}
		res.Lat = append(res.Lat, lat[i])
	}
	sortDur(res.Lat)
	return res
}

// openLoop calls do(i) at a fixed rate (per second) for n calls, over up
// to conc workers; it returns how many calls failed and the first error.
func openLoop(n int, rate float64, conc int, do func(i int) error) (int, string) {
	jobs := make(chan int, n)
	var failed atomic.Int64
	var mu sync.Mutex
	firstErr := ""
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := do(i); err != nil {
					failed.Add(1)
					mu.Lock()
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
				}
			}
		}()
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return int(failed.Load()), firstErr
}

// send does one request and fails unless the status is want; the body is
// read to the end so the connection is reused.
func send(c *http.Client, method, url string, body []byte, hdr http.Header, want int) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != want {
		if len(b) > 200 {
			b = b[:200]
		}
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, req.URL.Path, res.StatusCode, want, b)
	}
	return nil
}

// ms formats a duration in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }
