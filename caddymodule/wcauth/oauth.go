package wcauth

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"net/http"
	"sort"
	"strings"
)

// oauthRequired are the OAuth parameters WooCommerce requires, in the order
// it reports them missing.
var oauthRequired = []string{
	"oauth_consumer_key",
	"oauth_timestamp",
	"oauth_nonce",
	"oauth_signature",
	"oauth_signature_method",
}

// parseOAuthHeader is WC_REST_Authentication::parse_header: for a value
// starting with "OAuth " it collects every match of
// /(oauth_[a-z_-]*)=(:?"([^"]*)"|([^,]*))/, url-decoded ('+' as space);
// a quoted value that PHP finds empty ("" or "0") becomes "".
func parseOAuthHeader(h string) *phpArray {
	out := newPHPArray()
	if !strings.HasPrefix(h, "OAuth ") {
		return out
	}
	for i := 0; i < len(h); {
		j := strings.Index(h[i:], "oauth_")
		if j < 0 {
			break
		}
		start := i + j
		p := start + len("oauth_")
		for p < len(h) && ((h[p] >= 'a' && h[p] <= 'z') || h[p] == '_' || h[p] == '-') {
			p++
		}
		if p >= len(h) || h[p] != '=' {
			i = start + 1
			continue
		}
		name := h[start:p]
		p++
		value, end := "", -1
		q := p
		if q < len(h) && h[q] == ':' {
			q++
		}
		if q < len(h) && h[q] == '"' {
			if k := strings.IndexByte(h[q+1:], '"'); k >= 0 {
				if quoted := h[q+1 : q+1+k]; !phpEmpty(quoted) {
					value = quoted
				}
				end = q + 1 + k + 1
			}
		}
		if end < 0 {
			end = p
			for end < len(h) && h[end] != ',' {
				end++
			}
			value = h[p:end]
		}
		out.set(phpKey{s: name}, &phpValue{s: phpURLDecode(value)})
		i = end
	}
	return out
}

// oauthPresence reports which required parameters are missing (PHP empty())
// and whether at least one is present.
func oauthPresence(params *phpArray) (missing []string, haveOne bool) {
	for _, name := range oauthRequired {
		v, _ := params.get(phpKey{s: name})
		if valueEmpty(v) {
			missing = append(missing, name)
			continue
		}
		haveOne = true
	}
	return missing, haveOne
}

// sigScheme is one of WooCommerce's three ways to build the string to sign.
type sigScheme int

const (
	sigREST     sigScheme = iota // WC_REST_Authentication (trunk)
	sigLegacyV3                  // legacy v3
	sigLegacyV2                  // legacy v1 and v2
)

// encodeTwice is the legacy urlencode_rfc3986:
// str_replace('%', '%25', rawurlencode(rawurldecode(s))).
func encodeTwice(s string) string {
	return strings.ReplaceAll(phpRawURLEncode(phpRawURLDecode(s)), "%", "%25")
}

// sortedByKey returns a's entries sorted by strcmp on the key (uksort).
func sortedByKey(a *phpArray) []phpEntry {
	out := append([]phpEntry(nil), a.entries...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].key.String() < out[j].key.String() })
	return out
}

// mapValues applies f to every string of v, keeping array keys.
func mapValues(v *phpValue, f func(string) string) *phpValue {
	if v.arr == nil {
		return &phpValue{s: f(v.s)}
	}
	a := newPHPArray()
	for _, e := range v.arr.entries {
		a.set(e.key, mapValues(e.val, f))
	}
	return &phpValue{arr: a}
}

