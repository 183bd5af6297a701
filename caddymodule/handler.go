package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // timezone names work on hosts without a zoneinfo database

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcapi"
	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcauth"
	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcevents"
	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcpage"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// Defaults of the wc_webhooks handler.
const (
	// AuthUpstream asks the WordPress behind the proxy to judge the client's
	// credentials. The default.
	AuthUpstream = "upstream"
	// AuthKeys checks credentials against API keys held in Redis.
	AuthKeys = "keys"
	// DefaultAuthCacheTTL is how long upstream verdicts are cached.
	DefaultAuthCacheTTL = wcauth.DefaultUpstreamTTL
	// DefaultTimezone is the default site timezone.
	DefaultTimezone = "UTC"
	// DefaultMaxBodySize is the default cap on API request bodies (1 MiB).
	DefaultMaxBodySize = wcapi.DefaultMaxBodyBytes
)

// maxCachedSites bounds the per-site cache of a handler whose site name
// comes from the Host header, so arbitrary Host values cannot grow it
// without limit; sites beyond it are served uncached.
const maxCachedSites = 1024

// Handler is the `http.handlers.wc_webhooks` handler. Placed before
// `reverse_proxy` (the Caddyfile directive's default order), it answers
// WooCommerce's webhooks REST API (/wp-json/wc/v1|v2|v3/webhooks...,
// /wc-api/v2|v3/webhooks..., and their ?rest_route= forms) from Redis and
// passes every other request on untouched. It uses the `wc_webhooks` app's
// Redis, which need not be configured (the embedded Redis is the default).
type Handler struct {
	// Site names the site's namespace in Redis. Default: the request's Host
	// lower-cased without its port, computed per request (a handler does not
	// know its site block's addresses), so one handler can serve many shops;
	// when set, every request uses this name (1 to 200 printable characters
	// without braces). The name is also what `caddy wc-webhooks --site`
	// takes. Requests whose Host is not a plain host name (letters, digits,
	// '.', '-', '_', ':') get 400 when the name comes from the Host.
	Site string `json:"site,omitempty"`

	// Auth selects how API credentials are checked: "upstream" asks the
	// WordPress site behind the proxy to judge the client's own credentials
	// (through the rest of the route, i.e. reverse_proxy) and caches the
	// verdict; "keys" checks them against API keys held in Redis (add them
	// with `caddy wc-webhooks add-key`). Default: "upstream".
	Auth string `json:"auth,omitempty"`

	// AuthCacheTTL is how long an upstream verdict is cached per credential
	// and host (refusals for a sixth of it). Only used with auth "upstream".
	// Default: 30s.
	AuthCacheTTL caddy.Duration `json:"auth_cache_ttl,omitempty"`

	// Timezone is the site's IANA timezone (WordPress's timezone_string),
	// used for the local dates of wc/v2 and wc/v3. Default: "UTC".
	Timezone string `json:"timezone,omitempty"`

	// HomeURL is the site's home URL, e.g. "https://shop.example", used for
	// links and OAuth 1.0a signatures. Default: derived from each request's
	// scheme and Host.
	HomeURL string `json:"home_url,omitempty"`

	// MaxBodySize caps API request bodies in bytes; larger ones get 413.
	// Default: 1048576 (1 MiB).
	MaxBodySize int64 `json:"max_body_size,omitempty"`

	// OperatorPath, when set, serves the operator page (package wcpage)
	// at this path and below, e.g. "/wc-webhooks-admin": the site's
	// webhooks, recent deliveries and queue, with pause/activate and
	// redeliver, behind the same credentials as the API. Default: "" (off).
	OperatorPath string `json:"operator_path,omitempty"`

	// WatchWrites turns the shop's successful REST writes (wc/v1-v3 and
	// legacy wc-api orders, products, customers, coupons, batches, refunds,
	// variations) into topic events for the webhooks. Default: true.
	WatchWrites *bool `json:"watch_writes,omitempty"`

	// ServiceKey is a WooCommerce REST API key "consumer_key:consumer_secret"
	// (read permission) the module uses to read a resource when a write's
	// answer is not the representation a webhook's API version needs.
	// Placeholders such as {env.WC_SERVICE_KEY} are expanded. Default: none
	// (then such webhooks get no event for that write).
	ServiceKey string `json:"service_key,omitempty"`

	// Reconcile is the interval of the reconciliation pass, which finds
	// the changes that never crossed the proxy (cron, payment callbacks,
	// WP-CLI) with the service key (modified_after and the trash listings
	// of wc/v3) and emits the events WooCommerce would have fired, never
	// one the proxy already emitted: a duration of at least 10s, or "off".
	// It runs per site once the handler has seen traffic for the site,
	// once per interval among all Caddy processes sharing the Redis.
	// Without a service key it is off (with a warning when set).
	// Default: "5m" when ServiceKey is set, "off" otherwise.
	Reconcile string `json:"reconcile,omitempty"`

	events    eventState
	reconcile *reconcileLoop // nil when reconciliation is off
	app       *App
	upstream  *wcauth.Upstream // shared by all sites; nil with auth keys
	location  *time.Location
	logger    *zap.Logger
	sites     sync.Map // site name -> *wcapi.API
	nsites    atomic.Int64
}

