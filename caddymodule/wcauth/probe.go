package wcauth

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// Probe bodies.
const (
	bodyRESTBatch    = `{}`
	bodyRESTNeutral  = `{"id":-1,"topic":"","delivery_url":"","force":false}`
	bodyLegacyCreate = `{"webhook":{}}`
)

// probeUserAgent identifies probes in the site's logs.
const probeUserAgent = "caddy-wc-webhooks auth probe"

// maxProbeBody caps how much of a probe's answer is read (64 KiB).
const maxProbeBody = 64 << 10

// sitePath is the home URL's path with a trailing slash ("/" at the root).
func sitePath(req Request) string {
	if hp := homePath(req); hp != "" {
		return "/" + hp + "/"
	}
	return "/"
}

// newProbe builds a probe request to target (an escaped path and query)
// on the client's host, with the client's credential headers.
func newProbe(ctx context.Context, req Request, method, target, body string, m material) (*http.Request, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	host := req.HTTP.Host
	if host == "" {
		host = "localhost"
	}
	p, err := http.NewRequestWithContext(ctx, method, "http://"+host+target, rd)
	if err != nil {
		return nil, err
	}
	p.Host = req.HTTP.Host
	p.Header.Set("Accept", "application/json")
	p.Header.Set("User-Agent", probeUserAgent)
	if body != "" {
		p.Header.Set("Content-Type", "application/json")
	}
	proto := "http"
	if req.Secure {
		proto = "https"
	}
	p.Header.Set("X-Forwarded-Proto", proto)
	if m.authorization != "" {
		p.Header.Set("Authorization", m.authorization)
	}
	if m.nonceHeader != "" {
		p.Header.Set("X-WP-Nonce", m.nonceHeader)
	}
	if len(m.cookies) > 0 {
		p.Header.Set("Cookie", strings.Join(m.cookies, "; "))
	}
	return p, nil
}

// credentialQuery encodes the client's credential query values.
func credentialQuery(m material) string {
	var parts []string
	for _, q := range m.query {
		parts = append(parts, url.QueryEscape(q[0])+"="+url.QueryEscape(q[1]))
	}
	return strings.Join(parts, "&")
}

func joinQuery(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "&" + b
}

// expectation is the answer that proves the right to manage webhooks.
type expectation struct {
	status int
	code   string // required error code, "" for none
}

// probeCredentials sends the credential probe for req and judges it. It
// returns whether the verdict may be cached.
func (u *Upstream) probeCredentials(ctx context.Context, req Request, get *phpArray, m material, write bool) (Verdict, bool) {
	method, path, query, body := http.MethodGet, sitePath(req), "", ""
	want := expectation{status: http.StatusOK}
	switch {
	case req.API == REST && !write:
		query = "rest_route=/wc/v3/webhooks&per_page=1&_fields=id"
	case req.API == REST:
		method, query, body = http.MethodPost, "rest_route=/wc/v3/webhooks/batch", bodyRESTBatch
	default:
		version, route := legacyVersion(req.API), "/webhooks/count"
		if req.API == LegacyV1 {
			version = 3
		} else if write {
			method, route, body = http.MethodPost, "/webhooks", bodyLegacyCreate
			want = expectation{status: http.StatusBadRequest, code: "woocommerce_api_invalid_webhook_topic"}
		}
		if _, pretty := legacyServerPath(req, get); pretty {
			path += "wc-api/v" + strconv.Itoa(version) + route
		} else {
			query = "wc-api-version=" + strconv.Itoa(version) + "&wc-api-route=" + url.QueryEscape(route)
		}
	}
	target := (&url.URL{Path: path}).EscapedPath()
	if q := joinQuery(query, credentialQuery(m)); q != "" {
		target += "?" + q
	}
	p, err := newProbe(ctx, req, method, target, body, m)
	if err != nil {
		u.logger().Error("wcauth: build probe", zap.Error(err))
		return unavailable(req.API), false
	}
	ans, ok := u.send(req, p)
	if !ok {
		return unavailable(req.API), false
	}
	if e := ans.authError(); e != nil {
		return Verdict{Err: e}, true
	}
	if ans.status == want.status && (want.code == "" || ans.code == want.code) {
		return Verdict{Authenticated: true, CanManage: true}, true
	}
	return ans.denial(req.API), true
}

