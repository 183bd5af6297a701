package standin

import (
	"crypto/subtle"
	"fmt"
	"strings"
	"sync"
)

// apiError is a WooCommerce error: code, message and HTTP status, plus an
// optional WWW-Authenticate challenge.
type apiError struct {
	code      string
	message   string
	status    int
	challenge bool
}

const basicRealm = `Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer secret in the password field."`

// principal is whoever a request authenticated as.
type principal struct {
	user User
	key  *Key // nil when authenticated without an API key
}

func (p *principal) canManage() bool {
	return p != nil && p.user.Role.CanManageWooCommerce()
}

func secretsEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// distrust holds, per server, that WordPress does not trust
// X-Forwarded-Proto (default: it trusts it).
var distrust sync.Map // *Server -> bool

// SetTrustForwardedProto sets whether the stand-in's WordPress takes
// X-Forwarded-Proto: https from the proxy as HTTPS (is_ssl()), as a site
// behind a proxy is usually configured to; it does unless turned off.
// Without that trust, requests reaching it over plain HTTP are not
// is_ssl(): the REST API ignores Basic auth and query keys (the request
// is then not logged in: 401 woocommerce_rest_cannot_view and the like)
// and accepts OAuth 1.0a signed over http://<Host><path>; the legacy API
// wants OAuth (404 "oauth_consumer_key parameter is missing").
func (s *Server) SetTrustForwardedProto(on bool) { distrust.Store(s, !on) }

// isSSL is WordPress's is_ssl() for authentication: a TLS connection, or
// X-Forwarded-Proto: https while that header is trusted.
func (c *call) isSSL() bool {
	if c.r.TLS != nil {
		return true
	}
	v, ok := distrust.Load(c.s)
	return (!ok || !v.(bool)) && c.secure()
}

// homeBase returns the site's home URL for base strings: the scheme of the
// request (is_ssl) and the host the client addressed.
func (c *call) homeBase() string {
	scheme := "http"
	if c.isSSL() {
		scheme = "https"
	}
	return scheme + "://" + c.r.Host
}

// authREST is WC_REST_Authentication (§8.1): Basic or query keys over
// HTTPS, then OAuth 1.0a, then WordPress application passwords over HTTPS.
// It returns the principal (nil: not logged in) or an error to answer.
func (c *call) authREST() (*principal, *apiError) {
	authErr := func(msg string) *apiError {
		return &apiError{code: "woocommerce_rest_authentication_error", message: msg, status: 401}
	}
	if c.isSSL() {
		ck, cs := c.query["consumer_key"], c.query["consumer_secret"]
		if ck == "" || cs == "" {
			ck, cs, _ = c.r.BasicAuth()
		}
		if ck != "" {
			if k, ok := c.s.key(ck); ok {
				if !secretsEqual(k.ConsumerSecret, cs) {
					return nil, authErr("Consumer secret is invalid.")
				}
				return c.keyPrincipal(k)
			}
			// Unknown key: silent, fall through.
		}
	}
	params, present, missing := c.oauthParams(true)
	if present {
		if len(missing) == 1 {
			return nil, authErr("Missing OAuth parameter " + missing[0])
		}
		if len(missing) > 1 {
			return nil, authErr("Missing OAuth parameters " + strings.Join(missing, ", "))
		}
		k, ok := c.s.key(params["oauth_consumer_key"])
		if !ok {
			return nil, authErr("Consumer key is invalid.")
		}
		if f := c.s.verifyOAuth(OAuthREST, k, c.r.Method, c.homeBase()+c.r.URL.EscapedPath(), params); f != nil {
			return nil, &apiError{code: "woocommerce_rest_authentication_error", message: f.message, status: f.status}
		}
		return c.keyPrincipal(k)
	}
	if c.isSSL() {
		if login, pw, ok := c.r.BasicAuth(); ok {
			if u, found := c.s.userByLogin(login); found && u.AppPassword != "" && secretsEqual(u.AppPassword, pw) {
				return &principal{user: u}, nil
			}
			if _, found := c.s.userByLogin(login); found {
				return nil, &apiError{code: "incorrect_password", message: "The provided password is an invalid application password.", status: 401}
			}
		}
	}
	return nil, nil
}

func (c *call) keyPrincipal(k Key) (*principal, *apiError) {
	u, ok := c.s.user(k.UserID)
	if !ok {
		return nil, &apiError{code: "woocommerce_rest_authentication_error", message: "Consumer key is invalid.", status: 401}
	}
	return &principal{user: u, key: &k}, nil
}

// keyPermission is the API-key read/write check by effective method; code
// is the API's authentication error code.
func (c *call) keyPermission(p *principal, code string) *apiError {
	if p == nil || p.key == nil {
		return nil
	}
	perm := p.key.Permissions
	switch c.method() {
	case "HEAD", "GET":
		if perm != PermRead && perm != PermReadWrite {
			return &apiError{code: code, message: "The API key provided does not have read permissions.", status: 401}
		}
	case "POST", "PUT", "PATCH", "DELETE":
		if perm != PermWrite && perm != PermReadWrite {
			return &apiError{code: code, message: "The API key provided does not have write permissions.", status: 401}
		}
	case "OPTIONS":
	default:
		return &apiError{code: code, message: "Unknown request method.", status: 401}
	}
	return nil
}

