package wcapi

import (
	"errors"
	"net/http"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcauth"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// apiError is a WooCommerce error: Code and Message as WooCommerce words
// them, Status the HTTP status, Data extra members of the WP REST `data`
// object (params, details, json_error_code, ...).
type apiError struct {
	Code    string
	Message string
	Status  int
	Data    object
	Header  http.Header
}

func newError(status int, code, message string) *apiError {
	return &apiError{Code: code, Message: message, Status: status}
}

// restBody renders the WP REST error shape
// {"code":…,"message":…,"data":{"status":…,…}}.
func (e *apiError) restBody() object {
	data := append(object{{"status", e.Status}}, e.Data...)
	return object{{"code", e.Code}, {"message", e.Message}, {"data", data}}
}

// legacyBody renders the legacy error shape {"errors":[{"code":…,"message":…}]}.
func (e *apiError) legacyBody() object {
	return object{{"errors", []object{{{"code", e.Code}, {"message", e.Message}}}}}
}

// Errors WordPress core answers on every REST route.
var (
	errRESTNoRoute = newError(http.StatusNotFound, "rest_no_route",
		"No route was found matching the URL and request method.")
	errRESTServer = newError(http.StatusServiceUnavailable, "woocommerce_rest_storage_error",
		"The webhook store is unavailable.")
	errLegacyNoRoute = newError(http.StatusNotFound, "woocommerce_api_no_route",
		"No route was found matching the URL and request method")
	errLegacyServer = newError(http.StatusServiceUnavailable, "woocommerce_api_storage_error",
		"The webhook store is unavailable.")
)

// newAuthError turns an authenticator's verdict error into an API error.
func newAuthError(e *wcauth.Error) *apiError {
	return &apiError{Code: e.Code, Message: e.Message, Status: e.Status, Header: e.Header}
}

// isNotFound reports whether err is the store's not-found error.
func isNotFound(err error) bool {
	return errors.Is(err, redisstore.ErrNotFound)
}