// unavailable is the verdict when the site cannot be asked.
func unavailable(api API) Verdict {
	return Verdict{Err: newErr(api, http.StatusServiceUnavailable, msgUpstreamUnavailable)}
}

// answer is what a probe got back.
type answer struct {
	status  int
	code    string
	message string
	header  http.Header
}

// send runs the probe; ok is false for transport errors, redirects and
// 5xx answers (but for a 501 carrying an error code).
func (u *Upstream) send(req Request, p *http.Request) (answer, bool) {
	resp, err := req.Upstream.Probe(p.Context(), p)
	if err != nil {
		u.logger().Warn("wcauth: upstream probe failed", zap.String("path", p.URL.Path), zap.Error(err))
		return answer{}, false
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	a := answer{status: resp.StatusCode, header: resp.Header}
	a.code, a.message = errorCode(raw)
	// 501 with a code is WooCommerce's "trash not supported", an answer.
	bad := resp.StatusCode >= 500 && !(resp.StatusCode == http.StatusNotImplemented && a.code != "")
	if bad || (resp.StatusCode >= 300 && resp.StatusCode < 400) {
		u.logger().Warn("wcauth: upstream probe answered badly", zap.String("path", p.URL.Path), zap.Int("status", resp.StatusCode))
		return answer{}, false
	}
	return a, true
}

// errorCode reads the code and message of a WordPress REST error
// ({"code":..,"message":..}) or a legacy one ({"errors":[{..}]} or
// {"errors":{..}}).
func errorCode(raw []byte) (code, message string) {
	type item struct {
		Code    any `json:"code"`
		Message any `json:"message"`
	}
	var body struct {
		item
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(raw, &body) != nil {
		return "", ""
	}
	it := body.item
	if len(body.Errors) > 0 {
		var list []item
		if json.Unmarshal(body.Errors, &list) == nil && len(list) > 0 {
			it = list[0]
		} else {
			_ = json.Unmarshal(body.Errors, &it)
		}
	}
	code, _ = it.Code.(string)
	message, _ = it.Message.(string)
	return code, message
}

// authErrorCodes are the codes relayed as authentication errors.
var authErrorCodes = map[string]bool{
	CodeRESTAuth:                              true,
	CodeLegacyAuth:                            true,
	CodeRESTMissingParameter:                  true,
	"incorrect_password":                      true,
	"invalid_username":                        true,
	"invalid_email":                           true,
	"application_passwords_disabled":          true,
	"application_passwords_disabled_for_user": true,
	"rest_cookie_invalid_nonce":               true,
}

// authError is the relayed authentication error, if the answer is one.
func (a answer) authError() *Error {
	if !authErrorCodes[a.code] {
		return nil
	}
	e := &Error{Code: a.code, Message: a.message, Status: a.status}
	if v := a.header.Values("Www-Authenticate"); len(v) > 0 {
		e.Header = http.Header{"Www-Authenticate": append([]string(nil), v...)}
	}
	return e
}

// denial is the verdict for an answer that proves nothing. REST tells
// "logged in" by 403. The legacy server authenticates before anything else,
// so any legacy error of its own (other than "API disabled", which comes
// first) means authentication passed.
func (a answer) denial(api API) Verdict {
	if api == REST {
		return Verdict{Authenticated: a.status == http.StatusForbidden}
	}
	passed := strings.HasPrefix(a.code, "woocommerce_api_") && a.code != "woocommerce_api_disabled"
	return Verdict{Authenticated: passed}
}

// isFormPost reports a POST with a urlencoded body that PHP would parse.
func isFormPost(r *http.Request) bool {
	if r.Method != http.MethodPost || r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}
