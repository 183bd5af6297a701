package wcauth

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"
)

// DefaultUpstreamTTL is how long Upstream keeps a positive verdict (30 s).
const DefaultUpstreamTTL = 30 * time.Second

// LoggedInCookiePrefix starts the name of WordPress's logged-in cookie.
const LoggedInCookiePrefix = "wordpress_logged_in_"

// Upstream authenticates requests by asking the WordPress site behind the
// proxy to judge the client's own credentials (the `auth upstream` mode).
//
// Credential material is: the Authorization header, the consumer_key and
// consumer_secret query values and, for WP REST, the X-WP-Nonce header or
// _wpnonce query value together with the wordpress_logged_in_* cookies. A
// REST request without any is unauthenticated (Verdict{}) and no probe is
// sent; a legacy request without any gets WooCommerce's own error at once
// (legacy always requires credentials), as does a legacy request over plain
// HTTP that carries no OAuth parameters ("oauth_consumer_key parameter is
// missing", 404).
//
// Otherwise a probe goes through Request.Upstream (none: unauthenticated).
// Every probe carries the client's Host, its Authorization header, its
// wordpress_logged_in_* cookies, its X-WP-Nonce header and its
// consumer_key, consumer_secret and _wpnonce query values, plus
// X-Forwarded-Proto (https when Request.Secure, else http). The probe
// depends on the API and on whether Request.Method reads (GET, HEAD,
// OPTIONS) or writes:
//
//   - REST read: GET /?rest_route=/wc/v3/webhooks&per_page=1&_fields=id;
//     200 means the user can manage webhooks.
//   - REST write: POST /?rest_route=/wc/v3/webhooks/batch with body {}
//     (application/json), a no-op batch; 200 means it can.
//   - Legacy v2/v3 read: GET /wc-api/vN/webhooks/count; 200 means it can.
//   - Legacy v2/v3 write: POST /wc-api/vN/webhooks with {"webhook":{}};
//     400 woocommerce_api_invalid_webhook_topic (checked after
//     manage_woocommerce) means it can.
//   - Legacy v1: as the legacy v3 read.
//
// Legacy probes use the ?wc-api-version=N&wc-api-route=... form when the
// client did, and every path is under the home URL's path.
//
// OAuth 1.0a requests (an oauth_* parameter in the query, or for REST an
// "Authorization: OAuth" header) are signed over the client's own method
// and URL, so the probe is the client's request itself: same method, path
// and query, the same headers as above plus X-HTTP-Method-Override, and a
// neutral body: none for GET and HEAD; for REST writes
// {"id":-1,"topic":"","delivery_url":"","force":false} (create then fails
// with woocommerce_rest_shop_webhook_exists, update with
// woocommerce_rest_shop_webhook_invalid_id, delete with
// woocommerce_rest_trash_not_supported, all after the permission check;
// topic and delivery_url only satisfy WordPress's required-argument check,
// which runs first) or {} on the batch route; for a legacy create
// {"webhook":{}}. A 2xx answer, or 400/404/501 with one of the codes
// WooCommerce's handlers emit after their permission check, allows the
// request. Legacy only proves the permission on some routes: the count, a
// single webhook or delivery, and create; a legacy list answers 200 to
// every authenticated key, so there the verdict is authenticated without
// the right to manage. Requests that cannot be probed without changing
// what they sign or what they do (REST OAuth with a form body, legacy OAuth
// writes other than create) get "Unable to verify credentials with the
// site." 401. OAuth verdicts are never cached (each nonce is single use).
//
// Judging: an answer whose error code is an authentication error
// (woocommerce_rest_authentication_error, woocommerce_api_authentication_error,
// woocommerce_rest_authentication_missing_parameter, and WordPress's
// incorrect_password, invalid_username, invalid_email,
// application_passwords_disabled, application_passwords_disabled_for_user,
// rest_cookie_invalid_nonce) is relayed as Verdict.Err with its code,
// message, status and WWW-Authenticate header. Any other refusal denies:
// for REST, Authenticated is true only for 403; for legacy, a handler's
// own error means authentication passed. A transport error, a redirect or
// a 5xx (other than WooCommerce's 501 "trash not supported") gives
// "Unable to verify credentials with the site." 503 with the API's
// authentication code, and is not cached.
//
// Verdicts are cached in process under the SHA-256 of the API, read or
// write, the scheme, home URL and Host, and the credential material:
// positive ones for the TTL, negative ones (denials and relayed errors) for
// a sixth of it (at least 1 s). At most DefaultCacheEntries are kept.
// Concurrent requests with the same credentials share one probe. UserID is
// always 0 (the site does not say who the user is).
type Upstream struct {
	// Now is the clock of the cache. Default: time.Now.
	Now func() time.Time
	// Logger receives probe failures (never credentials). Default: no
	// logging.
	Logger *zap.Logger

	ttl     time.Duration
	failTTL time.Duration
	cache   *verdictCache
}

// NewUpstream returns an Upstream authenticator whose positive verdicts
// live for ttl (DefaultUpstreamTTL, 30 s, when ttl <= 0) and negative ones
// for ttl/6 (at least 1 s).
func NewUpstream(ttl time.Duration) *Upstream {
	if ttl <= 0 {
		ttl = DefaultUpstreamTTL
	}
	failTTL := min(max(ttl/6, time.Second), ttl)
	return &Upstream{
		Now:     time.Now,
		Logger:  zap.NewNop(),
		ttl:     ttl,
		failTTL: failTTL,
		cache:   newVerdictCache(DefaultCacheEntries),
	}
}

