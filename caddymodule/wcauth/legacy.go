package wcauth

import (
	"context"
	"net/http"
	"strings"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// authLegacy is WC_API_Authentication::authenticate of legacy v1, v2 and v3
// (woocommerce-legacy-rest-api includes/legacy/api/vN). Unlike REST, missing
// credentials are errors.
func (k *Keys) authLegacy(ctx context.Context, req Request) (*redisstore.APIKey, *Error) {
	// The legacy server reads $_GET as WordPress leaves it: slashed.
	get := slashValues(parsePHPQueryTree(req.HTTP.URL.RawQuery))
	base, serverPath := legacyBaseURI(req, get)
	if serverPath == "/" {
		// The API index needs no authentication.
		return nil, nil
	}
	switch {
	case !req.Secure:
		return k.oauthLegacy(ctx, req, get, base)
	case req.API == LegacyV3:
		return k.sslLegacyV3(ctx, req, get)
	}
	return k.sslLegacyV2(ctx, req, get)
}

// sanitizedValue is sanitize_key(wp_unslash(v)); arrays give "".
func sanitizedValue(v *phpValue) string {
	if v == nil || v.arr != nil {
		return ""
	}
	return sanitizeKey(stripSlashes(v.s))
}

// legacyKey looks a key up and turns "none" into "Consumer key is invalid.".
func (k *Keys) legacyKey(ctx context.Context, api API, consumerKey string) (*redisstore.APIKey, *Error) {
	key, err := k.lookup(ctx, api, consumerKey)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return nil, newErr(api, http.StatusUnauthorized, msgKeyInvalid)
	}
	return key, nil
}

// sslLegacyV3 is legacy v3's perform_ssl_authentication.
func (k *Keys) sslLegacyV3(ctx context.Context, req Request, get *phpArray) (*redisstore.APIKey, *Error) {
	api := req.API
	qk, _ := get.get(phpKey{s: "consumer_key"})
	qs, _ := get.get(phpKey{s: "consumer_secret"})
	if !valueEmpty(qk) && !valueEmpty(qs) {
		key, err := k.legacyKey(ctx, api, sanitizedValue(qk))
		if err != nil {
			return nil, err
		}
		if !secretMatches(key.ConsumerSecret, sanitizedValue(qs)) {
			return nil, newErr(api, http.StatusUnauthorized, msgSecretInvalid)
		}
		return key, nil
	}
	u, p, ok := req.HTTP.BasicAuth()
	if !ok || phpEmpty(u) || phpEmpty(p) {
		return nil, basicChallenge()
	}
	key, err := k.legacyKey(ctx, api, sanitizeKey(u))
	if err != nil {
		return nil, err
	}
	if !secretMatches(key.ConsumerSecret, sanitizeKey(p)) {
		return nil, basicChallenge()
	}
	return key, nil
}

// sslLegacyV2 is legacy v1's and v2's perform_ssl_authentication: the key
// and the secret each come from Basic, else from the query.
func (k *Keys) sslLegacyV2(ctx context.Context, req Request, get *phpArray) (*redisstore.APIKey, *Error) {
	api := req.API
	u, p, _ := req.HTTP.BasicAuth()
	qk, _ := get.get(phpKey{s: "consumer_key"})
	qs, _ := get.get(phpKey{s: "consumer_secret"})
	var ck, cs string
	switch {
	case !phpEmpty(u):
		ck = sanitizeKey(u)
	case !valueEmpty(qk):
		ck = sanitizedValue(qk)
	default:
		return nil, newErr(api, http.StatusNotFound, msgKeyMissing)
	}
	switch {
	case !phpEmpty(p):
		cs = sanitizeKey(p)
	case !valueEmpty(qs):
		cs = sanitizedValue(qs)
	default:
		return nil, newErr(api, http.StatusNotFound, msgSecretMissing)
	}
	key, err := k.legacyKey(ctx, api, ck)
	if err != nil {
		return nil, err
	}
	if !secretMatches(key.ConsumerSecret, cs) {
		return nil, newErr(api, http.StatusUnauthorized, msgSecretInvalid)
	}
	return key, nil
}

// oauthLegacy is the legacy perform_oauth_authentication: parameters from
// the query only, each missing one a 404.
func (k *Keys) oauthLegacy(ctx context.Context, req Request, get *phpArray, base string) (*redisstore.APIKey, *Error) {
	api := req.API
	for _, name := range oauthRequired {
		if v, _ := get.get(phpKey{s: name}); valueEmpty(v) {
			return nil, newErr(api, http.StatusNotFound, name+" parameter is missing")
		}
	}
	ckv, _ := get.get(phpKey{s: "oauth_consumer_key"})
	tsv, _ := get.get(phpKey{s: "oauth_timestamp"})
	nv, _ := get.get(phpKey{s: "oauth_nonce"})
	ck := ""
	if api == LegacyV1 {
		// v1 passes the slashed values through unchanged.
		if ckv.arr == nil {
			ck = ckv.s
		}
	} else {
		ck = sanitizedValue(ckv)
		if tsv.arr == nil {
			tsv = &phpValue{s: sanitizedValue(tsv)}
		}
		if nv.arr == nil {
			nv = &phpValue{s: sanitizedValue(nv)}
		}
	}
	key, err := k.legacyKey(ctx, api, ck)
	if err != nil {
		return nil, err
	}
	scheme := sigLegacyV2
	if api == LegacyV3 {
		scheme = sigLegacyV3
	}
	if err := checkSignature(api, scheme, strings.ToUpper(req.Method), base, get, key.ConsumerSecret); err != nil {
		return nil, err
	}
	tsStatus := http.StatusUnauthorized
	if api == LegacyV1 {
		// v1 throws this one without a code; the server then sends no
		// status of its own and the answer is 200.
		tsStatus = http.StatusOK
	}
	if err := k.checkTimestampAndNonce(ctx, api, key, tsv, nv, tsStatus); err != nil {
		return nil, err
	}
	return key, nil
}
