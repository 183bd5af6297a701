package integration

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The User-Agent versions the delivery tests configure (dispatch block
// woocommerce_version / wordpress_version), so the defaults are not what
// passes.
const (
	testWCVersion = "9.9.0"
	testWPVersion = "6.7.1"
	testUserAgent = "WooCommerce/" + testWCVersion + " Hookshot (WordPress/" + testWPVersion + ")"
)

// hookRequest is one request a receiver got, read to the end.
type hookRequest struct {
	N          int // arrival order at this receiver, from 0
	Method     string
	Path       string
	Header     http.Header
	Body       []byte
	RemoteAddr string
	Status     int // what the receiver answered
}

// IsPing reports whether r is a ping (form POST, no topic header).
func (r hookRequest) IsPing() bool { return r.Header.Get("X-WC-Webhook-Topic") == "" }

// receiver is a webhook receiver on 127.0.0.1 that records every request.
// Respond (default: 200 to everything) chooses the status; it may block.
type receiver struct {
	URL string
	srv *httptest.Server

	mu      sync.Mutex
	reqs    []hookRequest
	respond func(hookRequest) int
}

// newHookReceiver starts a recording receiver; respond may be nil (200).
func newHookReceiver(t testing.TB, respond func(hookRequest) int) *receiver {
	t.Helper()
	rc := &receiver{respond: respond}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	rc.URL = rc.srv.URL + "/hook"
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := hookRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, RemoteAddr: r.RemoteAddr}
	rc.mu.Lock()
	respond := rc.respond
	rc.mu.Unlock()
	req.Status = http.StatusOK
	if respond != nil {
		req.Status = respond(req)
	}
	rc.mu.Lock()
	req.N = len(rc.reqs)
	rc.reqs = append(rc.reqs, req)
	rc.mu.Unlock()
	w.WriteHeader(req.Status)
	_, _ = fmt.Fprintf(w, "status %d", req.Status)
}

// SetRespond replaces the answer function.
func (rc *receiver) SetRespond(f func(hookRequest) int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.respond = f
}

// Requests returns a copy of what arrived so far, in arrival order.
func (rc *receiver) Requests() []hookRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hookRequest(nil), rc.reqs...)
}

// Pings returns the pings that arrived.
func (rc *receiver) Pings() []hookRequest {
	var out []hookRequest
	for _, r := range rc.Requests() {
		if r.IsPing() {
			out = append(out, r)
		}
	}
	return out
}

// Deliveries returns the deliveries (not pings) that arrived.
func (rc *receiver) Deliveries() []hookRequest {
	var out []hookRequest
	for _, r := range rc.Requests() {
		if !r.IsPing() {
			out = append(out, r)
		}
	}
	return out
}

// hookSecret is a webhook secret as stored through the API and the key
// WooCommerce signs with (wp_specialchars_decode of it, written out by
// hand in each test so the receiver does not share the module's decoder).
type hookSecret struct{ Stored, Key string }

// wantDelivery is what a receiver expects of one delivery.
type wantDelivery struct {
	WebhookID int64
	Topic     string
	Secret    hookSecret
	Sources   []string // acceptable X-WC-Webhook-Source values
}

// b64HMAC is base64 (standard, padded) of HMAC-SHA256(key, parts...).
func b64HMAC(key []byte, parts ...[]byte) string {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// verifyDelivery checks every header of a delivery and both signatures,
// computed here from the raw body, and returns the delivery id header.
func verifyDelivery(t testing.TB, r hookRequest, want wantDelivery) int64 {
	t.Helper()
	h := r.Header
	assert.Equal(t, "POST", r.Method)
	assert.Equal(t, "/hook", r.Path)
	for _, k := range []string{"Content-Type", "User-Agent", "X-Wc-Webhook-Source", "X-Wc-Webhook-Topic", "X-Wc-Webhook-Resource",
		"X-Wc-Webhook-Event", "X-Wc-Webhook-Signature", "X-Wc-Webhook-Id", "X-Wc-Webhook-Delivery-Id",
		"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"} {
		assert.Len(t, h.Values(k), 1, "exactly one %s header", k)
	}
	assert.Equal(t, "application/json", h.Get("Content-Type"))
	assert.Equal(t, testUserAgent, h.Get("User-Agent"))
	assert.Contains(t, want.Sources, h.Get("X-WC-Webhook-Source"))
	resource, event, _ := strings.Cut(want.Topic, ".")
	assert.Equal(t, []string{want.Topic, resource, event}, []string{h.Get("X-WC-Webhook-Topic"), h.Get("X-WC-Webhook-Resource"), h.Get("X-WC-Webhook-Event")})
	assert.Equal(t, strconv.FormatInt(want.WebhookID, 10), h.Get("X-WC-Webhook-ID"))
	assert.Equal(t, b64HMAC([]byte(want.Secret.Key), r.Body), h.Get("X-WC-Webhook-Signature"), "X-WC-Webhook-Signature over the exact body, keyed by the decoded secret")
	did, err := strconv.ParseInt(h.Get("X-WC-Webhook-Delivery-ID"), 10, 64)
	assert.NoError(t, err, "X-WC-Webhook-Delivery-ID is an integer")
	assert.Positive(t, did)

	// Standard Webhooks: "v1,<base64 HMAC-SHA256(id.ts.body)>" keyed by
	// the secret bytes; several space-separated signatures are allowed.
	msgID, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	assert.NotEmpty(t, msgID, "webhook-id")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if assert.NoError(t, err, "webhook-timestamp is unix seconds") {
		skew := time.Since(time.Unix(sec, 0))
		assert.True(t, skew > -10*time.Minute && skew < 10*time.Minute, "webhook-timestamp %s is near now", ts)
	}
	wantSig := "v1," + b64HMAC([]byte(want.Secret.Stored), []byte(msgID), []byte("."), []byte(ts), []byte("."), r.Body)
	assert.Contains(t, strings.Fields(h.Get("webhook-signature")), wantSig, "webhook-signature")
	return did
}

// verifyPing checks a ping as WordPress sends it.
func verifyPing(t testing.TB, r hookRequest, webhookID int64) {
	t.Helper()
	assert.Equal(t, "POST", r.Method)
	assert.Equal(t, testUserAgent, r.Header.Get("User-Agent"))
	assert.Equal(t, "application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
	assert.Equal(t, fmt.Sprintf("webhook_id=%d", webhookID), string(r.Body))
	assert.Empty(t, r.Header.Get("X-WC-Webhook-Signature"), "a ping is not signed")
	assert.Empty(t, r.Header.Get("webhook-signature"), "a ping is not signed")
}

// waitUntil polls cond every 20 ms until it holds, failing the test after
// limit (a bound for a broken module, never a performance assertion).
func waitUntil(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
