package dispatcher

import "time"

// Delivery attempt outcomes passed to Metrics.Attempt.
const (
	OutcomeSuccess  = "success"  // 200–302
	OutcomeRetry    = "retry"    // failed, retry scheduled
	OutcomeFailed   = "failed"   // failed, retries exhausted (or 410, or refused URL)
	OutcomeDisabled = "disabled" // failed and the webhook was disabled
)

// Metrics receives the dispatcher's measurements; the Caddy side maps them
// to Prometheus collectors. Methods must be safe for concurrent use and
// fast. Queue sizes (stream lag, pending) are pulled with
// Dispatcher.QueueStats.
type Metrics interface {
	// EventFannedOut counts an event turned into jobs jobs.
	EventFannedOut(site string, jobs int)
	// Attempt records one delivery attempt, its outcome and duration.
	Attempt(site, outcome string, d time.Duration)
	// EventToDelivery records the time from an event to its first
	// successful delivery.
	EventToDelivery(site string, d time.Duration)
	// WebhookDisabled counts a webhook disabled after failures.
	WebhookDisabled(site string)
	// JobPoisoned counts a job set aside after MaxReceives receives.
	JobPoisoned(site string)
	// Ping records a ping and whether it got exactly 200.
	Ping(site string, ok bool)
}

type nopMetrics struct{}

func (nopMetrics) EventFannedOut(string, int)            {}
func (nopMetrics) Attempt(string, string, time.Duration) {}
func (nopMetrics) EventToDelivery(string, time.Duration) {}
func (nopMetrics) WebhookDisabled(string)                {}
func (nopMetrics) JobPoisoned(string)                    {}
func (nopMetrics) Ping(string, bool)                     {}