// oauthParams gathers OAuth parameters: the query string, plus for REST the
// form body of a POST and the Authorization: OAuth header (header wins).
// present is false when no required oauth_* parameter is there at all.
func (c *call) oauthParams(rest bool) (params map[string]string, present bool, missing []string) {
	params = map[string]string{}
	for k, v := range c.query {
		params[k] = v
	}
	if rest {
		ct := c.r.Header.Get("Content-Type")
		if c.r.Method == "POST" && strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
			for k, v := range phpQuery(string(c.body)) {
				params[k] = v
			}
		}
		for k, v := range parseOAuthHeader(c.r.Header.Get("Authorization")) {
			params[k] = v
		}
	}
	for _, name := range oauthParamNames {
		if params[name] == "" {
			missing = append(missing, name)
		} else {
			present = true
		}
	}
	return params, present, missing
}

// authLegacy is the legacy API's authentication (§8.2 for v1/v3, §8.3 for
// v2). Authentication is mandatory; errors use
// woocommerce_api_authentication_error.
func (c *call) authLegacy(version int) (*principal, *apiError) {
	authErr := func(msg string, status int) *apiError {
		return &apiError{code: "woocommerce_api_authentication_error", message: msg, status: status}
	}
	keyByCK := func(ck string) (Key, *apiError) {
		k, ok := c.s.key(ck)
		if !ok {
			return Key{}, authErr("Consumer key is invalid.", 401)
		}
		return k, nil
	}
	var k Key
	switch {
	case c.isSSL() && version == 2:
		ck, cs, ok := c.r.BasicAuth()
		if !ok {
			ck, cs = c.query["consumer_key"], c.query["consumer_secret"]
		}
		if ck == "" {
			return nil, authErr("Consumer key is missing.", 404)
		}
		if cs == "" {
			return nil, authErr("Consumer secret is missing.", 404)
		}
		var e *apiError
		if k, e = keyByCK(ck); e != nil {
			return nil, e
		}
		if !secretsEqual(k.ConsumerSecret, cs) {
			return nil, authErr("Consumer secret is invalid.", 401)
		}
	case c.isSSL():
		var e *apiError
		if ck, cs := c.query["consumer_key"], c.query["consumer_secret"]; ck != "" && cs != "" {
			if k, e = keyByCK(ck); e != nil {
				return nil, e
			}
			if !secretsEqual(k.ConsumerSecret, cs) {
				return nil, authErr("Consumer secret is invalid.", 401)
			}
			break
		}
		ck, cs, _ := c.r.BasicAuth()
		unauthorized := &apiError{code: "woocommerce_api_authentication_error", message: "Consumer Secret is invalid.", status: 401, challenge: true}
		if ck == "" || cs == "" {
			return nil, unauthorized
		}
		if k, e = keyByCK(ck); e != nil {
			return nil, e
		}
		if !secretsEqual(k.ConsumerSecret, cs) {
			return nil, unauthorized
		}
	default:
		params, _, missing := c.oauthParams(false)
		if len(missing) > 0 {
			return nil, authErr(missing[0]+" parameter is missing", 404)
		}
		var e *apiError
		if k, e = keyByCK(params["oauth_consumer_key"]); e != nil {
			return nil, e
		}
		rule := OAuthREST
		if version < 3 {
			rule = OAuthLegacyV2
		}
		base := c.homeBase() + c.r.URL.EscapedPath()
		if f := c.s.verifyOAuth(rule, k, c.r.Method, base, params); f != nil {
			return nil, authErr(f.message, f.status)
		}
	}
	u, ok := c.s.user(k.UserID)
	if !ok {
		return nil, authErr("API user is invalid", 401)
	}
	p := &principal{user: u, key: &k}
	if e := c.keyPermission(p, "woocommerce_api_authentication_error"); e != nil {
		return nil, e
	}
	return p, nil
}

// restRoute extracts the REST route of a request: ?rest_route= wins,
// then /wp-json/... or /index.php/wp-json/....
func restRoute(p string, q map[string]string) (string, bool) {
	if rr, ok := q["rest_route"]; ok {
		return "/" + strings.TrimLeft(rr, "/"), true
	}
	for _, prefix := range []string{"/wp-json", "/index.php/wp-json"} {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return "/" + strings.TrimLeft(strings.TrimPrefix(p, prefix), "/"), true
		}
	}
	return "", false
}

// legacyRoute extracts the legacy API version and route: /wc-api/vN/route,
// or ?wc-api-version=N&wc-api-route=/route.
func legacyRoute(p string, q map[string]string) (int, string, bool) {
	if v, ok := q["wc-api-version"]; ok {
		route := q["wc-api-route"]
		if route == "" {
			route = "/"
		}
		var n int
		if _, err := fmt.Sscanf(v, "%d", &n); err != nil || n < 1 || n > 3 {
			return 0, "", false
		}
		return n, route, true
	}
	if !strings.HasPrefix(p, "/wc-api/v") || len(p) < len("/wc-api/v1") {
		return 0, "", false
	}
	n := int(p[len("/wc-api/v")] - '0')
	if n < 1 || n > 3 {
		return 0, "", false
	}
	rest := p[len("/wc-api/v1"):]
	if rest == "" {
		rest = "/"
	}
	if rest[0] != '/' {
		return 0, "", false
	}
	return n, rest, true
}