func (u *Upstream) now() time.Time {
	if u.Now == nil {
		return time.Now()
	}
	return u.Now()
}

func (u *Upstream) logger() *zap.Logger {
	if u.Logger == nil {
		return zap.NewNop()
	}
	return u.Logger
}

// Authenticate judges req by probing the upstream (see Upstream).
func (u *Upstream) Authenticate(ctx context.Context, req Request) Verdict {
	if req.HTTP == nil || req.HTTP.URL == nil {
		return Verdict{}
	}
	get := parsePHPQueryTree(req.HTTP.URL.RawQuery)
	if isOAuthRequest(req, get) {
		return u.authOAuth(ctx, req, get)
	}
	m := collectMaterial(req, get)
	if !m.present(req.API) {
		return Verdict{Err: legacyMissingCredentials(req, get)}
	}
	if req.API != REST && !req.Secure {
		// Legacy over HTTP knows only OAuth from the query.
		return Verdict{Err: newErr(req.API, http.StatusNotFound, "oauth_consumer_key parameter is missing")}
	}
	if req.Upstream == nil {
		return Verdict{}
	}
	write := isWriteMethod(req.Method)
	key := m.cacheKey(req, write)
	if v, ok := u.cache.get(key, u.now()); ok {
		return v
	}
	v, ok := u.cache.share(ctx, key, func() Verdict {
		v, cacheable := u.probeCredentials(ctx, req, get, m, write)
		if cacheable {
			ttl := u.failTTL
			if v.CanManage {
				ttl = u.ttl
			}
			u.cache.put(key, v, u.now().Add(ttl))
		}
		return v
	})
	if !ok {
		return Verdict{Err: newErr(req.API, http.StatusServiceUnavailable, msgUpstreamUnavailable)}
	}
	return v
}

// isWriteMethod tells writes from reads (GET, HEAD, OPTIONS).
func isWriteMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// isOAuthRequest reports whether req carries OAuth parameters: in the
// query, or (REST only) in an "Authorization: OAuth" header.
func isOAuthRequest(req Request, get *phpArray) bool {
	if _, have := oauthPresence(get); have {
		return true
	}
	h := strings.TrimSpace(req.HTTP.Header.Get("Authorization"))
	return req.API == REST && strings.HasPrefix(h, "OAuth ")
}

// material is the credential material of a request.
type material struct {
	authorization string
	query         [][2]string // consumer_key, consumer_secret, _wpnonce as sent
	nonceHeader   string
	cookies       []string // wordpress_logged_in_* as name=value, sorted
}

// probeQueryNames are the query parameters probes carry over.
var probeQueryNames = []string{"consumer_key", "consumer_secret", "_wpnonce"}

func collectMaterial(req Request, get *phpArray) material {
	r := req.HTTP
	m := material{
		authorization: r.Header.Get("Authorization"),
		nonceHeader:   r.Header.Get("X-WP-Nonce"),
	}
	for _, name := range probeQueryNames {
		if v, ok := get.get(phpKey{s: name}); ok && v.arr == nil {
			m.query = append(m.query, [2]string{name, v.s})
		}
	}
	for _, c := range r.Cookies() {
		if strings.HasPrefix(c.Name, LoggedInCookiePrefix) {
			m.cookies = append(m.cookies, c.Name+"="+c.Value)
		}
	}
	sort.Strings(m.cookies)
	return m
}

// present reports whether there is anything for api to authenticate with.
func (m material) present(api API) bool {
	if m.authorization != "" {
		return true
	}
	for _, q := range m.query {
		if q[0] != "_wpnonce" {
			return true
		}
		if api == REST {
			return true
		}
	}
	return api == REST && m.nonceHeader != ""
}

// cacheKey hashes everything a verdict depends on.
func (m material) cacheKey(req Request, write bool) [32]byte {
	h := sha256.New()
	field := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	field("wcauth-upstream-v1")
	field(string(rune('0' + int(req.API))))
	field(map[bool]string{false: "read", true: "write"}[write])
	field(map[bool]string{false: "http", true: "https"}[req.Secure])
	field(req.HomeURL)
	field(req.HTTP.Host)
	field(m.authorization)
	field(m.nonceHeader)
	for _, q := range m.query {
		field(q[0])
		field(q[1])
	}
	field("cookies")
	for _, c := range m.cookies {
		field(c)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// legacyMissingCredentials is the legacy error for a request without any
// credentials (nil for the API index, which needs none, and for REST).
func legacyMissingCredentials(req Request, get *phpArray) *Error {
	if req.API == REST {
		return nil
	}
	if path, _ := legacyServerPath(req, get); path == "/" {
		return nil
	}
	switch {
	case !req.Secure:
		return newErr(req.API, http.StatusNotFound, "oauth_consumer_key parameter is missing")
	case req.API == LegacyV3:
		return basicChallenge()
	}
	return newErr(req.API, http.StatusNotFound, msgKeyMissing)
}
