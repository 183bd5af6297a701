package wcauth

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"
)

// restAfterPermission are the codes WooCommerce's REST webhook handlers
// emit only after the permission check passed.
var restAfterPermission = map[string]bool{
	"woocommerce_rest_shop_webhook_exists":     true,
	"woocommerce_rest_shop_webhook_invalid_id": true,
	"woocommerce_rest_trash_not_supported":     true,
	"woocommerce_rest_webhook_invalid_id":      true,
	"woocommerce_rest_invalid_id":              true,
}

// legacyAfterPermission are the legacy codes emitted only after
// manage_woocommerce was checked.
var legacyAfterPermission = map[string]bool{
	"woocommerce_api_invalid_webhook_topic":       true,
	"woocommerce_api_invalid_webhook_delivery_id": true,
}

// unverifiable is the error for an OAuth request that cannot be probed
// without changing what it signs or what it does.
func unverifiable(api API) *Error {
	return newErr(api, http.StatusUnauthorized, msgUnverifiableOAuth)
}

// authOAuth replays an OAuth request to the site with a neutral body and
// judges the answer. It is never cached.
func (u *Upstream) authOAuth(ctx context.Context, req Request, get *phpArray) Verdict {
	if req.Upstream == nil {
		return Verdict{}
	}
	r := req.HTTP
	route := oauthRoute(req, get)
	// The body follows the effective method: WordPress and the legacy
	// server honour _method and X-HTTP-Method-Override even on GET.
	body := ""
	switch {
	case req.API == REST && isFormPost(r):
		// The form body is signed: it cannot be replaced.
		return Verdict{Err: unverifiable(req.API)}
	case req.API == REST && isWriteMethod(req.Method) && req.Method != http.MethodOptions:
		body = bodyRESTNeutral
		if strings.HasSuffix(strings.TrimRight(route, "/"), "/webhooks/batch") {
			body = bodyRESTBatch
		}
	case req.API != REST && req.Method == http.MethodPost && isLegacyList(route):
		body = bodyLegacyCreate
	case req.API != REST && isWriteMethod(req.Method):
		// Only a legacy create proves anything without side effects.
		return Verdict{Err: unverifiable(req.API)}
	}
	p, err := newProbe(ctx, req, r.Method, clientTarget(r), body, collectMaterial(req, get))
	if err != nil {
		u.logger().Error("wcauth: build oauth probe", zap.Error(err))
		return unavailable(req.API)
	}
	if v := r.Header.Get("X-HTTP-Method-Override"); v != "" {
		p.Header.Set("X-HTTP-Method-Override", v)
	}
	ans, ok := u.send(req, p)
	if !ok {
		return unavailable(req.API)
	}
	if e := ans.authError(); e != nil {
		return Verdict{Err: e}
	}
	if oauthProves(req, route, ans) {
		return Verdict{Authenticated: true, CanManage: true}
	}
	if ans.status != http.StatusUnauthorized && ans.status != http.StatusForbidden {
		// The signature passed but the answer proves nothing about the
		// right to manage webhooks (a legacy list, a legacy id WordPress
		// does not have, a route WooCommerce lacks): say so rather than
		// answer as if the user lacked the right.
		return Verdict{Err: unverifiable(req.API)}
	}
	return ans.denial(req.API)
}

// oauthProves reports whether the answer to a replayed request proves the
// right to manage webhooks.
func oauthProves(req Request, route string, ans answer) bool {
	ok2xx := ans.status >= 200 && ans.status < 300
	if req.API == REST {
		if req.Method == http.MethodOptions {
			return false
		}
		return ok2xx || ((ans.status == 400 || ans.status == 404 || ans.status == 501) && restAfterPermission[ans.code])
	}
	if req.API == LegacyV1 {
		return false
	}
	if ok2xx {
		// The legacy list answers 200 to any authenticated key.
		return !isLegacyList(route) && (req.Method == http.MethodGet || req.Method == http.MethodHead)
	}
	return (ans.status == 400 || ans.status == 404) && legacyAfterPermission[ans.code]
}

// isLegacyList reports whether a legacy server path is the webhooks list
// (the route regexes are case-insensitive).
func isLegacyList(route string) bool {
	return strings.EqualFold(route, "/webhooks")
}

// oauthRoute is the route the request addresses: the REST route after
// /wc/vN (from the path or rest_route), or the legacy server path.
func oauthRoute(req Request, get *phpArray) string {
	if req.API != REST {
		path, _ := legacyServerPath(req, get)
		return path
	}
	route := req.HTTP.URL.Path
	if rr, ok := get.str("rest_route"); ok {
		route = rr
	}
	if i := strings.Index(route, "/wc/v"); i >= 0 {
		route = route[i+len("/wc/v"):]
		if j := strings.IndexByte(route, '/'); j >= 0 {
			return route[j:]
		}
		return ""
	}
	return route
}

// clientTarget is the client's request target (escaped path and query) as
// sent.
func clientTarget(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") && !strings.HasPrefix(r.RequestURI, "//") {
		if i := strings.IndexByte(r.RequestURI, '#'); i >= 0 {
			return r.RequestURI[:i]
		}
		return r.RequestURI
	}
	u := url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	return u.RequestURI()
}
