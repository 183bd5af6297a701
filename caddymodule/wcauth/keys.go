package wcauth

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// KeyStore holds a site's WooCommerce API keys and remembers OAuth nonces;
// *redisstore.Site implements it.
type KeyStore interface {
	// LookupAPIKey finds a key by its consumer key (the store hashes it as
	// WooCommerce does); redisstore.ErrNotFound when there is none.
	LookupAPIKey(ctx context.Context, consumerKey string) (*redisstore.APIKey, error)
	// UseNonce records nonce for key keyID and reports whether it was fresh
	// (not seen within ttl).
	UseNonce(ctx context.Context, keyID int64, timestamp int64, nonce string, ttl time.Duration) (bool, error)
}

// OAuthWindow is WooCommerce's OAuth timestamp window: a request's
// oauth_timestamp must lie within now ± 15 minutes.
const OAuthWindow = 15 * time.Minute

// nonceMargin is added to how long a nonce is remembered, for clock skew.
const nonceMargin = time.Minute

// Keys authenticates requests against API keys held in a KeyStore (the
// `auth keys` mode), exactly as WooCommerce does for each API:
//
// WP REST (WC_REST_Authentication):
//   - over HTTPS, the query's consumer_key and consumer_secret when both
//     are non-empty, else HTTP Basic. An unknown key is not an error: the
//     request goes on to OAuth and, without OAuth parameters, stays
//     unauthenticated (Verdict{}). A wrong secret gives "Consumer secret is
//     invalid." 401 (secrets are compared in constant time).
//   - OAuth 1.0a (over HTTP, and over HTTPS when Basic did not authenticate):
//     parameters from the query, the urlencoded form body of a POST (read
//     and put back, up to 1 MiB) and an "Authorization: OAuth" header (its
//     oauth_* values win). No OAuth parameter at all: OAuth is not tried.
//     Some missing: woocommerce_rest_authentication_missing_parameter
//     "Missing OAuth parameter(s) ..." 401. Then "Consumer key is invalid.",
//     "Invalid signature - signature method is invalid." (HMAC-SHA1 and
//     HMAC-SHA256 are accepted), "Invalid signature - provided signature
//     does not match.", "Invalid timestamp." (±15 minutes) and "Invalid
//     nonce - nonce has already been used.", all 401. The string to sign is
//     the real request method, the home URL's host with http or https and
//     the request path, and the sorted, encoded parameters (nested arrays
//     as key%5Bsub%5D); the HMAC key is secret+"&".
//   - if Basic failed with a wrong secret, that error stands even when
//     OAuth then succeeds (WooCommerce keeps the first error).
//   - key permissions by Request.Method: GET/HEAD need read or read_write,
//     POST/PUT/PATCH/DELETE write or read_write, OPTIONS passes, anything
//     else is "Unknown request method."; all 401.
//
// Legacy v3: over HTTPS the query's consumer_key and consumer_secret when
// both are present, else HTTP Basic, which is required: missing or wrong
// Basic credentials give "Consumer Secret is invalid." 401 with
// WWW-Authenticate: Basic realm="WooCommerce API. ..."; an unknown key gives
// "Consumer key is invalid." 401. Over HTTP, OAuth 1.0a from the query only:
// a missing parameter gives "<name> parameter is missing" with status 404;
// the base URI is home + "/wc-api/v3" + route (+ "/" when the path ended
// with one); the key is secret+"&".
//
// Legacy v2 and v1: over HTTPS the consumer key comes from Basic, else the
// query ("Consumer key is missing." 404), then the secret likewise
// ("Consumer secret is missing." 404); a wrong secret gives "Consumer
// secret is invalid." 401. OAuth as v3 but with v2's normalisation
// (filter[...] flattened, keys and values re-encoded, sorted after
// encoding) and the bare secret as HMAC key. Legacy v1 does not clean the
// key, timestamp and nonce first, and its "Invalid timestamp." carries no
// status, so WooCommerce answers it with 200.
//
// Legacy key permissions are as REST's except that methods other than
// GET/HEAD/POST/PUT/PATCH/DELETE pass. Legacy codes are
// woocommerce_api_authentication_error; REST's are
// woocommerce_rest_authentication_error. Credentials and query values pass
// through the same PHP and WordPress transformations as in WooCommerce
// ($_GET parsing, wp_magic_quotes slashes, sanitize_key,
// sanitize_text_field), so keys that work there work here and vice versa.
//
// On success the verdict is Authenticated and CanManage with the key's user
// id: keys held in the store are taken to belong to users with
// manage_woocommerce. Differences from WooCommerce: nonces are remembered
// individually (WooCommerce keeps one per timestamp), "API user is invalid"
// (deleted users) cannot occur, and multipart form bodies are not read for
// OAuth parameters. A store failure gives a 503 error with the API's code
// and "Unable to verify credentials."; secrets never appear in any error
// or log.
type Keys struct {
	// Store holds the keys and nonces. Required.
	Store KeyStore
	// Now is the clock for OAuth timestamps. Default: time.Now.
	Now func() time.Time
	// Logger receives store failures (never credentials). Default: no
	// logging.
	Logger *zap.Logger
}

