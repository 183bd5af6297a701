package standin

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// OAuthParams are the client-side inputs of one signed request.
type OAuthParams struct {
	ConsumerKey     string
	ConsumerSecret  string
	SignatureMethod string // default "HMAC-SHA256"
	Nonce           string // default: random
	Timestamp       int64  // Unix seconds; required
	Rule            OAuthRule
}

// SignURL returns rawURL with the oauth_* parameters of a one-legged OAuth
// 1.0a signature added to its query string, as WooCommerce's clients send
// them. The signature covers method, the URL without its query, and every
// query parameter (one value per key).
func SignURL(method, rawURL string, p OAuthParams) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("parse url: %w", err)
	}
	if p.SignatureMethod == "" {
		p.SignatureMethod = "HMAC-SHA256"
	}
	if p.Nonce == "" {
		p.Nonce = randomHex(16)
	}
	params := phpQuery(u.RawQuery)
	params["oauth_consumer_key"] = p.ConsumerKey
	params["oauth_nonce"] = p.Nonce
	params["oauth_signature_method"] = p.SignatureMethod
	params["oauth_timestamp"] = strconv.FormatInt(p.Timestamp, 10)
	params["oauth_version"] = "1.0"
	base := u.Scheme + "://" + u.Host + u.EscapedPath()
	sig, ok := Sign(p.Rule, p.SignatureMethod, p.ConsumerSecret, BaseString(method, base, params))
	if !ok {
		sig = "unsupported"
	}
	var q []string
	if u.RawQuery != "" {
		q = append(q, u.RawQuery)
	}
	for _, k := range []string{"oauth_consumer_key", "oauth_nonce", "oauth_signature_method", "oauth_timestamp", "oauth_version"} {
		q = append(q, k+"="+rawurlencode(params[k]))
	}
	q = append(q, "oauth_signature="+rawurlencode(sig))
	u.RawQuery = strings.Join(q, "&")
	return u.String(), nil
}
