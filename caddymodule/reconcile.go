package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcevents"
)

// Reconciliation settings of the handler.
const (
	// DefaultReconcileInterval is the interval of the reconciliation pass
	// when a service key is configured.
	DefaultReconcileInterval = 5 * time.Minute
	// MinReconcileInterval is the shortest interval accepted.
	MinReconcileInterval = 10 * time.Second
	// ReconcileMinEnv names a test-only environment variable that lowers
	// the minimum interval (a duration such as "1s"). Not for production.
	ReconcileMinEnv = "WC_WEBHOOKS_RECONCILE_MIN"
	// reconcileOff is the option value that turns reconciliation off.
	reconcileOff = "off"
	// reconcilePerPage keeps a page of full orders well under the probe's
	// 1 MiB body cap.
	reconcilePerPage = 50
)

// provisionReconcile reads the reconcile option: "" is the default (5m with
// a service key, off without), "off", or a duration of at least 10s (off,
// with a warning, when no service key is configured). It also sets the
// dedupe TTL, which must outlive two intervals.
func (h *Handler) provisionReconcile() error {
	h.events.ttl = dedupeTTL
	var interval time.Duration
	switch h.Reconcile {
	case "":
		if h.events.ck != "" {
			interval = DefaultReconcileInterval
		}
	case reconcileOff:
	default:
		d, err := caddy.ParseDuration(h.Reconcile)
		if err != nil || d < minReconcileInterval() {
			return fmt.Errorf("wc_webhooks: reconcile must be off or a duration of at least %s, got %q", minReconcileInterval(), h.Reconcile)
		}
		if h.events.ck == "" {
			// e.g. service_key {env.WC_SERVICE_KEY} with the variable unset
			if h.logger != nil {
				h.logger.Warn("reconcile is off: it needs a service_key to read the shop")
			}
			return nil
		}
		interval = d
	}
	if interval == 0 {
		return nil
	}
	if ttl := 3*interval + wcevents.DefaultReconcileOverlap; ttl > h.events.ttl {
		h.events.ttl = ttl
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.reconcile = &reconcileLoop{h: h, interval: interval, ctx: ctx, cancel: cancel,
		kick: make(chan struct{}, 1), sites: map[string]*reconcileSite{}}
	h.reconcile.unseen.Store(h.Site != "") // see seeSite
	return nil
}

// seeSite records a handler's fixed site for reconciliation from the first
// request of any kind, so that a site is reconciled even when no API
// request or watched write ever reaches this handler. Afterwards (and for
// handlers without a fixed site, or without reconciliation) it costs one
// nil check and one atomic load; it never allocates then. Sites named by
// the request's host are recorded by their API requests and watched
// writes only, as any host could otherwise add a site.
func (h *Handler) seeSite(r *http.Request, next caddyhttp.Handler) {
	if l := h.reconcile; l != nil && l.unseen.Load() && l.unseen.CompareAndSwap(true, false) {
		h.remember(h.Site, h.homeFor(r), r, next)
	}
}

// minReconcileInterval is MinReconcileInterval, or the test-only value of
// ReconcileMinEnv when it is a shorter positive duration.
func minReconcileInterval() time.Duration {
	if v := os.Getenv(ReconcileMinEnv); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 && d < MinReconcileInterval {
			return d
		}
	}
	return MinReconcileInterval
}

// Cleanup stops the handler's reconciliation goroutine and waits for it
// (the app waits for events still being published).
func (h *Handler) Cleanup() error {
	if h.reconcile != nil {
		h.reconcile.stop()
	}
	return nil
}

// reconcileLoop runs the periodic reconciliation passes of one handler:
// one goroutine, started when the first site is seen, stopped in Cleanup.
type reconcileLoop struct {
	h        *Handler
	interval time.Duration
	ctx      context.Context
	cancel   context.CancelFunc
	kick     chan struct{}
	wg       sync.WaitGroup
	unseen   atomic.Bool // the fixed site is still to be recorded (seeSite)

	mu      sync.Mutex
	started bool
	stopped bool
	sites   map[string]*reconcileSite
}

// reconcileSite is what a pass of one site needs: a prober built from a
// request the handler saw for it (the same route to WordPress), and the
// site's event state.
type reconcileSite struct {
	name   string
	prober *nextProber
	se     *siteEvents
}

// remember records site name the first time the handler sees traffic for
// it, with a template of r (host, remote address, TLS, Caddy's values;
// no headers or body) and next, and starts or nudges the loop.
func (h *Handler) remember(name, home string, r *http.Request, next caddyhttp.Handler) {
	l := h.reconcile
	if l == nil {
		return
	}
	l.mu.Lock()
	_, known := l.sites[name]
	full := len(l.sites) >= maxCachedSites
	l.mu.Unlock()
	if known || full {
		return
	}
	se, err := h.siteEvents(name, home)
	if err != nil {
		h.logger.Warn("reconcile: preparing site", zap.String("site", name), zap.Error(err))
		return
	}
	tmpl := r.Clone(context.WithoutCancel(r.Context()))
	tmpl.Method, tmpl.URL = http.MethodGet, &url.URL{Path: "/"}
	tmpl.Header, tmpl.Trailer = http.Header{}, nil
	tmpl.Body, tmpl.GetBody, tmpl.ContentLength = http.NoBody, nil, 0
	tmpl.Form, tmpl.PostForm, tmpl.MultipartForm = nil, nil, nil
	site := &reconcileSite{name: name, prober: newNextProber(tmpl, next), se: se}

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	if _, known := l.sites[name]; known {
		return
	}
	l.sites[name] = site
	if !l.started {
		l.started = true
		l.wg.Add(1)
		go l.run()
	}
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// stop ends the loop and waits for a running pass to notice.
func (l *reconcileLoop) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
}

