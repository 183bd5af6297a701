package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/standin"
)

// response is a response read to the end.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it is not JSON.
func (r response) JSON(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), "body is not JSON: %s", r.Body)
}

// do sends one request and reads the whole response, failing the test on
// a transport error.
func do(t testing.TB, c *http.Client, method, url string, body []byte, header http.Header) response {
	t.Helper()
	r, err := tryDo(c, method, url, body, header)
	require.NoError(t, err, "%s %s", method, url)
	return r
}

// tryDo sends one request and reads the whole response; safe to call from
// goroutines other than the test's.
func tryDo(c *http.Client, method, url string, body []byte, header http.Header) (response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return response{}, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, fmt.Errorf("read body: %w", err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// jsonHeader is a header with Content-Type: application/json.
func jsonHeader() http.Header { return http.Header{"Content-Type": {"application/json"}} }

// basic returns a header with HTTP Basic credentials of k (and JSON type).
func basic(k apiKey) http.Header {
	h := jsonHeader()
	req, _ := http.NewRequest("GET", "http://x", nil)
	req.SetBasicAuth(k.CK, k.CS)
	h.Set("Authorization", req.Header.Get("Authorization"))
	return h
}

// signed returns url with a fresh one-legged OAuth 1.0a (HMAC-SHA256)
// signature of k for method, as the official clients send it.
func signed(t testing.TB, method, url string, k apiKey) string {
	t.Helper()
	u, err := standin.SignURL(method, url, standin.OAuthParams{
		ConsumerKey: k.CK, ConsumerSecret: k.CS, Timestamp: time.Now().Unix(),
	})
	require.NoError(t, err)
	return u
}

// wpError is a WP REST error body.
type wpError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Data    struct {
		Status int `json:"status"`
	} `json:"data"`
}

// assertWPError checks status, code, message and data.status of a WP REST
// error response.
func assertWPError(t testing.TB, r response, status int, code, message string) {
	t.Helper()
	var e wpError
	r.JSON(t, &e)
	assert.Equal(t, []any{status, code, message, status}, []any{r.Status, e.Code, e.Message, e.Data.Status}, "body: %s", r.Body)
	assert.Equal(t, "application/json; charset=UTF-8", r.Header.Get("Content-Type"))
}

// assertLegacyError checks a legacy {"errors":[{code,message}]} response.
func assertLegacyError(t testing.TB, r response, status int, code, message string) {
	t.Helper()
	var e struct {
		Errors []struct{ Code, Message string } `json:"errors"`
	}
	r.JSON(t, &e)
	require.Len(t, e.Errors, 1, "body: %s", r.Body)
	assert.Equal(t, []any{status, code, message}, []any{r.Status, e.Errors[0].Code, e.Errors[0].Message}, "body: %s", r.Body)
}

// objectKeys returns the keys of the JSON object in body, in order.
func objectKeys(t testing.TB, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok, "not an object: %s", body)
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

// restItemKeys is the key order of a wc/v2 and wc/v3 webhook.
var restItemKeys = []string{"id", "name", "status", "topic", "resource", "event", "hooks", "delivery_url",
	"date_created", "date_created_gmt", "date_modified", "date_modified_gmt", "_links"}

// restWebhook is a WP REST webhook as served.
type restWebhook struct {
	ID              int64    `json:"id"`
	Name            string   `json:"name"`
	Status          string   `json:"status"`
	Topic           string   `json:"topic"`
	Resource        string   `json:"resource"`
	Event           string   `json:"event"`
	Hooks           []string `json:"hooks"`
	DeliveryURL     string   `json:"delivery_url"`
	DateCreated     *string  `json:"date_created"`
	DateCreatedGMT  *string  `json:"date_created_gmt"`
	DateModified    *string  `json:"date_modified"`
	DateModifiedGMT *string  `json:"date_modified_gmt"`
	Links           struct {
		Self       []struct{ Href string } `json:"self"`
		Collection []struct{ Href string } `json:"collection"`
	} `json:"_links"`
	Secret *string `json:"secret"`
}

// splitComma splits a header value such as "GET, POST".
func splitComma(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
