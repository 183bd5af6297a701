package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcevents"
	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// Event handling limits.
const (
	// eventTimeout bounds the event work of one watched write (reads of
	// the resource and Redis), detached from the client's cancellation.
	eventTimeout = 10 * time.Second
	// webhookCacheTTL is how long a site's active webhooks are cached for
	// deciding who listens to a topic (as the dispatcher's cache).
	webhookCacheTTL = time.Second
	// dedupeTTL is how long an emitted (topic, id, date_modified) is
	// remembered across requests; longer with reconciliation (three
	// intervals plus the overlap, see provisionReconcile).
	dedupeTTL = 15 * time.Minute
)

// eventState is the handler's event machinery: settings and per-site state.
type eventState struct {
	watch  bool
	ck, cs string        // service key; empty when none is configured
	ttl    time.Duration // dedupe and marker TTL (dedupeTTL or longer)
	sites  sync.Map
	nsites atomic.Int64
}

// provisionEvents reads watch_writes and service_key. The service key may
// be a placeholder such as {env.WC_SERVICE_KEY}; it must read "ck:cs",
// or be empty once expanded (no service key).
func (h *Handler) provisionEvents() error {
	h.events.watch = h.WatchWrites == nil || *h.WatchWrites
	if h.ServiceKey == "" {
		return nil
	}
	key := caddy.NewReplacer().ReplaceAll(h.ServiceKey, "")
	if key == "" {
		return nil // e.g. {env.WC_SERVICE_KEY} unset: no reads
	}
	ck, cs, ok := strings.Cut(key, ":")
	if !ok || ck == "" || cs == "" || strings.ContainsAny(key, " \t\r\n") {
		return errors.New("wc_webhooks: service_key must be consumer_key:consumer_secret")
	}
	h.events.ck, h.events.cs = ck, cs
	return nil
}

// serveWatched proxies a watched write through a capture writer and, after
// the answer has gone to the client, publishes the events it carries.
func (h *Handler) serveWatched(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, watch wcevents.Watch) error {
	if watch.NeedsForm() && !readForm(r, &watch) {
		return next.ServeHTTP(w, r)
	}
	cw := newCaptureWriter(w, captureLimit(watch))
	if err := next.ServeHTTP(cw, r); err != nil {
		return err
	}
	status := cw.Status()
	if !watch.Succeeded(status) && !watch.Redirect(status) {
		return nil
	}
	changes := wcevents.Derive(watch, status, cw.Header(), cw.Body())
	if len(changes) == 0 {
		return nil
	}
	_ = cw.FlushError() // the answer is complete: let it reach the client first
	em := h.prepareEmit(r, next)
	switch {
	case em == nil:
	case em.needsReads(changes):
		em.publish(changes) // reads see the resource as it is right after this write
	default:
		h.app.events.run(func() { em.publish(changes) }) // a keep-alive client never waits
	}
	return nil
}

// emission publishes the events of one answered write.
type emission struct {
	em     *wcevents.Emitter
	base   context.Context // the request's values, without its cancellation
	logger *zap.Logger
}

// prepareEmit snapshots what publishing events for r needs (the site, and
// a prober through the rest of the route for service-key reads) while the
// request is still being served; nil when the request names no valid site.
func (h *Handler) prepareEmit(r *http.Request, next caddyhttp.Handler) *emission {
	name := h.Site
	if name == "" {
		name = siteFromHost(r.Host)
		if !validSiteName(name) {
			return nil
		}
	}
	home := h.homeFor(r)
	se, err := h.siteEvents(name, home)
	if err != nil {
		h.logger.Error("events: preparing site", zap.String("site", name), zap.Error(err))
		return nil
	}
	h.remember(name, home, r, next) // reconciliation reads through the same route
	logger := h.logger.With(zap.String("site", name))
	em := &wcevents.Emitter{
		Publisher:   se,
		Subscribers: se,
		Dedupe:      se,
		Marker:      se,
		Warn:        func(msg string, err error) { logger.Warn("events: "+msg, zap.Error(err)) },
	}
	if h.events.ck != "" {
		em.Reader = h.newServiceReader(newNextProber(r, next), &se.auth)
	}
	return &emission{em: em, base: context.WithoutCancel(r.Context()), logger: logger}
}

// needsReads reports whether publishing changes reads from WooCommerce;
// such writes publish before the handler returns, so that the reads see
// the resource as it was right after the write (a client's next request
// could change or delete it).
func (e *emission) needsReads(changes []wcevents.Change) bool {
	ctx, cancel := context.WithTimeout(e.base, eventTimeout)
	defer cancel()
	return e.em.Reader != nil && e.em.NeedsReads(ctx, changes)
}

// publish resolves users and admin saves and publishes changes.
func (e *emission) publish(changes []wcevents.Change) {
	ctx, cancel := context.WithTimeout(e.base, eventTimeout)
	defer cancel()
	changes = resolveCustomers(ctx, e.em, changes, e.logger)
	changes, err := e.em.ResolveSaves(ctx, changes) // wp-admin saves: created or updated
	if err != nil {
		e.logger.Warn("events: not every admin save was resolved", zap.Error(err))
	}
	if _, err := e.em.Emit(ctx, changes); err != nil {
		e.logger.Warn("events: not every event was published", zap.Error(err))
	}
}