// run passes every known site at each tick, and at once when a site is new
// (its first pass only sets the watermark).
func (l *reconcileLoop) run() {
	defer l.wg.Done()
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-l.kick:
		case <-t.C:
		}
		l.mu.Lock()
		sites := make([]*reconcileSite, 0, len(l.sites))
		for _, s := range l.sites {
			sites = append(sites, s)
		}
		l.mu.Unlock()
		for _, s := range sites {
			if l.ctx.Err() != nil {
				return
			}
			l.pass(s)
		}
	}
}

// pass runs one site's pass under the site's Redis lock, so that among
// several Caddy processes sharing Redis one does it per interval.
func (l *reconcileLoop) pass(s *reconcileSite) {
	h := l.h
	logger := h.logger.With(zap.String("site", s.name))
	timeout := min(max(l.interval, time.Minute), 10*time.Minute)
	ctx, cancel := context.WithTimeout(l.ctx, timeout)
	defer cancel()
	rc := s.se.site.Reconcile(h.events.ttl)
	token, ok, err := rc.Lock(ctx, timeout+10*time.Second)
	if err != nil {
		logger.Warn("reconcile: lock unavailable", zap.Error(err))
		return
	}
	if !ok {
		return // another process is at it
	}
	defer func() {
		uctx, ucancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ucancel()
		if err := rc.Unlock(uctx, token); err != nil {
			logger.Warn("reconcile: unlock", zap.Error(err))
		}
	}()
	warn := func(msg string, err error) { logger.Warn("events: "+msg, zap.Error(err)) }
	reader := h.newServiceReader(s.prober, &s.se.auth)
	r := &wcevents.Reconciler{
		Lister: restLister{reader},
		Store:  rc,
		Emitter: wcevents.Emitter{
			Publisher:   s.se, // no Marker: the pass keeps its own markers
			Subscribers: s.se,
			Reader:      reader,
			Warn:        warn,
		},
		Settle:  min(wcevents.DefaultReconcileSettle, l.interval/2),
		PerPage: reconcilePerPage,
		MinGap:  l.interval - l.interval/4,
		// Markers and dedupe keys live h.events.ttl: never look further.
		MaxWindow: h.events.ttl - l.interval,
	}
	res, err := r.Pass(ctx, time.Now())
	if err != nil {
		logger.Warn("reconcile: pass incomplete; the window is kept for the next one", zap.Error(err))
	}
	if res.Events > 0 || res.First {
		logger.Info("reconcile: pass", zap.Bool("first", res.First), zap.Int("events", res.Events),
			zap.Time("watermark", res.Watermark))
	}
}

// restLister implements wcevents.Lister with the service key, through
// the rest of the route as serviceReader reads (Basic auth marked HTTPS,
// or OAuth where WordPress refuses that).
type restLister struct{ r *serviceReader }

// List implements wcevents.Lister with ?rest_route=/wc/v3/<res>s&<query>.
func (l restLister) List(ctx context.Context, resource string, query url.Values) ([]json.RawMessage, error) {
	status, body, err := l.get(ctx, "/wc/v3/"+resource+"s", query)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("listing %ss: status %d", resource, status)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, fmt.Errorf("listing %ss: the answer is not a JSON list", resource)
	}
	return items, nil
}

// Get implements wcevents.Lister with ?rest_route=/wc/v3/<res>s/<id>.
func (l restLister) Get(ctx context.Context, resource string, id int64) ([]byte, bool, error) {
	status, body, err := l.get(ctx, "/wc/v3/"+resource+"s/"+strconv.FormatInt(id, 10), nil)
	switch {
	case err != nil:
		return nil, false, err
	case status == http.StatusNotFound:
		return nil, false, nil
	case status != http.StatusOK:
		return nil, false, fmt.Errorf("reading %s %d: status %d", resource, id, status)
	case !json.Valid(body):
		return nil, false, fmt.Errorf("reading %s %d: the answer is not complete JSON", resource, id)
	}
	return body, true, nil
}

// get sends one GET of route with query through the rest of the route.
func (l restLister) get(ctx context.Context, route string, query url.Values) (int, []byte, error) {
	q := "rest_route=" + url.QueryEscape(route)
	if len(query) > 0 {
		q += "&" + query.Encode()
	}
	a, err := l.r.fetch(ctx, q)
	if err != nil {
		return 0, nil, fmt.Errorf("reading %s: %w", route, err)
	}
	if err := identity(a.header); err != nil {
		return 0, nil, fmt.Errorf("reading %s: %w", route, err)
	}
	return a.status, a.body, nil
}

// Interface guards
var (
	_ caddy.CleanerUpper = (*Handler)(nil)
	_ wcevents.Lister    = restLister{}
)
