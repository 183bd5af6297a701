// Package wcapi serves WooCommerce's webhooks REST API (legacy /wc-api/v2|v3
// and /wp-json/wc/v1|v2|v3) from a webhook store, with WooCommerce's routes,
// shapes, headers and errors. It holds no Caddy types.
package wcapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcauth"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// Store is the webhook storage of one site; *redisstore.Site implements it.
type Store interface {
	CreateWebhook(ctx context.Context, w *redisstore.Webhook) error
	GetWebhook(ctx context.Context, id int64) (*redisstore.Webhook, error)
	SaveWebhookEdit(ctx context.Context, before, w *redisstore.Webhook) error
	DeleteWebhook(ctx context.Context, id int64) (bool, error)
	ListWebhooks(ctx context.Context, q redisstore.ListQuery) (redisstore.ListResult, error)
	ListDeliveries(ctx context.Context, webhookID int64) ([]redisstore.Delivery, error)
	GetDelivery(ctx context.Context, webhookID, deliveryID int64) (*redisstore.Delivery, error)
}

// Options configure an API.
type Options struct {
	// Store holds the site's webhooks. Required.
	Store Store
	// Auth judges credentials. Required.
	Auth wcauth.Authenticator
	// Location is the site's timezone, used for the local dates of wc/v2 and
	// wc/v3. Default: UTC.
	Location *time.Location
	// HomeURL is the site's home URL without a trailing slash. Default:
	// derived from each request (scheme and Host).
	HomeURL string
	// MaxBodyBytes caps request bodies; larger ones get 413. Default: 1 MiB.
	MaxBodyBytes int64
	// Logger receives errors of the store. Default: no logging.
	Logger *zap.Logger
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Dispatch queues pings, events and redeliveries. Default: none (no
	// pings; the wc-webhooks/v1 routes answer 501).
	Dispatch Dispatch
}

// API answers the webhooks routes of one site.
type API struct {
	opts Options
}

// New checks the options, fills in defaults and returns the API.
func New(opts Options) (*API, error) {
	if opts.Store == nil {
		return nil, errors.New("wcapi: a store is required")
	}
	if opts.Auth == nil {
		return nil, errors.New("wcapi: an authenticator is required")
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &API{opts: opts}, nil
}

// DefaultMaxBodyBytes is the default cap on request bodies (1 MiB).
const DefaultMaxBodyBytes = 1 << 20

// Serve answers one request that Match accepted. upstream reaches the
// WordPress site (for `auth upstream`); it may be nil.
func (a *API) Serve(w http.ResponseWriter, r *http.Request, upstream wcauth.Prober) {
	c := a.newCall(w, r)
	c.verdict = a.opts.Auth.Authenticate(r.Context(), wcauth.Request{
		HTTP:     r,
		API:      c.api,
		Method:   c.method,
		Secure:   r.TLS != nil,
		HomeURL:  c.home,
		Query:    c.query,
		Upstream: upstream,
	})
	switch {
	case c.own:
		a.serveOwn(c)
		return
	case c.api == wcauth.REST:
		a.serveREST(c)
		return
	}
	a.serveLegacy(c)
}

// newCall works out which API, version and route r addresses.
func (a *API) newCall(w http.ResponseWriter, r *http.Request) *call {
	query, _ := parseQuery(r.URL.RawQuery)
	t, _ := resolve(r)
	c := &call{w: w, r: r, query: query, home: a.homeURL(r), version: t.version, route: t.route, viaQuery: t.viaQuery, own: t.own}
	c.api = wcauth.REST
	if t.legacy {
		c.api = []wcauth.API{wcauth.LegacyV1, wcauth.LegacyV1, wcauth.LegacyV2, wcauth.LegacyV3}[t.version]
	}
	c.method = effectiveMethod(r, query, t.legacy)
	c.head = c.method == http.MethodHead
	return c
}

// homeURL is the configured home URL, or the request's scheme and host.
func (a *API) homeURL(r *http.Request) string {
	if a.opts.HomeURL != "" {
		return a.opts.HomeURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
