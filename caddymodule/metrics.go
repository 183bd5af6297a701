package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// Prometheus names: caddy_wc_webhooks_<name>.
const (
	metricsNamespace = "caddy"
	metricsSubsystem = "wc_webhooks"
)

// queueStatsInterval is how often the queue gauges are refreshed while a
// dispatcher runs.
const queueStatsInterval = 10 * time.Second

// dispatchMetrics are the delivery collectors. They are created once per
// process and the same objects are registered into every config's
// registry, so counts survive reloads.
type dispatchMetrics struct {
	events        *prometheus.CounterVec   // site
	jobs          *prometheus.CounterVec   // site
	deliveries    *prometheus.CounterVec   // site, outcome
	retries       *prometheus.CounterVec   // site
	attempt       *prometheus.HistogramVec // site
	eventLatency  *prometheus.HistogramVec // site
	disabled      *prometheus.CounterVec   // site
	poisoned      *prometheus.CounterVec   // site
	pings         *prometheus.CounterVec   // site, result
	streamLag     *prometheus.GaugeVec     // site, stream
	pending       *prometheus.GaugeVec     // site, stream
	delayed       *prometheus.GaugeVec     // site
	parked        *prometheus.GaugeVec     // site
	statsFailures prometheus.Counter
}

// metrics is the process's set of delivery collectors.
var metrics = newDispatchMetrics()

func newDispatchMetrics() *dispatchMetrics {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: name, Help: help}
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts(opts(name, help)), labels)
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts(opts(name, help)), labels)
	}
	hist := func(name, help string, buckets []float64) *prometheus.HistogramVec {
		o := opts(name, help)
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: o.Namespace, Subsystem: o.Subsystem, Name: o.Name, Help: o.Help, Buckets: buckets,
		}, []string{"site"})
	}
	return &dispatchMetrics{
		events:       counter("events_total", "Events fanned out to webhooks.", "site"),
		jobs:         counter("jobs_created_total", "Delivery jobs created by fan-out.", "site"),
		deliveries:   counter("delivery_attempts_total", "Delivery attempts by outcome (success, retry, failed, disabled).", "site", "outcome"),
		retries:      counter("retries_scheduled_total", "Failed attempts that scheduled a retry.", "site"),
		attempt:      hist("delivery_attempt_duration_seconds", "Duration of one delivery attempt.", prometheus.ExponentialBuckets(0.01, 2.5, 10)),
		eventLatency: hist("event_to_delivery_seconds", "Time from an event to its first successful delivery.", prometheus.ExponentialBuckets(0.05, 3, 14)),
		disabled:     counter("webhooks_disabled_total", "Webhooks disabled after consecutive failed deliveries.", "site"),
		poisoned:     counter("jobs_poisoned_total", "Jobs set aside after being picked up too often without finishing.", "site"),
		pings:        counter("pings_total", "Pings sent, by result (ok: exactly 200).", "site", "result"),
		streamLag:    gauge("stream_lag", "Entries waiting in a site's stream (events: not yet fanned out; work: jobs not yet finished).", "site", "stream"),
		pending:      gauge("stream_pending", "Entries of a site's stream read by a consumer and not yet finished.", "site", "stream"),
		delayed:      gauge("retries_waiting", "Jobs of a site waiting for their retry time.", "site"),
		parked:       gauge("jobs_parked", "Jobs of a site parked while their webhook's receiver is slow or down.", "site"),
		statsFailures: prometheus.NewCounter(prometheus.CounterOpts(opts("queue_stats_errors_total",
			"Failed refreshes of the queue gauges."))),
	}
}

// collectors lists every collector.
func (m *dispatchMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.events, m.jobs, m.deliveries, m.retries, m.attempt, m.eventLatency,
		m.disabled, m.poisoned, m.pings, m.streamLag, m.pending, m.delayed, m.parked, m.statsFailures}
}

// register adds the collectors to reg; collectors already there are fine.
// A nil registry registers nothing.
func (m *dispatchMetrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for _, c := range m.collectors() {
		err := reg.Register(c)
		var are prometheus.AlreadyRegisteredError
		if err != nil && !errors.As(err, &are) {
			return fmt.Errorf("registering metrics: %w", err)
		}
	}
	return nil
}

// EventFannedOut implements dispatcher.Metrics.
func (m *dispatchMetrics) EventFannedOut(site string, jobs int) {
	m.events.WithLabelValues(site).Inc()
	m.jobs.WithLabelValues(site).Add(float64(jobs))
}

// Attempt implements dispatcher.Metrics.
func (m *dispatchMetrics) Attempt(site, outcome string, d time.Duration) {
	m.deliveries.WithLabelValues(site, outcome).Inc()
	m.attempt.WithLabelValues(site).Observe(d.Seconds())
	if outcome == dispatcher.OutcomeRetry {
		m.retries.WithLabelValues(site).Inc()
	}
}

// EventToDelivery implements dispatcher.Metrics.
func (m *dispatchMetrics) EventToDelivery(site string, d time.Duration) {
	m.eventLatency.WithLabelValues(site).Observe(d.Seconds())
}

// WebhookDisabled implements dispatcher.Metrics.
func (m *dispatchMetrics) WebhookDisabled(site string) { m.disabled.WithLabelValues(site).Inc() }

// JobPoisoned implements dispatcher.Metrics.
func (m *dispatchMetrics) JobPoisoned(site string) { m.poisoned.WithLabelValues(site).Inc() }

// Ping implements dispatcher.Metrics.
func (m *dispatchMetrics) Ping(site string, ok bool) {
	result := "failed"
	if ok {
		result = "ok"
	}
	m.pings.WithLabelValues(site, result).Inc()
}

// refreshQueues sets the queue gauges of every site known to store.
func (m *dispatchMetrics) refreshQueues(ctx context.Context, d *dispatcher.Dispatcher, store *redisstore.Store, log *zap.Logger) {
	names, err := store.KnownSites(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.statsFailures.Inc()
			log.Debug("listing sites for queue metrics failed", zap.Error(err))
		}
		return
	}
	for _, name := range names {
		site, err := store.Site(name)
		if err != nil {
			continue
		}
		st, err := d.QueueStats(ctx, site)
		if err != nil {
			if ctx.Err() == nil {
				m.statsFailures.Inc()
				log.Debug("queue stats failed", zap.String("site", name), zap.Error(err))
			}
			continue
		}
		m.streamLag.WithLabelValues(name, "events").Set(float64(st.Events))
		m.streamLag.WithLabelValues(name, "work").Set(float64(st.Ready))
		m.pending.WithLabelValues(name, "events").Set(float64(st.EventsPending))
		m.pending.WithLabelValues(name, "work").Set(float64(st.ReadyPending))
		m.delayed.WithLabelValues(name).Set(float64(st.Delayed))
		m.parked.WithLabelValues(name).Set(float64(st.Parked))
	}
}

// runQueueGauges refreshes the queue gauges every queueStatsInterval until
// ctx ends.
func (m *dispatchMetrics) runQueueGauges(ctx context.Context, d *dispatcher.Dispatcher, store *redisstore.Store, log *zap.Logger) {
	t := time.NewTicker(queueStatsInterval)
	defer t.Stop()
	for {
		tctx, cancel := context.WithTimeout(ctx, queueStatsInterval)
		m.refreshQueues(tctx, d, store, log)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Interface guard
var _ dispatcher.Metrics = (*dispatchMetrics)(nil)
