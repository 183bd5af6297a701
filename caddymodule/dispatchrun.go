package caddymodule

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// dispatchStopGrace is how long stopping a dispatcher waits for in-flight
// attempts; attempts still running then are aborted and reclaimed later
// (by this or another process), so nothing is lost.
const dispatchStopGrace = 10 * time.Second

// runningDispatchers counts the dispatchers running in the process (for
// tests: a reload must not leave two running for one Redis).
var runningDispatchers atomic.Int64

// dispatchRunner owns the dispatcher of one pooled Redis connection. It
// lives as long as the pool entry: configs that keep the Redis keep the
// dispatcher, and the entry's Destruct stops it.
type dispatchRunner struct {
	mu         sync.Mutex
	current    *dispatcher.Dispatcher // nil: none running
	store      *redisstore.Store      // the current dispatcher's store
	print      string                 // settings of current
	registered map[string]bool        // sites added to current (or queues ensured when none)
	homes      map[string]string      // site name -> home URL, from handlers
	stopGauges context.CancelFunc
	gaugesDone chan struct{}
	closed     bool
}

func newDispatchRunner() *dispatchRunner {
	return &dispatchRunner{registered: map[string]bool{}, homes: map[string]string{}}
}

// configure makes the runner match the settings: nothing runs when cfg
// is disabled; a running dispatcher with the same settings is kept; else
// a new one is started and the old one then stopped. It does nothing
// once the runner is closed.
func (r *dispatchRunner) configure(cfg *DispatchConfig, store *redisstore.Store, prefix string, floor int64, logger *zap.Logger) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	if !cfg.enabled() {
		old, stopGauges, done := r.detachLocked()
		r.store = store // queues of new sites are still ensured, for other processes
		r.mu.Unlock()
		if old != nil {
			logger.Info("webhook delivery disabled in this process; stopping the dispatcher")
		}
		return stopDispatcher(old, stopGauges, done, logger)
	}
	print := cfg.fingerprint(prefix, floor)
	if r.current != nil && r.print == print {
		r.mu.Unlock()
		return nil
	}
	d, err := dispatcher.New(cfg.options(store, logger, metrics, r.siteDefaults))
	if err != nil {
		r.mu.Unlock()
		return fmt.Errorf("creating webhook dispatcher: %w", err)
	}
	// Start the new one before stopping the old, so delivery never pauses.
	if err := d.Start(context.Background()); err != nil {
		r.mu.Unlock()
		return fmt.Errorf("starting webhook dispatcher: %w", err)
	}
	runningDispatchers.Add(1)
	replaced := r.current != nil
	old, stopGauges, done := r.detachLocked()
	r.current, r.store, r.print = d, store, print
	gctx, cancel := context.WithCancel(context.Background())
	r.stopGauges, r.gaugesDone = cancel, make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		metrics.runQueueGauges(gctx, d, store, logger)
	}(r.gaugesDone)
	r.mu.Unlock()
	if replaced {
		logger.Info("webhook dispatch settings changed; replacing the dispatcher")
	}
	return stopDispatcher(old, stopGauges, done, logger)
}

// detachLocked forgets the current dispatcher and returns what stopping it
// takes. The caller holds r.mu.
func (r *dispatchRunner) detachLocked() (*dispatcher.Dispatcher, context.CancelFunc, chan struct{}) {
	d, stop, done := r.current, r.stopGauges, r.gaugesDone
	r.current, r.print, r.stopGauges, r.gaugesDone = nil, "", nil, nil
	r.registered = map[string]bool{}
	return d, stop, done
}

// stopDispatcher stops a detached dispatcher and its gauge refresher,
// waiting up to dispatchStopGrace for in-flight attempts.
func stopDispatcher(d *dispatcher.Dispatcher, stopGauges context.CancelFunc, done chan struct{}, logger *zap.Logger) error {
	if stopGauges != nil {
		stopGauges()
		<-done
	}
	if d == nil {
		return nil
	}
	defer runningDispatchers.Add(-1)
	ctx, cancel := context.WithTimeout(context.Background(), dispatchStopGrace)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		logger.Warn("webhook dispatcher stopped with attempts in flight; they are retried after the visibility timeout", zap.Error(err))
	}
	return nil
}

// close stops the dispatcher for good (the pool entry is going away).
func (r *dispatchRunner) close() error {
	r.mu.Lock()
	r.closed = true
	d, stopGauges, done := r.detachLocked()
	r.mu.Unlock()
	return stopDispatcher(d, stopGauges, done, zap.NewNop())
}

// ensureSite registers a site once per dispatcher: with the running
// dispatcher (AddSite, so it is served with home as its home URL), or,
// when none runs here, by creating its queues and recording it in the
// known-sites set so dispatchers of other processes discover it. The
// first home reported for a site is kept, unless override (a configured
// home_url) replaces it.
func (r *dispatchRunner) ensureSite(ctx context.Context, site *redisstore.Site, home string, override bool) error {
	name := site.Name()
	r.mu.Lock()
	if home != "" {
		old, ok := r.homes[name]
		switch {
		case override && ok && old != home:
			r.homes[name] = home
			delete(r.registered, name) // AddSite again updates the options
		case !ok && len(r.homes) < maxCachedSites:
			r.homes[name] = home
		case ok:
			home = old
		}
	}
	if r.registered[name] {
		r.mu.Unlock()
		return nil
	}
	d, store := r.current, r.store
	r.mu.Unlock()
	if store != nil {
		// Serve the site under the dispatcher's own prefix.
		if s, err := store.Site(name); err == nil {
			site = s
		}
	}
	var err error
	if d != nil {
		err = d.AddSite(ctx, site, dispatcher.SiteOptions{HomeURL: home})
	} else {
		err = site.EnsureQueues(ctx)
	}
	if err != nil {
		return fmt.Errorf("registering site for delivery: %w", err)
	}
	r.mu.Lock()
	if r.current == d && len(r.registered) < maxCachedSites {
		r.registered[name] = true
	}
	r.mu.Unlock()
	return nil
}

// siteDefaults gives discovered sites the home URL a handler reported,
// else https://<site name>.
func (r *dispatchRunner) siteDefaults(name string) dispatcher.SiteOptions {
	r.mu.Lock()
	home, ok := r.homes[name]
	r.mu.Unlock()
	if !ok {
		home = "https://" + strings.TrimSuffix(name, ".")
	}
	return dispatcher.SiteOptions{HomeURL: home}
}

// running returns the running dispatcher, or nil.
func (r *dispatchRunner) running() *dispatcher.Dispatcher {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current
}
