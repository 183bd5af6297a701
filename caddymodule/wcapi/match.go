package wcapi

import (
	"net/http"
	"strings"
)

// Match reports whether r addresses a webhooks route this API answers:
// /wc-api/v1|v2|v3/webhook(s)..., /wp-json/wc/v1|v2|v3/webhook(s)...,
// ?rest_route=/wc/vN/webhook(s)... and ?wc-api-version=N&wc-api-route=/webhooks....
// It only looks at the path and, when the path is the site root or
// index.php, at the raw query, so it costs nothing measurable.
func (a *API) Match(r *http.Request) bool {
	return Match(r)
}

// Match is the request test behind (*API).Match.
func Match(r *http.Request) bool {
	path := r.URL.Path
	if rest, ok := strings.CutPrefix(path, "/wp-json/wc/v"); ok {
		return versionedWebhooksPath(rest)
	}
	if rest, ok := strings.CutPrefix(path, "/wc-api/v"); ok {
		return versionedWebhooksPath(rest)
	}
	if path != "/" && path != "/index.php" && path != "" {
		return false
	}
	raw := r.URL.RawQuery
	if raw == "" {
		return false
	}
	if strings.Contains(raw, "rest_route=") {
		route, ok := restRouteParam(r)
		if !ok {
			return false
		}
		rest, ok := strings.CutPrefix(route, "/wc/v")
		return ok && versionedWebhooksPath(rest)
	}
	if strings.Contains(raw, "wc-api-route=") {
		q := r.URL.Query()
		v := q.Get("wc-api-version")
		return len(v) == 1 && v[0] >= '1' && v[0] <= '3' && webhooksTail(q.Get("wc-api-route"))
	}
	return false
}

// versionedWebhooksPath accepts "<digit>/webhooks..." and "<digit>/webhook/..."
// for versions 1 to 3.
func versionedWebhooksPath(rest string) bool {
	if len(rest) < 2 || rest[0] < '1' || rest[0] > '3' || rest[1] != '/' {
		return false
	}
	return webhooksTail(rest[1:])
}

// webhooksTail accepts "/webhooks", "/webhooks/..." and "/webhook/...".
func webhooksTail(p string) bool {
	if rest, ok := strings.CutPrefix(p, "/webhooks"); ok {
		return rest == "" || rest[0] == '/'
	}
	rest, ok := strings.CutPrefix(p, "/webhook/")
	return ok && rest != ""
}

// restRouteParam returns the rest_route query value as WordPress reads it.
func restRouteParam(r *http.Request) (string, bool) {
	q := r.URL.Query()
	v, ok := q["rest_route"]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}