// CaddyModule returns the Caddy module information.
func (*Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.wc_webhooks",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision applies defaults, validates the settings and finds the
// wc_webhooks app (creating it with defaults when the config has none).
// It dials nothing.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if err := h.applyDefaults(); err != nil {
		return err
	}
	appAny, err := ctx.App("wc_webhooks")
	if err != nil {
		return fmt.Errorf("wc_webhooks: loading app: %w", err)
	}
	app, ok := appAny.(*App)
	if !ok {
		return fmt.Errorf("wc_webhooks: app has unexpected type %T", appAny)
	}
	h.app = app
	if h.Auth == AuthUpstream {
		h.upstream = wcauth.NewUpstream(time.Duration(h.AuthCacheTTL))
		h.upstream.Logger = h.logger
	}
	if err := h.provisionEvents(); err != nil {
		return err
	}
	return h.provisionReconcile()
}

// applyDefaults fills in and checks every setting.
func (h *Handler) applyDefaults() error {
	if h.Site != "" {
		// Site only validates the name; a Store without a client dials nothing.
		if _, err := redisstore.New(nil, redisstore.Options{}).Site(h.Site); err != nil {
			return fmt.Errorf("wc_webhooks: invalid site name: %w", err)
		}
	}
	switch h.Auth {
	case "":
		h.Auth = AuthUpstream
	case AuthUpstream, AuthKeys:
	default:
		return fmt.Errorf("wc_webhooks: auth must be %q or %q, got %q", AuthUpstream, AuthKeys, h.Auth)
	}
	if h.AuthCacheTTL < 0 {
		return fmt.Errorf("wc_webhooks: auth_cache_ttl must not be negative")
	}
	if h.AuthCacheTTL == 0 {
		h.AuthCacheTTL = caddy.Duration(DefaultAuthCacheTTL)
	}
	if h.Timezone == "" {
		h.Timezone = DefaultTimezone
	}
	loc, err := time.LoadLocation(h.Timezone)
	if err != nil {
		return fmt.Errorf("wc_webhooks: unknown timezone %q: %w", h.Timezone, err)
	}
	h.location = loc
	if h.HomeURL != "" {
		home, err := checkHomeURL(h.HomeURL)
		if err != nil {
			return err
		}
		h.HomeURL = home
	}
	if h.MaxBodySize < 0 {
		return fmt.Errorf("wc_webhooks: max_body_size must not be negative")
	}
	if h.MaxBodySize == 0 {
		h.MaxBodySize = DefaultMaxBodySize
	}
	if h.OperatorPath != "" {
		base, err := wcpage.CleanBasePath(h.OperatorPath)
		if err != nil {
			return fmt.Errorf("wc_webhooks: operator_path: %w", err)
		}
		h.OperatorPath = base
	}
	return nil
}

// checkHomeURL accepts an absolute http(s) URL and drops its trailing slash.
func checkHomeURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("wc_webhooks: home_url %q must be an absolute http or https URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("wc_webhooks: home_url %q must not have a query, fragment or user info", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// ServeHTTP answers webhooks API requests and passes everything else to
// next unchanged. The pass-through path only looks at the URL.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	h.seeSite(r, next) // a fixed site is reconciled from its first request
	if h.OperatorPath != "" && wcpage.Under(r.URL.Path, h.OperatorPath) {
		return h.servePage(w, r, next)
	}
	if !wcapi.Match(r) {
		if h.events.watch {
			if watch, ok := wcevents.Classify(r); ok {
				return h.serveWatched(w, r, next, watch)
			}
		}
		return next.ServeHTTP(w, r)
	}
	return h.serveAPI(w, r, next)
}

