package wcapi

import (
	"net/http"
	"net/url"
	"strings"
)

// target is where an API request is addressed: which API and version, and
// the route below the namespace ("/webhooks/5").
type target struct {
	own      bool // this module's wc-webhooks/v1 namespace
	legacy   bool
	version  int    // 1, 2 or 3
	route    string // below /wc/vN or /wc-api/vN
	viaQuery bool   // ?rest_route= or ?wc-api-route=
}

// Match reports whether r addresses a webhooks route this API answers. It
// follows WordPress's own routing: a rest_route (or wc-api-route) query
// parameter on any path wins over the path; otherwise /wp-json/... (also
// after /index.php and extra leading slashes) and /wc-api/vN/...; the
// route below the namespace is matched case-insensitively. Requests
// without such a prefix or query parameter cost a prefix check and no
// allocation.
func (a *API) Match(r *http.Request) bool {
	return Match(r)
}

// Match is the request test behind (*API).Match.
func Match(r *http.Request) bool {
	_, ok := resolve(r)
	return ok
}

// resolve works out the target of r, or false when r is not addressed to
// the webhooks routes.
func resolve(r *http.Request) (target, bool) {
	if raw := r.URL.RawQuery; raw != "" && (strings.Contains(raw, "rest_route=") || strings.Contains(raw, "wc-api-route=")) {
		if t, decided, ok := resolveQuery(r.URL.RawQuery); decided {
			return t, ok
		}
	}
	path := r.URL.Path
	if len(path) < 2 || path[0] != '/' {
		return target{}, false
	}
	if path[1] != 'w' && path[1] != 'i' && path[1] != '/' {
		return target{}, false
	}
	path = strings.TrimLeft(path, "/")
	path = strings.TrimPrefix(path, "index.php/")
	if rest, ok := strings.CutPrefix(path, "wp-json/"); ok {
		return restTarget("/"+rest, false)
	}
	if rest, ok := strings.CutPrefix(path, "wc-api/v"); ok {
		return legacyTarget(rest, false)
	}
	return target{}, false
}

// resolveQuery reads rest_route and wc-api-version/wc-api-route. decided is
// false when neither parameter is really present, so the path decides.
func resolveQuery(raw string) (t target, decided, ok bool) {
	q, _ := url.ParseQuery(raw)
	if v, present := q["rest_route"]; present && len(v) > 0 {
		t, ok = restTarget(v[len(v)-1], true)
		return t, true, ok
	}
	if v, present := q["wc-api-route"]; present && len(v) > 0 {
		t, ok = legacyTarget(q.Get("wc-api-version")+v[len(v)-1], true)
		return t, true, ok
	}
	return target{}, false, false
}

// ownNamespace holds this module's own routes (events, redelivery).
const ownNamespace = "/wc-webhooks/v1"

// restTarget accepts a REST route "/wc/vN/webhook(s)..." or one in this
// module's namespace (case-insensitive, as WordPress matches routes).
func restTarget(route string, viaQuery bool) (target, bool) {
	route = "/" + strings.TrimLeft(route, "/")
	if len(route) > len(ownNamespace) && strings.EqualFold(route[:len(ownNamespace)], ownNamespace) && route[len(ownNamespace)] == '/' {
		return target{own: true, version: 1, route: route[len(ownNamespace):], viaQuery: viaQuery}, true
	}
	if len(route) < len("/wc/v1/webhook") || !strings.EqualFold(route[:len("/wc/v")], "/wc/v") {
		return target{}, false
	}
	return versioned(route[len("/wc/v"):], false, viaQuery)
}

// legacyTarget accepts "<N>/webhook(s)..." below /wc-api/v.
func legacyTarget(rest string, viaQuery bool) (target, bool) {
	return versioned(rest, true, viaQuery)
}

// versioned accepts "<1-3>/webhooks...", "<1-3>/webhook/...".
func versioned(rest string, legacy, viaQuery bool) (target, bool) {
	if len(rest) < 2 || rest[0] < '1' || rest[0] > '3' || rest[1] != '/' {
		return target{}, false
	}
	route := rest[1:]
	if !webhooksTail(route) {
		return target{}, false
	}
	return target{legacy: legacy, version: int(rest[0] - '0'), route: route, viaQuery: viaQuery}, true
}

// webhooksTail accepts "/webhooks", "/webhooks/..." and "/webhook/...",
// case-insensitively.
func webhooksTail(p string) bool {
	const plural, singular = "/webhooks", "/webhook/"
	if len(p) >= len(plural) && strings.EqualFold(p[:len(plural)], plural) {
		rest := p[len(plural):]
		return rest == "" || rest[0] == '/'
	}
	return len(p) > len(singular) && strings.EqualFold(p[:len(singular)], singular)
}
