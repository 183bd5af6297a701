// Package wcpage serves the operator page of one site: its webhooks, their
// most recent deliveries and the delivery queue, with actions to pause or
// activate a webhook and to redeliver a delivery. The page is plain
// server-rendered HTML (html/template, no script, no external assets) and
// sits behind the same WooCommerce credentials as the webhooks API
// (manage_woocommerce, judged by a wcauth.Authenticator). It holds no
// Caddy types.
package wcpage

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcapi"
	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcauth"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// Defaults of a Page.
const (
	// DefaultDeliveries is how many recent deliveries are shown per webhook.
	DefaultDeliveries = 10
	// DefaultPerPage is how many webhooks one page lists.
	DefaultPerPage = 50
	// DefaultTokenTTL is how long a form's CSRF token stays valid.
	DefaultTokenTTL = 12 * time.Hour
)

// Options configure a Page.
type Options struct {
	// Store is the site's data. Required.
	Store *redisstore.Site
	// Auth judges the credentials of every request (as REST, with method
	// GET or POST). Required.
	Auth wcauth.Authenticator
	// Dispatch queues pings and redeliveries. Default: none (no redeliver
	// buttons, no ping on activation).
	Dispatch wcapi.Dispatch
	// Stats reads the site's queue sizes. Default: Store.QueueStats.
	Stats func(ctx context.Context) (redisstore.QueueStats, error)
	// Dead counts the site's dead-lettered jobs. Default: none (not shown).
	Dead func(ctx context.Context) (int64, error)
	// BasePath is the path the page is served under, e.g.
	// "/wc-webhooks-admin": it must start with '/' and a trailing '/' is
	// dropped. Required.
	BasePath string
	// HomeURL is the site's home URL without a trailing slash, passed to
	// the authenticator. Default: the request's scheme and Host.
	HomeURL string
	// Deliveries is how many recent deliveries are shown per webhook.
	// Default: 10.
	Deliveries int
	// PerPage is how many webhooks one page lists. Default: 50.
	PerPage int
	// TokenTTL is how long a CSRF token stays valid. Default: 12h.
	TokenTTL time.Duration
	// Location is the timezone dates are shown in. Default: UTC.
	Location *time.Location
	// Logger receives store errors (never credentials). Default: none.
	Logger *zap.Logger
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Page serves the operator page of one site.
type Page struct {
	opts Options
}

// New checks the options, fills in defaults and returns the page.
func New(opts Options) (*Page, error) {
	if opts.Store == nil {
		return nil, errors.New("wcpage: a store is required")
	}
	if opts.Auth == nil {
		return nil, errors.New("wcpage: an authenticator is required")
	}
	base, err := CleanBasePath(opts.BasePath)
	if err != nil {
		return nil, err
	}
	opts.BasePath = base
	if opts.Stats == nil {
		opts.Stats = opts.Store.QueueStats
	}
	if opts.Deliveries <= 0 {
		opts.Deliveries = DefaultDeliveries
	}
	if opts.PerPage <= 0 {
		opts.PerPage = DefaultPerPage
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Page{opts: opts}, nil
}

// CleanBasePath checks a base path (it must start with '/', hold no '?',
// '#', '%', '\\' or space, and not be "/" alone) and drops trailing slashes.
func CleanBasePath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#%\\ \t\r\n") {
		return "", errors.New("wcpage: the base path must start with '/' and hold no '?', '#', '%', '\\' or spaces")
	}
	p = strings.TrimRight(p, "/")
	if p == "" {
		return "", errors.New("wcpage: the base path must not be the site root")
	}
	return p, nil
}

// Under reports whether path is base itself or below it (base as
// returned by CleanBasePath). It does not allocate.
func Under(path, base string) bool {
	if !strings.HasPrefix(path, base) {
		return false
	}
	return len(path) == len(base) || path[len(base)] == '/'
}

// ServeHTTP serves the page without an upstream (see Serve).
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.Serve(w, r, nil)
}

// Serve answers one request under BasePath: GET (or HEAD) of BasePath or
// BasePath/ renders the page; POST BasePath/webhooks/<id>/status and
// POST BasePath/webhooks/<id>/deliveries/<delivery id>/redeliver are the
// actions, answered with a 303 back to the page. upstream reaches the
// WordPress site (for `auth upstream`); it may be nil.
func (p *Page) Serve(w http.ResponseWriter, r *http.Request, upstream wcauth.Prober) {
	securityHeaders(w.Header())
	rest, ok := strings.CutPrefix(r.URL.Path, p.opts.BasePath)
	if !ok || (rest != "" && rest[0] != '/') {
		p.fail(w, r, http.StatusNotFound, "Not found.")
		return
	}
	route := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case rest == "" || rest == "/":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			p.fail(w, r, http.StatusMethodNotAllowed, "Method not allowed.")
			return
		}
		if _, ok := p.authenticate(w, r, http.MethodGet, upstream); ok {
			p.render(w, r)
		}
	case len(route) == 3 && route[0] == "webhooks" && route[2] == "status":
		p.action(w, r, upstream, func() {
			p.setStatus(w, r, parseID(route[1]))
		})
	case len(route) == 5 && route[0] == "webhooks" && route[2] == "deliveries" && route[4] == "redeliver":
		p.action(w, r, upstream, func() {
			p.redeliver(w, r, parseID(route[1]), parseID(route[3]))
		})
	default:
		p.fail(w, r, http.StatusNotFound, "Not found.")
	}
}

// action runs do for an authenticated POST with a valid CSRF token from
// the same origin.
func (p *Page) action(w http.ResponseWriter, r *http.Request, upstream wcauth.Prober, do func()) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		p.fail(w, r, http.StatusMethodNotAllowed, "Method not allowed.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	cred, ok := p.authenticate(w, r, http.MethodPost, upstream)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		p.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	if !sameOrigin(r) {
		p.fail(w, r, http.StatusForbidden, "The request did not come from this page (cross-site request refused).")
		return
	}
	if !p.checkToken(cred, r.PostForm.Get("csrf"), p.opts.Now()) {
		p.fail(w, r, http.StatusForbidden, "The form has expired or was not sent by this page. Reload the page and try again.")
		return
	}
	do()
}

// maxFormBytes caps action form bodies.
const maxFormBytes = 64 << 10

// parseID reads a positive decimal id; 0 when s is not one.
func parseID(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// securityHeaders are sent on every answer of the page: no caching, no
// framing, no script, styles only from the page's own <style> block.
func securityHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Robots-Tag", "noindex")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
}