// siteEvents returns the cached event state of a site.
func (h *Handler) siteEvents(name, home string) (*siteEvents, error) {
	if v, ok := h.events.sites.Load(name); ok {
		return v.(*siteEvents), nil
	}
	store := h.app.Store()
	site, err := store.Site(name)
	if err != nil {
		return nil, fmt.Errorf("opening site %q: %w", name, err)
	}
	ttl := h.events.ttl
	if ttl <= 0 {
		ttl = dedupeTTL
	}
	se := &siteEvents{site: site, rdb: store.Client(), ttl: ttl,
		dispatch: &siteDispatch{app: h.app, site: site, home: home, fixedHome: h.HomeURL != ""}}
	if h.reconcile != nil {
		se.rc = site.Reconcile(ttl)
	}
	if h.events.nsites.Load() >= maxCachedSites {
		return se, nil
	}
	v, loaded := h.events.sites.LoadOrStore(name, se)
	if !loaded {
		h.events.nsites.Add(1)
	}
	return v.(*siteEvents), nil
}

// siteEvents is the event state of one site. It implements the
// Publisher, Subscribers and Deduper of package wcevents.
type siteEvents struct {
	site     *redisstore.Site
	rdb      redis.UniversalClient
	dispatch *siteDispatch
	ttl      time.Duration         // of dedupe keys and markers
	rc       *redisstore.Reconcile // nil when reconciliation is off
	auth     serviceAuth           // how WordPress takes the service key

	mu    sync.Mutex
	hooks []redisstore.Webhook // active webhooks, cached webhookCacheTTL
	at    time.Time
}

// active returns the site's active webhooks (cached about a second).
func (s *siteEvents) active(ctx context.Context) ([]redisstore.Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hooks != nil && time.Since(s.at) < webhookCacheTTL {
		return s.hooks, nil
	}
	res, err := s.site.ListWebhooks(ctx, redisstore.ListQuery{Status: redisstore.StatusActive, OrderBy: redisstore.OrderByID, Limit: -1})
	if err != nil {
		return nil, err
	}
	s.hooks, s.at = res.Items, time.Now()
	if s.hooks == nil {
		s.hooks = []redisstore.Webhook{}
	}
	return s.hooks, nil
}

// Versions implements wcevents.Subscribers: the distinct api_versions of
// the active webhooks with topic (an unset one counts as wp_api_v3,
// WooCommerce's default).
func (s *siteEvents) Versions(ctx context.Context, topic string) ([]string, error) {
	hooks, err := s.active(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, w := range hooks {
		if w.Topic != topic {
			continue
		}
		v := w.APIVersion
		if v == "" {
			v = redisstore.APIVersionWPV3
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// Publish implements wcevents.Publisher: the event goes to the active
// webhooks of the topic with that api_version ("" for all of them, as for
// deleted events, whose {"id":N} is the same in every version).
func (s *siteEvents) Publish(ctx context.Context, topic string, resourceID int64, apiVersion string, payload []byte) error {
	return s.publish(ctx, topic, resourceID, apiVersion, payload)
}

// Published implements wcevents.Marker: with reconciliation on, a created,
// deleted or restored event the proxy published leaves its
// wcevents.OnceKey marker, so that reconciliation does not emit it again.
// A trash and a restore of one item between two passes cancel out (no pass
// sees the item in the trash): a restore takes the unused marker of the
// trash instead of leaving its own, and a trash that of a restore.
func (s *siteEvents) Published(ctx context.Context, topic string, id int64) {
	if s.rc == nil {
		return
	}
	res, event, _ := strings.Cut(topic, ".")
	opposite := map[string]string{"deleted": "restored", "restored": "deleted"}[event]
	switch {
	case opposite != "":
		if taken, err := s.rc.Take(ctx, wcevents.OnceKey(res+"."+opposite, id)); err == nil && taken {
			return
		}
	case event != "created":
		return
	}
	// A lost marker costs at most a duplicate from reconciliation.
	_ = s.rc.Mark(ctx, wcevents.OnceKey(topic, id))
}

// publish appends the event for the dispatcher.
func (s *siteEvents) publish(ctx context.Context, topic string, resourceID int64, apiVersion string, payload []byte) error {
	if err := s.dispatch.app.ensureSite(ctx, s.site, s.dispatch.home, s.dispatch.fixedHome); err != nil {
		return err
	}
	_, err := dispatcher.Publish(ctx, s.site, dispatcher.Event{Topic: topic, ResourceID: resourceID, Payload: payload, APIVersion: apiVersion})
	return err
}

// Seen implements wcevents.Deduper for the proxy's events: it records the
// emitted state (topic, id, date_modified) for s.ttl, so that
// reconciliation never sends it again, and reports none as seen. Every
// write WordPress answered fires its events, as WooCommerce's hooks run on
// every request; repeats within one request are removed by Derive. (Two
// writes in quick succession may read the same later state for their
// payloads; they are still two events, as in WooCommerce.)
func (s *siteEvents) Seen(ctx context.Context, topic string, id int64, modified, hash string) (bool, error) {
	key := s.site.KeyPrefix() + wcevents.DedupeKey(topic, id, modified)
	if err := s.rdb.Set(ctx, key, hash, s.ttl).Err(); err != nil {
		return false, fmt.Errorf("dedupe: %w", err)
	}
	return false, nil
}

// Interface guards
var (
	_ wcevents.Publisher   = (*siteEvents)(nil)
	_ wcevents.Subscribers = (*siteEvents)(nil)
	_ wcevents.Deduper     = (*siteEvents)(nil)
	_ wcevents.Marker      = (*siteEvents)(nil)
)
