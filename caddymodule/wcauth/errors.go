package wcauth

import (
	"net/http"
	"strings"
)

// WooCommerce's authentication error codes.
const (
	// CodeRESTAuth is the code of WP REST authentication errors.
	CodeRESTAuth = "woocommerce_rest_authentication_error"
	// CodeRESTMissingParameter is the code of an incomplete set of OAuth
	// parameters on WP REST.
	CodeRESTMissingParameter = "woocommerce_rest_authentication_missing_parameter"
	// CodeLegacyAuth is the code of every legacy (/wc-api/vN) authentication
	// error.
	CodeLegacyAuth = "woocommerce_api_authentication_error"
)

// BasicRealm is the WWW-Authenticate value legacy v3 sends when Basic
// credentials are missing or wrong.
const BasicRealm = `Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer secret in the password field."`

// WooCommerce's messages (exact text).
const (
	msgSecretInvalid        = "Consumer secret is invalid."
	msgSecretInvalidCapital = "Consumer Secret is invalid."
	msgKeyInvalid           = "Consumer key is invalid."
	msgKeyMissing           = "Consumer key is missing."
	msgSecretMissing        = "Consumer secret is missing."
	msgSigMethodInvalid     = "Invalid signature - signature method is invalid."
	msgSigMismatch          = "Invalid signature - provided signature does not match."
	msgTimestampInvalid     = "Invalid timestamp."
	msgNonceUsed            = "Invalid nonce - nonce has already been used."
	msgNoRead               = "The API key provided does not have read permissions."
	msgNoWrite              = "The API key provided does not have write permissions."
	msgUnknownMethod        = "Unknown request method."
	msgStoreUnavailable     = "Unable to verify credentials."
	msgUpstreamUnavailable  = "Unable to verify credentials with the site."
	msgUnverifiableOAuth    = "OAuth 1.0a requests to this route cannot be verified with the site; use HTTPS, or API keys held by the proxy (auth keys)."
)

// authCode is the authentication error code of api.
func authCode(api API) string {
	if api == REST {
		return CodeRESTAuth
	}
	return CodeLegacyAuth
}

// newErr returns an authentication error of api.
func newErr(api API, status int, msg string) *Error {
	return &Error{Code: authCode(api), Message: msg, Status: status}
}

// basicChallenge is legacy v3's "Consumer Secret is invalid." with its
// WWW-Authenticate header.
func basicChallenge() *Error {
	e := newErr(LegacyV3, http.StatusUnauthorized, msgSecretInvalidCapital)
	e.Header = http.Header{"Www-Authenticate": {BasicRealm}}
	return e
}

// missingOAuthParams is REST's error for an incomplete OAuth parameter set.
func missingOAuthParams(names []string) *Error {
	msg := "Missing OAuth parameter " + names[0]
	if len(names) > 1 {
		msg = "Missing OAuth parameters " + strings.Join(names, ", ")
	}
	return &Error{Code: CodeRESTMissingParameter, Message: msg, Status: http.StatusUnauthorized}
}

// clone copies e so callers may change it.
func (e *Error) clone() *Error {
	if e == nil {
		return nil
	}
	c := *e
	if e.Header != nil {
		c.Header = e.Header.Clone()
	}
	return &c
}

// keyPermissionError is the key permission check of WooCommerce for
// method; legacy has no OPTIONS case and lets unknown methods through.
func keyPermissionError(api API, method, perm string) *Error {
	switch method {
	case http.MethodGet, http.MethodHead:
		if perm != "read" && perm != "read_write" {
			return newErr(api, http.StatusUnauthorized, msgNoRead)
		}
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		if perm != "write" && perm != "read_write" {
			return newErr(api, http.StatusUnauthorized, msgNoWrite)
		}
	case http.MethodOptions:
	default:
		if api == REST {
			return newErr(api, http.StatusUnauthorized, msgUnknownMethod)
		}
	}
	return nil
}
