package wcpage

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcauth"
)

// Realm is the realm of the page's Basic challenge; browsers show their
// login prompt when a 401 carries it.
const Realm = "WooCommerce webhooks"

// credential is the secret material of a request's credentials (the
// Authorization header and the consumer_key / consumer_secret query
// values), hashed; CSRF tokens are keyed with it. Empty when the request
// carried none of them.
type credential []byte

// credentialOf hashes the credential material of r.
func credentialOf(r *http.Request) credential {
	q := r.URL.Query()
	auth, ck, cs := r.Header.Get("Authorization"), q.Get("consumer_key"), q.Get("consumer_secret")
	if auth == "" && ck == "" && cs == "" {
		return nil
	}
	h := sha256.New()
	for _, part := range []string{"wcpage-credential", auth, ck, cs} {
		h.Write([]byte(strconv.Itoa(len(part))))
		h.Write([]byte{':'})
		h.Write([]byte(part))
	}
	return h.Sum(nil)
}

// authenticate asks the authenticator about r as a REST request with
// method, and answers 401 (with a Basic challenge) or 403 itself when the
// user may not manage WooCommerce. It returns the request's credential.
func (p *Page) authenticate(w http.ResponseWriter, r *http.Request, method string, upstream wcauth.Prober) (credential, bool) {
	v := p.opts.Auth.Authenticate(r.Context(), wcauth.Request{
		HTTP:     r,
		API:      wcauth.REST,
		Method:   method,
		Secure:   r.TLS != nil,
		HomeURL:  p.homeURL(r),
		Query:    wcauth.ParsePHPQuery(r.URL.RawQuery),
		Upstream: upstream,
	})
	switch {
	case v.Err != nil && v.Err.Status == http.StatusUnauthorized:
		p.fail(w, r, http.StatusUnauthorized, v.Err.Message)
		return nil, false
	case v.Err != nil:
		p.fail(w, r, statusOr(v.Err.Status, http.StatusForbidden), v.Err.Message)
		return nil, false
	case !v.Authenticated:
		msg := "Sign in with a WooCommerce REST API key (consumer key as user name, consumer secret as password)."
		if r.TLS == nil {
			msg += " Credentials are only accepted over HTTPS."
		}
		p.fail(w, r, http.StatusUnauthorized, msg)
		return nil, false
	case !v.CanManage:
		p.fail(w, r, http.StatusForbidden, "These credentials may not manage WooCommerce webhooks (manage_woocommerce and a key with the needed permission are required).")
		return nil, false
	}
	return credentialOf(r), true
}

// statusOr is status when it is an HTTP error status, else def.
func statusOr(status, def int) int {
	if status >= 400 && status <= 599 {
		return status
	}
	return def
}

// homeURL is the configured home URL, or the request's scheme and host.
func (p *Page) homeURL(r *http.Request) string {
	if p.opts.HomeURL != "" {
		return p.opts.HomeURL
	}
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// The CSRF defence. Every action form carries a token
// "<unix time>.<mac>", where mac = HMAC-SHA256 keyed with the hash of the
// request's credentials over the site name, the base path and the time.
// A page on another origin cannot read the token (same-origin policy) nor
// compute it (it does not know the credentials the browser attaches), so
// a forged cross-site POST is refused even though the browser sends the
// cached Basic credentials along. Tokens expire after TokenTTL, need no
// server-side state, and stay valid across restarts and between Caddy
// instances. As a second layer, a POST whose Sec-Fetch-Site, Origin or
// Referer header names another site is refused.

// token returns a fresh CSRF token for cred.
func (p *Page) token(cred credential, now time.Time) string {
	if len(cred) == 0 {
		return ""
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	return ts + "." + p.mac(cred, ts)
}

// checkToken reports whether tok is a valid, unexpired token for cred.
func (p *Page) checkToken(cred credential, tok string, now time.Time) bool {
	if len(cred) == 0 {
		return false
	}
	ts, mac, ok := strings.Cut(tok, ".")
	if !ok {
		return false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	issued := time.Unix(sec, 0)
	if now.Sub(issued) > p.opts.TokenTTL || issued.Sub(now) > time.Minute {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(p.mac(cred, ts)))
}

// mac is the token MAC of ts for cred.
func (p *Page) mac(cred credential, ts string) string {
	m := hmac.New(sha256.New, cred)
	m.Write([]byte("wcpage-csrf\x00" + p.opts.Store.Name() + "\x00" + p.opts.BasePath + "\x00" + ts))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sameOrigin refuses requests that a browser marks as coming from another
// site: Sec-Fetch-Site other than same-origin or none, an Origin (or,
// without one, a Referer) whose host is not the request's Host. Requests
// without these headers (scripts) pass; the token still guards them.
func sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return false
	}
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return true
	}
	u, err := url.Parse(src)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}