// serveAPI answers one webhooks API request for the request's site.
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	name := h.Site
	if name == "" {
		name = siteFromHost(r.Host)
		if !validSiteName(name) {
			return caddyhttp.Error(http.StatusBadRequest, errors.New("wc_webhooks: the request's host is not a usable site name"))
		}
	}
	api, err := h.siteAPI(name, h.homeFor(r))
	if err != nil {
		h.logger.Error("preparing site", zap.String("site", name), zap.Error(err))
		return caddyhttp.Error(http.StatusInternalServerError, err)
	}
	h.remember(name, h.homeFor(r), r, next) // reconciliation reads through the same route
	api.Serve(w, r, newNextProber(r, next))
	return nil
}

// servePage serves the operator page of the request's site. The page is
// cheap to build, so it is built per request (operators only).
func (h *Handler) servePage(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	name := h.Site
	if name == "" {
		name = siteFromHost(r.Host)
		if !validSiteName(name) {
			return caddyhttp.Error(http.StatusBadRequest, errors.New("wc_webhooks: the request's host is not a usable site name"))
		}
	}
	site, err := h.app.Store().Site(name)
	if err != nil {
		return caddyhttp.Error(http.StatusInternalServerError, fmt.Errorf("opening site %q: %w", name, err))
	}
	var auth wcauth.Authenticator = h.upstream
	if h.Auth == AuthKeys {
		keys := wcauth.NewKeys(site)
		keys.Logger = h.logger
		auth = keys
	}
	dead := site.KeyPrefix() + "dq:dead" // the dead-letter stream (see redisstore/events.go)
	page, err := wcpage.New(wcpage.Options{
		Store: site, Auth: auth, BasePath: h.OperatorPath, HomeURL: h.HomeURL, Location: h.location,
		Logger:   h.logger.With(zap.String("site", name)),
		Dispatch: &siteDispatch{app: h.app, site: site, home: h.homeFor(r), fixedHome: h.HomeURL != ""},
		Dead:     func(ctx context.Context) (int64, error) { return h.app.Store().Client().XLen(ctx, dead).Result() },
	})
	if err != nil {
		return caddyhttp.Error(http.StatusInternalServerError, err)
	}
	page.Serve(w, r, newNextProber(r, next))
	return nil
}

// homeFor is the handler's home_url, or the request's scheme://host.
func (h *Handler) homeFor(r *http.Request) string {
	if h.HomeURL != "" {
		return h.HomeURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// siteAPI returns the cached API of a site, building it on first use with
// home as the site's home URL for delivery.
func (h *Handler) siteAPI(name, home string) (*wcapi.API, error) {
	if v, ok := h.sites.Load(name); ok {
		return v.(*wcapi.API), nil
	}
	api, err := h.buildAPI(name, home)
	if err != nil {
		return nil, err
	}
	if h.nsites.Load() >= maxCachedSites {
		return api, nil
	}
	v, loaded := h.sites.LoadOrStore(name, api)
	if !loaded {
		h.nsites.Add(1)
	}
	return v.(*wcapi.API), nil
}

// buildAPI builds the API of one site. With auth keys each site gets its
// own authenticator on its own keys; with auth upstream the sites share
// the handler's, whose verdict cache is bounded and keyed by Host and home
// URL among others, so one shop's verdicts never answer for another. The
// API queues pings, events and redeliveries through a siteDispatch.
func (h *Handler) buildAPI(name, home string) (*wcapi.API, error) {
	site, err := h.app.Store().Site(name)
	if err != nil {
		return nil, fmt.Errorf("opening site %q: %w", name, err)
	}
	logger := h.logger.With(zap.String("site", name))
	var auth wcauth.Authenticator
	switch h.Auth {
	case AuthKeys:
		keys := wcauth.NewKeys(site)
		keys.Logger = logger
		auth = keys
	default:
		auth = h.upstream
	}
	api, err := wcapi.New(wcapi.Options{
		Store:        site,
		Auth:         auth,
		Location:     h.location,
		HomeURL:      h.HomeURL,
		MaxBodyBytes: h.MaxBodySize,
		Logger:       logger,
		Dispatch:     &siteDispatch{app: h.app, site: site, home: home, fixedHome: h.HomeURL != ""},
	})
	if err != nil {
		return nil, fmt.Errorf("building API of site %q: %w", name, err)
	}
	return api, nil
}

// siteFromHost returns host lower-cased, without port, brackets or a
// trailing dot.
func siteFromHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimPrefix(strings.TrimSuffix(host, "]"), "[")
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// validSiteName accepts 1 to 200 letters, digits, '.', '-', '_' and ':'.
func validSiteName(name string) bool {
	if name == "" || len(name) > redisstore.MaxSiteNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == '_', c == ':':
		default:
			return false
		}
	}
	return true
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
