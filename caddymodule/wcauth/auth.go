// Package wcauth authenticates WooCommerce API requests for the webhooks
// routes, either against API keys held in Redis (Keys) or by asking the
// WordPress upstream to judge the client's own credentials (Upstream).
// It holds no Caddy types.
package wcauth

import (
	"context"
	"net/http"
	"net/url"
)

// API tells which WooCommerce API a request addresses; error codes, messages
// and OAuth rules differ between them.
type API int

// The APIs that serve webhooks.
const (
	REST     API = iota // /wp-json/wc/v1|v2|v3 (and ?rest_route=)
	LegacyV1            // /wc-api/v1 (authenticates, then has no webhooks route)
	LegacyV2            // /wc-api/v2
	LegacyV3            // /wc-api/v3
)

// Request is what an Authenticator needs to judge one API request.
type Request struct {
	// HTTP is the client's request as received. Authenticators do not
	// consume its body: Keys reads an urlencoded POST body (up to 1 MiB) for
	// OAuth parameters and puts it back, readable from the start. Query
	// parameters are read from HTTP.URL.RawQuery (parsed as PHP does); the
	// REST OAuth base string uses HTTP.RequestURI (the path as sent) and
	// HTTP.Method (the real method, as WooCommerce signs it).
	HTTP *http.Request
	// API is the API the request addresses.
	API API
	// Method is the effective method after _method / X-HTTP-Method-Override,
	// upper case (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS).
	Method string
	// Secure is true when the client reached the site over HTTPS.
	Secure bool
	// HomeURL is the site's home URL without a trailing slash, for example
	// "https://shop.example"; OAuth base strings are built on it.
	HomeURL string
	// Query is the request's query string parsed as PHP does (see
	// ParsePHPQuery): one value per key, the last one wins. It is for the
	// caller's convenience; the authenticators in this package parse
	// HTTP.URL.RawQuery themselves, keeping PHP's nested arrays.
	Query url.Values
	// Upstream reaches the WordPress site behind the proxy; the Upstream
	// authenticator sends its probes through it. Nil when there is none.
	Upstream Prober
}

// Prober sends a request to the WordPress upstream and returns its response.
// The caller closes the response body.
type Prober interface {
	Probe(ctx context.Context, req *http.Request) (*http.Response, error)
}

// Verdict is the outcome of authenticating one request.
type Verdict struct {
	// Err, when set, is an authentication failure to answer as it is, before
	// any routing (WooCommerce's rest_authentication_errors / rest_pre_dispatch
	// for REST, the legacy server's authentication step for legacy).
	Err *Error
	// Authenticated is true when a user was identified (decides 401 vs 403).
	Authenticated bool
	// CanManage is true when that user may use the webhooks routes with
	// Method (manage_woocommerce, and the key permission the method needs).
	CanManage bool
	// UserID is the identified user's id, 0 when unknown.
	UserID int64
}

// Error is an authentication error in WooCommerce's terms. Code is the
// WooCommerce code for the request's API (woocommerce_rest_authentication_error,
// woocommerce_api_authentication_error, ...); Header holds extra response
// headers such as WWW-Authenticate.
type Error struct {
	Code    string
	Message string
	Status  int
	Header  http.Header
}

// Authenticator judges the credentials of one API request.
type Authenticator interface {
	Authenticate(ctx context.Context, req Request) Verdict
}
