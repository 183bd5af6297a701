package caddymodule

import (
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

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcevents"
)

// eventsUserAgent identifies the module's resource reads in the site's logs.
const eventsUserAgent = "caddy-wc-webhooks events"

// serviceReader implements wcevents.Reader: it reads a resource from
// WordPress through the rest of the route (as the auth probes do) with the
// handler's service key over Basic auth. The read is marked as arriving
// over HTTPS (X-Forwarded-Proto: https), as WooCommerce accepts Basic auth
// only then; it travels the same hop as the client's own request.
type serviceReader struct {
	prober *nextProber
	ck, cs string
	base   string // the site's path, "/" at the root
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://localhost"+s.base+"?"+query, nil)
	if err != nil {
		return nil, fmt.Errorf("building read: %w", err)
	}
	req.Host = ""
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", eventsUserAgent)
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(s.ck+":"+s.cs)))
	req.TLS = &tls.ConnectionState{} // reverse_proxy then sends X-Forwarded-Proto: https
	res, err := s.prober.Probe(ctx, req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", route, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading %s: status %d", route, res.StatusCode)
	}
	if enc := res.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return nil, fmt.Errorf("reading %s: unexpected content encoding %q", route, enc)
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "" && mt != "application/json" {
		return nil, fmt.Errorf("reading %s: content type %q", route, mt)
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("reading %s: the answer is not complete JSON", route)
	}
	return body, nil
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
