package dispatcher

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryDelay returns the wait before the next attempt after attempt number
// n (1-based) failed, or false when the delivery has failed for good:
// retries exhausted, 410 Gone, or an invalid or refused URL. The ladder
// step gets ±Jitter; a Retry-After header is honoured within [step,
// 2×step]; after 429 or a timeout the wait is at least OverloadFloor.
func (c config) retryDelay(n int, a attempt, now time.Time) (time.Duration, bool) {
	if a.final || n < 1 || n > len(c.RetryLadder) {
		return 0, false
	}
	step := c.RetryLadder[n-1]
	delay := step
	if c.Jitter > 0 {
		delay += time.Duration((rand.Float64()*2 - 1) * c.Jitter * float64(step))
	}
	if ra, ok := parseRetryAfter(a.retryAfter, now); ok {
		delay = min(max(ra, step), 2*step)
	}
	if a.overload {
		delay = max(delay, c.OverloadFloor)
	}
	return max(delay, 0), true
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 || secs > 1<<31 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
