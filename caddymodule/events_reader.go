package caddymodule

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcevents"
)

// eventsUserAgent identifies the module's resource reads in the site's logs.
const eventsUserAgent = "caddy-wc-webhooks events"

// serviceAuth remembers, per site, how its WordPress accepts the service
// key: Basic auth marked HTTPS (the default), or OAuth 1.0a once Basic
// auth was refused and OAuth worked.
type serviceAuth struct {
	oauth atomic.Bool
}

// serviceReader implements wcevents.Reader (and UserFinder, and the
// reconciliation's lists through restLister): it reads from WordPress
// through the rest of the route (as the auth probes do) with the handler's
// service key.
//
// A read goes with Basic auth, marked as arriving over HTTPS
// (X-Forwarded-Proto: https, and a TLS state so that reverse_proxy sends
// that header too), as WooCommerce accepts Basic auth only when is_ssl().
// A WordPress that does not trust X-Forwarded-Proto refuses it (401, or
// the legacy API's 404 "... parameter is missing"); the read is then sent
// once more signed with OAuth 1.0a (HMAC-SHA256 over
// http://<forwarded host><path>?<query>, as WordPress sees it over plain
// HTTP), and the method that worked is remembered for the site (auth).
// The OAuth signature holds only while the upstream sees the client's Host
// and path (reverse_proxy's defaults: no header_up Host, no path rewrite).
type serviceReader struct {
	prober *nextProber
	ck, cs string
	base   string       // the site's path, "/" at the root
	auth   *serviceAuth // the site's remembered method; nil: not remembered
	now    func() time.Time
}

// newServiceReader returns the reader of a site with the handler's service
// key; auth is the site's (may be nil).
func (h *Handler) newServiceReader(p *nextProber, auth *serviceAuth) *serviceReader {
	return &serviceReader{prober: p, ck: h.events.ck, cs: h.events.cs, base: homePathOf(h.HomeURL), auth: auth}
}

// serviceAnswer is a read's answer, its body complete (at most the
// probe's cap).
type serviceAnswer struct {
	status int
	header http.Header
	body   []byte
}

// fetch sends GET <base>?<query> with the service key: with the site's
// remembered method, then once with the other one when WordPress refuses
// the key (see serviceReader). It never returns an error for a status.
func (s *serviceReader) fetch(ctx context.Context, query string) (serviceAnswer, error) {
	oauth := s.auth != nil && s.auth.oauth.Load()
	a, err := s.send(ctx, query, oauth)
	if err != nil || !refused(a) {
		return a, err
	}
	b, err := s.send(ctx, query, !oauth)
	if err != nil || refused(b) {
		return a, nil // the first answer tells the remembered method's failure
	}
	if s.auth != nil {
		s.auth.oauth.Store(!oauth)
	}
	return b, nil
}

// refused reports whether an answer refuses the service key's
// authentication: 401, or the legacy API's 404 for a missing OAuth
// parameter (woocommerce_api_authentication_error).
func refused(a serviceAnswer) bool {
	return a.status == http.StatusUnauthorized ||
		a.status == http.StatusNotFound && bytes.Contains(a.body, []byte(`"woocommerce_api_authentication_error"`))
}

// send sends one read, with Basic auth marked HTTPS or signed with OAuth.
func (s *serviceReader) send(ctx context.Context, query string, oauth bool) (serviceAnswer, error) {
	target := "http://localhost" + s.base + "?" + query
	if oauth {
		q, err := url.ParseQuery(query)
		if err != nil {
			return serviceAnswer{}, fmt.Errorf("building read: %w", err)
		}
		now := time.Now
		if s.now != nil {
			now = s.now
		}
		base := "http://" + s.prober.orig.Host + s.base // s.base is escaped
		target = "http://localhost" + s.base + "?" + signOAuth1(http.MethodGet, base, q, s.ck, s.cs, now()).Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return serviceAnswer{}, fmt.Errorf("building read: %w", err)
	}
	req.Host = "" // the client's (see nextProber.Probe)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", eventsUserAgent)
	if !oauth {
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(s.ck+":"+s.cs)))
		req.TLS = &tls.ConnectionState{} // reverse_proxy then sends X-Forwarded-Proto: https
	}
	res, err := s.prober.Probe(ctx, req)
	if err != nil {
		return serviceAnswer{}, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return serviceAnswer{}, fmt.Errorf("reading the answer: %w", err)
	}
	return serviceAnswer{status: res.StatusCode, header: res.Header, body: body}, nil
}

// Read implements wcevents.Reader with ?rest_route=/wc/vN/<res>s/<id>
// (wp_api_vN) or ?wc-api-version=3&wc-api-route=/<res>s/<id> (legacy_v3),
// forms WordPress answers with or without pretty permalinks.
func (s *serviceReader) Read(ctx context.Context, resource string, id int64, apiVersion string) ([]byte, error) {
	route := "/" + resource + "s/" + strconv.FormatInt(id, 10)
	var query string
	switch apiVersion {
	case wcevents.APIVersionWPV1, wcevents.APIVersionWPV2, wcevents.APIVersionWPV3:
		query = "rest_route=" + url.QueryEscape("/wc/v"+apiVersion[len("wp_api_v"):]+route)
	case wcevents.APIVersionLegacyV3:
		query = "wc-api-version=3&wc-api-route=" + url.QueryEscape(route)
	default:
		return nil, fmt.Errorf("unknown api version %q", apiVersion)
	}
	a, err := s.fetch(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", route, err)
	}
	if a.status != http.StatusOK {
		return nil, fmt.Errorf("reading %s: status %d", route, a.status)
	}
	if err := identity(a.header); err != nil {
		return nil, fmt.Errorf("reading %s: %w", route, err)
	}
	if mt, _, _ := mime.ParseMediaType(a.header.Get("Content-Type")); mt != "" && mt != "application/json" {
		return nil, fmt.Errorf("reading %s: content type %q", route, mt)
	}
	if !json.Valid(a.body) {
		return nil, fmt.Errorf("reading %s: the answer is not complete JSON", route)
	}
	return a.body, nil
}

// identity reports an error when an answer is encoded (compressed).
func identity(h http.Header) error {
	if enc := h.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return fmt.Errorf("unexpected content encoding %q", enc)
	}
	return nil
}

// homePathOf is the path of home_url with a trailing slash, "/" when
// home_url is unset or at the root.
func homePathOf(home string) string {
	if home == "" {
		return "/"
	}
	u, err := url.Parse(home)
	if err != nil || strings.Trim(u.Path, "/") == "" {
		return "/"
	}
	return "/" + strings.Trim(u.EscapedPath(), "/") + "/"
}

// Interface guard
var _ wcevents.Reader = (*serviceReader)(nil)