// NewKeys returns a Keys authenticator on store with the default clock.
func NewKeys(store KeyStore) *Keys {
	return &Keys{Store: store, Now: time.Now, Logger: zap.NewNop()}
}

// Authenticate judges req as WooCommerce would (see Keys).
func (k *Keys) Authenticate(ctx context.Context, req Request) Verdict {
	if req.HTTP == nil || req.HTTP.URL == nil {
		return Verdict{}
	}
	var key *redisstore.APIKey
	var err *Error
	if req.API == REST {
		key, err = k.authREST(ctx, req)
	} else {
		key, err = k.authLegacy(ctx, req)
	}
	if err != nil {
		return Verdict{Err: err}
	}
	if key == nil {
		return Verdict{}
	}
	if e := keyPermissionError(req.API, req.Method, key.Permissions); e != nil {
		return Verdict{Err: e}
	}
	return Verdict{Authenticated: true, CanManage: true, UserID: key.UserID}
}

func (k *Keys) now() time.Time {
	if k.Now == nil {
		return time.Now()
	}
	return k.Now()
}

func (k *Keys) logger() *zap.Logger {
	if k.Logger == nil {
		return zap.NewNop()
	}
	return k.Logger
}

// lookup finds a key; nil without error when there is none.
func (k *Keys) lookup(ctx context.Context, api API, consumerKey string) (*redisstore.APIKey, *Error) {
	consumerKey = sanitizeTextField(consumerKey)
	if consumerKey == "" {
		return nil, nil
	}
	key, err := k.Store.LookupAPIKey(ctx, consumerKey)
	if errors.Is(err, redisstore.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		k.logger().Error("wcauth: api key lookup failed", zap.Error(err))
		return nil, newErr(api, http.StatusServiceUnavailable, msgStoreUnavailable)
	}
	if key == nil {
		return nil, nil
	}
	return key, nil
}

// secretMatches compares secrets in constant time (hash_equals).
func secretMatches(stored, given string) bool {
	return subtle.ConstantTimeCompare([]byte(stored), []byte(given)) == 1
}

// authREST is WC_REST_Authentication::authenticate plus its error checks.
func (k *Keys) authREST(ctx context.Context, req Request) (*redisstore.APIKey, *Error) {
	r := req.HTTP
	get := parsePHPQueryTree(r.URL.RawQuery)
	var basicErr *Error
	if req.Secure {
		key, err := k.basicREST(ctx, req, get)
		if err != nil && err.Status != http.StatusUnauthorized {
			return nil, err
		}
		if key != nil {
			return key, nil
		}
		basicErr = err
	}
	key, err := k.oauthREST(ctx, req, get)
	if err != nil {
		return nil, err
	}
	if basicErr != nil {
		return nil, basicErr
	}
	return key, nil
}