// stringToSign builds WooCommerce's string to sign from params (which must
// not hold oauth_signature) and returns it with the normalised
// oauth_signature_method. ok is false where PHP would stop with a fatal
// error (arrays the legacy v1/v2 normaliser cannot handle).
func stringToSign(scheme sigScheme, method, baseURI string, params *phpArray) (base, sigMethod string, ok bool) {
	var pieces []string
	normalized := newPHPArray()
	switch scheme {
	case sigREST:
		for _, e := range sortedByKey(params) {
			normalized.set(symKey(phpRawURLEncode(e.key.String())), mapValues(e.val, phpRawURLEncode))
		}
		pieces = joinREST(normalized.entries, "", nil)
	case sigLegacyV3:
		for _, e := range sortedByKey(params) {
			normalized.set(symKey(encodeTwice(e.key.String())), mapValues(e.val, encodeTwice))
		}
		for _, e := range normalized.entries {
			if e.val.arr == nil {
				pieces = append(pieces, e.key.String()+"%3D"+e.val.s)
				continue
			}
			for _, in := range e.val.arr.entries {
				v := in.val.s
				if in.val.arr != nil {
					v = "Array"
				}
				pieces = append(pieces, e.key.String()+"%255B"+in.key.String()+"%255D%3D"+v)
			}
		}
	case sigLegacyV2:
		flat := params.clone()
		if f, found := flat.get(phpKey{s: "filter"}); found {
			flat.del(phpKey{s: "filter"})
			if f.arr != nil {
				for _, e := range f.arr.entries {
					flat.set(symKey("filter["+e.key.String()+"]"), e.val)
				}
			}
		}
		for _, e := range flat.entries {
			if e.val.arr != nil {
				return "", "", false
			}
			normalized.set(symKey(encodeTwice(e.key.String())), &phpValue{s: encodeTwice(e.val.s)})
		}
		for _, e := range sortedByKey(normalized) {
			pieces = append(pieces, e.key.String()+"%3D"+e.val.s)
		}
	}
	if v, found := normalized.get(phpKey{s: "oauth_signature_method"}); found && v.arr == nil {
		sigMethod = v.s
	}
	return method + "&" + phpRawURLEncode(baseURI) + "&" + strings.Join(pieces, "%26"), sigMethod, true
}

// joinREST is WC_REST_Authentication::join_with_equals_sign.
func joinREST(entries []phpEntry, key string, out []string) []string {
	for _, e := range entries {
		pk := e.key.String()
		if phpTruthy(key) {
			pk = key + "%5B" + pk + "%5D"
		}
		if e.val.arr != nil {
			out = joinREST(e.val.arr.entries, pk, out)
			continue
		}
		out = append(out, phpRawURLEncode(pk+"="+e.val.s))
	}
	return out
}

// checkSignature verifies params["oauth_signature"] as WooCommerce does for
// scheme; REST and legacy v3 key the HMAC with secret+"&", legacy v1/v2
// with the bare secret. It returns nil when the signature matches.
func checkSignature(api API, scheme sigScheme, method, baseURI string, params *phpArray, secret string) *Error {
	sigValue, _ := params.get(phpKey{s: "oauth_signature"})
	rest := params.clone()
	rest.del(phpKey{s: "oauth_signature"})
	base, sigMethod, ok := stringToSign(scheme, method, baseURI, rest)
	if !ok {
		return newErr(api, http.StatusUnauthorized, msgSigMismatch)
	}
	var h func() hash.Hash
	switch sigMethod {
	case "HMAC-SHA1":
		h = sha1.New
	case "HMAC-SHA256":
		h = sha256.New
	default:
		return newErr(api, http.StatusUnauthorized, msgSigMethodInvalid)
	}
	if sigValue == nil || sigValue.arr != nil {
		return newErr(api, http.StatusUnauthorized, msgSigMismatch)
	}
	key := secret
	if scheme != sigLegacyV2 {
		key += "&"
	}
	mac := hmac.New(h, []byte(key))
	mac.Write([]byte(base))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	got := phpRawURLDecode(strings.ReplaceAll(sigValue.s, " ", "+"))
	if subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return newErr(api, http.StatusUnauthorized, msgSigMismatch)
	}
	return nil
}
