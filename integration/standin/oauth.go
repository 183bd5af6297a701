package standin

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// oauthParamNames are the parameters WooCommerce requires, in its order.
var oauthParamNames = []string{
	"oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature", "oauth_signature_method",
}

// OAuthRule selects how a base string is normalised and keyed.
type OAuthRule int

// The OAuth rules of the WooCommerce APIs.
const (
	// OAuthREST is WP REST and legacy v3: standard OAuth 1.0a, key "cs&".
	OAuthREST OAuthRule = iota
	// OAuthLegacyV2 is legacy v1/v2: same normalisation for flat
	// parameters, HMAC keyed with the bare consumer secret.
	OAuthLegacyV2
)

// rawurlencode is PHP's rawurlencode (RFC 3986: unreserved characters kept).
func rawurlencode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
			c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(c)|0x100, 16)[1:]))
	}
	return b.String()
}

// BaseString builds the OAuth 1.0a signature base string WooCommerce
// verifies: METHOD & enc(baseURI) & enc(sorted k=v pairs joined by &).
// params must not contain oauth_signature.
func BaseString(method, baseURI string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	enc := make(map[string]string, len(params))
	for k, v := range params {
		ek := rawurlencode(k)
		keys = append(keys, ek)
		enc[ek] = rawurlencode(v)
	}
	sort.Strings(keys)
	pairs := make([]string, 0, len(keys))
	for _, k := range keys {
		pairs = append(pairs, rawurlencode(k+"="+enc[k]))
	}
	return strings.ToUpper(method) + "&" + rawurlencode(baseURI) + "&" + strings.Join(pairs, "%26")
}

// Sign returns the base64 HMAC of base under the consumer secret, for
// signature method "HMAC-SHA1" or "HMAC-SHA256", keyed as rule says.
// ok is false for any other method.
func Sign(rule OAuthRule, signatureMethod, consumerSecret, base string) (sig string, ok bool) {
	var h func() hash.Hash
	switch signatureMethod {
	case "HMAC-SHA1":
		h = sha1.New
	case "HMAC-SHA256":
		h = sha256.New
	default:
		return "", false
	}
	key := consumerSecret + "&"
	if rule == OAuthLegacyV2 {
		key = consumerSecret
	}
	m := hmac.New(h, []byte(key))
	m.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(m.Sum(nil)), true
}

// oauthFailure is an OAuth verification failure: the WooCommerce message
// and the HTTP status.
type oauthFailure struct {
	message string
	status  int
}

// verifyOAuth checks params (which hold every oauth_* parameter) against
// the key: signature, then timestamp (now ± 900 s), then nonce.
func (s *Server) verifyOAuth(rule OAuthRule, k Key, method, baseURI string, params map[string]string) *oauthFailure {
	provided, _ := url.PathUnescape(strings.ReplaceAll(params["oauth_signature"], " ", "+"))
	signed := make(map[string]string, len(params))
	for name, v := range params {
		if name != "oauth_signature" {
			signed[name] = v
		}
	}
	want, ok := Sign(rule, params["oauth_signature_method"], k.ConsumerSecret, BaseString(method, baseURI, signed))
	if !ok {
		return &oauthFailure{"Invalid signature - signature method is invalid.", 401}
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(provided)) != 1 {
		return &oauthFailure{"Invalid signature - provided signature does not match.", 401}
	}
	ts, err := strconv.ParseInt(params["oauth_timestamp"], 10, 64)
	now := s.Now().Unix()
	if err != nil || ts < now-900 || ts > now+900 {
		return &oauthFailure{"Invalid timestamp.", 401}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	used := s.nonces[k.ConsumerKey]
	if used == nil {
		used = map[string]string{}
		s.nonces[k.ConsumerKey] = used
	}
	for _, n := range used {
		if n == params["oauth_nonce"] {
			return &oauthFailure{"Invalid nonce - nonce has already been used.", 401}
		}
	}
	used[params["oauth_timestamp"]] = params["oauth_nonce"]
	for t := range used {
		if v, err := strconv.ParseInt(t, 10, 64); err == nil && v < now-900 {
			delete(used, t)
		}
	}
	return nil
}

// parseOAuthHeader reads the oauth_* pairs of an "Authorization: OAuth ..."
// header, url-decoded.
func parseOAuthHeader(h string) map[string]string {
	out := map[string]string{}
	if len(h) < 6 || !strings.EqualFold(h[:6], "oauth ") {
		return out
	}
	for _, part := range strings.Split(h[6:], ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !strings.HasPrefix(k, "oauth_") {
			continue
		}
		v = strings.Trim(v, `"`)
		if d, err := url.PathUnescape(v); err == nil {
			v = d
		}
		out[k] = v
	}
	return out
}