// basicREST is WC_REST_Authentication::perform_basic_authentication. An
// unknown key gives neither a key nor an error.
func (k *Keys) basicREST(ctx context.Context, req Request, get *phpArray) (*redisstore.APIKey, *Error) {
	// $_GET and $_SERVER hold slashed values here (wp_magic_quotes).
	qk, _ := get.get(phpKey{s: "consumer_key"})
	qs, _ := get.get(phpKey{s: "consumer_secret"})
	var ck, cs *phpValue
	if !valueEmpty(qk) && !valueEmpty(qs) {
		ck, cs = qk, qs
	} else if u, p, ok := req.HTTP.BasicAuth(); ok && !phpEmpty(u) && !phpEmpty(p) {
		ck, cs = &phpValue{s: u}, &phpValue{s: p}
	}
	if ck == nil || ck.arr != nil {
		// No key, or one sanitize_text_field turns into "" (not found).
		return nil, nil
	}
	key, err := k.lookup(ctx, REST, addSlashes(ck.s))
	if err != nil || key == nil {
		return nil, err
	}
	if cs.arr != nil || !secretMatches(key.ConsumerSecret, addSlashes(cs.s)) {
		return nil, newErr(REST, http.StatusUnauthorized, msgSecretInvalid)
	}
	return key, nil
}

// oauthREST is WC_REST_Authentication::perform_oauth_authentication.
func (k *Keys) oauthREST(ctx context.Context, req Request, get *phpArray) (*redisstore.APIKey, *Error) {
	params := phpArrayMerge(get, formParams(req.HTTP))
	if h := strings.Trim(req.HTTP.Header.Get("Authorization"), " \t\n\r\x00\x0b"); !phpEmpty(h) {
		if hp := parseOAuthHeader(h); len(hp.entries) > 0 {
			params = phpArrayMerge(params, hp)
		}
	}
	missing, haveOne := oauthPresence(params)
	if !haveOne {
		return nil, nil
	}
	if len(missing) > 0 {
		return nil, missingOAuthParams(missing)
	}
	ck, _ := params.str("oauth_consumer_key")
	key, err := k.lookup(ctx, REST, ck)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return nil, newErr(REST, http.StatusUnauthorized, msgKeyInvalid)
	}
	method := strings.ToUpper(req.HTTP.Method)
	if err := checkSignature(REST, sigREST, method, restBaseURI(req), params, key.ConsumerSecret); err != nil {
		return nil, err
	}
	ts, _ := params.get(phpKey{s: "oauth_timestamp"})
	nonce, _ := params.get(phpKey{s: "oauth_nonce"})
	if err := k.checkTimestampAndNonce(ctx, REST, key, ts, nonce, http.StatusUnauthorized); err != nil {
		return nil, err
	}
	return key, nil
}

// checkTimestampAndNonce is check_oauth_timestamp_and_nonce.
// timestampStatus is the status of "Invalid timestamp." (200 in legacy v1,
// which sets none).
func (k *Keys) checkTimestampAndNonce(ctx context.Context, api API, key *redisstore.APIKey, ts, nonce *phpValue, timestampStatus int) *Error {
	now := k.now().Unix()
	window := int64(OAuthWindow / time.Second)
	// PHP 8 finds an array greater than any integer.
	if ts == nil || ts.arr != nil || phpTimestampOutside(ts.s, now, window) {
		return newErr(api, timestampStatus, msgTimestampInvalid)
	}
	var stamp int64
	if f, ok := phpNumeric(ts.s); ok {
		stamp = int64(f)
	}
	ttl := OAuthWindow
	if left := time.Duration(stamp+window-now) * time.Second; stamp != 0 && left > ttl {
		ttl = left
	}
	fresh, err := k.Store.UseNonce(ctx, key.KeyID, stamp, nonceString(nonce), ttl+nonceMargin)
	if err != nil {
		k.logger().Error("wcauth: nonce check failed", zap.Int64("key_id", key.KeyID), zap.Error(err))
		return newErr(api, http.StatusServiceUnavailable, msgStoreUnavailable)
	}
	if !fresh {
		return newErr(api, http.StatusUnauthorized, msgNonceUsed)
	}
	return nil
}

// nonceString is the nonce as one string; an array nonce (possible from a
// query) gets a form no string nonce can have.
func nonceString(v *phpValue) string {
	if v == nil {
		return ""
	}
	if v.arr == nil {
		return v.s
	}
	var b strings.Builder
	b.WriteString("\x00array")
	var walk func(prefix string, a *phpArray)
	walk = func(prefix string, a *phpArray) {
		for _, e := range a.entries {
			name := prefix + "[" + strconv.Quote(e.key.String()) + "]"
			if e.val.arr != nil {
				walk(name, e.val.arr)
				continue
			}
			b.WriteString("\x00" + name + "=" + strconv.Quote(e.val.s))
		}
	}
	walk("", v.arr)
	return b.String()
}
