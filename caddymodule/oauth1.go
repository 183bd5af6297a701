package caddymodule

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// signOAuth1 returns query with the parameters of a one-legged OAuth 1.0a
// HMAC-SHA256 signature added (oauth_consumer_key, oauth_nonce,
// oauth_signature_method, oauth_timestamp, oauth_version,
// oauth_signature), as WooCommerce verifies them over plain HTTP: the base
// string is method, baseURI (scheme://host/path exactly as WordPress sees
// the request, no query) and every query parameter (its last value, as
// PHP's $_GET has it), keyed with "<cs>&". query is not modified.
func signOAuth1(method, baseURI string, query url.Values, ck, cs string, now time.Time) url.Values {
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	params := map[string]string{}
	for k, vs := range query {
		if len(vs) > 0 {
			params[k] = vs[len(vs)-1]
		}
	}
	params["oauth_consumer_key"] = ck
	params["oauth_nonce"] = hex.EncodeToString(nonce)
	params["oauth_signature_method"] = "HMAC-SHA256"
	params["oauth_timestamp"] = strconv.FormatInt(now.Unix(), 10)
	params["oauth_version"] = "1.0"
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
	base := strings.ToUpper(method) + "&" + rawurlencode(baseURI) + "&" + strings.Join(pairs, "%26")
	m := hmac.New(sha256.New, []byte(cs+"&"))
	m.Write([]byte(base))
	out := make(url.Values, len(params)+1)
	for k, v := range params {
		out.Set(k, v)
	}
	out.Set("oauth_signature", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	return out
}

// rawurlencode is PHP's rawurlencode (RFC 3986: unreserved kept).
func rawurlencode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ('a' <= ch && ch <= 'z') || ('A' <= ch && ch <= 'Z') || ('0' <= ch && ch <= '9') ||
			ch == '-' || ch == '_' || ch == '.' || ch == '~' {
			b.WriteByte(ch)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", ch)
	}
	return b.String()
}
