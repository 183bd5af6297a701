package dispatcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// Header names, written exactly as WooCommerce and Standard Webhooks spell
// them (the map is set directly, so Go does not re-case them).
const (
	hdrSource     = "X-WC-Webhook-Source"
	hdrTopic      = "X-WC-Webhook-Topic"
	hdrResource   = "X-WC-Webhook-Resource"
	hdrEvent      = "X-WC-Webhook-Event"
	hdrSignature  = "X-WC-Webhook-Signature"
	hdrID         = "X-WC-Webhook-ID"
	hdrDeliveryID = "X-WC-Webhook-Delivery-ID"
	hdrStdID      = "webhook-id"
	hdrStdTS      = "webhook-timestamp"
	hdrStdSig     = "webhook-signature"
)

// Limits of response headers kept in the delivery log.
const (
	maxLogHeaders    = 100
	maxLogHeaderSize = 8 << 10
	maxDrain         = 1 << 20 // response bytes read to keep the connection
)

// newClients returns the delivery client (no redirects) and the ping
// client (up to 5 redirects, as WordPress), both dialing through the SSRF
// guard, never through a proxy.
func newClients(c config) (*http.Client, *http.Client) {
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            newDialer(c.allow).DialContext,
		MaxIdleConns:           256,
		MaxIdleConnsPerHost:    c.MaxConcurrent,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 256 << 10,
	}
	deliver := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	ping := &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("stopped after 5 redirects")
			}
			if _, err := checkURL(req.URL.String()); err != nil {
				return err
			}
			return nil
		},
	}
	return deliver, ping
}

// attempt is the outcome of one delivery attempt.
type attempt struct {
	log        *redisstore.Delivery
	code       int  // HTTP status, 0 for transport errors
	success    bool // 200–302
	final      bool // not worth retrying (410, invalid or refused URL)
	overload   bool // 429 or timeout
	retryAfter string
}

// sourceURL is home URL with exactly one trailing slash.
func sourceURL(home string) string {
	return strings.TrimRight(home, "/") + "/"
}

// deliver sends one attempt of a delivery job and builds its log record.
func (d *Dispatcher) deliver(ctx context.Context, ss *siteState, job *redisstore.Job, w *redisstore.Webhook) attempt {
	body := job.Payload
	resource, event := splitTopic(job.Topic)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	h := http.Header{}
	h["User-Agent"] = []string{d.cfg.userAgent()}
	h["Content-Type"] = []string{"application/json"}
	h[hdrSource] = []string{sourceURL(ss.opts.HomeURL)}
	h[hdrTopic] = []string{job.Topic}
	h[hdrResource] = []string{resource}
	h[hdrEvent] = []string{event}
	h[hdrSignature] = []string{WooSignature(body, w.Secret)}
	h[hdrID] = []string{strconv.FormatInt(w.ID, 10)}
	h[hdrDeliveryID] = []string{strconv.FormatInt(job.DeliveryID, 10)}
	h[hdrStdID] = []string{job.MessageID}
	h[hdrStdTS] = []string{ts}
	h[hdrStdSig] = []string{StandardSignature(job.MessageID, ts, body, w.Secret)}

	rec := &redisstore.Delivery{
		WebhookID: w.ID, RequestMethod: http.MethodPost, RequestURL: w.DeliveryURL,
		RequestHeaders: flatHeaders(h, len(h)), RequestBody: capString(body, d.cfg.MaxLogBody),
		ResponseHeaders: map[string]string{}, Created: time.Now(),
	}
	a := attempt{log: rec}
	start := time.Now()
	fail := func(code, msg string) attempt {
		rec.Duration = duration(time.Since(start))
		rec.ResponseCode, rec.ResponseMessage = code, msg
		rec.Summary = fmt.Sprintf("HTTP %s %s: ", code, msg)
		return a
	}
	if _, err := checkURL(w.DeliveryURL); err != nil {
		a.final = true
		return fail("http_request_failed", "A valid URL was not provided.")
	}
	rctx, cancel := context.WithTimeout(ctx, d.cfg.HTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.DeliveryURL, bytes.NewReader(body))
	if err != nil {
		a.final = true
		return fail("http_request_failed", "A valid URL was not provided.")
	}
	req.Header = h
	resp, err := d.client.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, ErrRefusedAddress):
			a.final = true
			return fail("http_request_failed", "A valid URL was not provided. (destination address not allowed)")
		case isTimeout(err):
			a.overload = true
			return fail("http_request_failed", fmt.Sprintf("Operation timed out after %d milliseconds", d.cfg.HTTPTimeout.Milliseconds()))
		}
		return fail("http_request_failed", transportMessage(err))
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, int64(d.cfg.MaxLogBody)+1))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	rec.Duration = duration(time.Since(start))
	a.code = resp.StatusCode
	a.success = resp.StatusCode >= 200 && resp.StatusCode <= 302
	a.final = resp.StatusCode == http.StatusGone
	a.overload = resp.StatusCode == http.StatusTooManyRequests
	a.retryAfter = resp.Header.Get("Retry-After")
	msg := strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
	rb := capString(respBody, d.cfg.MaxLogBody)
	rec.ResponseCode = strconv.Itoa(resp.StatusCode)
	rec.ResponseMessage = msg
	rec.ResponseHeaders = flatHeaders(resp.Header, maxLogHeaders)
	rec.ResponseBody = rb
	rec.Summary = capString([]byte(fmt.Sprintf("HTTP %d %s: %s", resp.StatusCode, msg, rb)), d.cfg.MaxLogBody)
	return a
}

// ping sends the ping of webhook w and reports whether it got exactly 200.
func (d *Dispatcher) ping(ctx context.Context, w *redisstore.Webhook) (bool, error) {
	if _, err := checkURL(w.DeliveryURL); err != nil {
		return false, err
	}
	rctx, cancel := context.WithTimeout(ctx, d.cfg.PingTimeout)
	defer cancel()
	body := "webhook_id=" + strconv.FormatInt(w.ID, 10)
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.DeliveryURL, strings.NewReader(body))
	if err != nil {
		return false, ErrInvalidURL
	}
	req.Header["User-Agent"] = []string{d.cfg.userAgent()}
	req.Header["Content-Type"] = []string{"application/x-www-form-urlencoded"}
	resp, err := d.pingClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	return resp.StatusCode == http.StatusOK, nil
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// transportMessage is the error text without Go's "Post \"url\": " prefix.
func transportMessage(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}

// duration formats seconds rounded to 5 decimals, as WooCommerce logged.
func duration(d time.Duration) string {
	return strconv.FormatFloat(math.Round(d.Seconds()*1e5)/1e5, 'f', -1, 64)
}

// capString returns b as a string of at most n bytes, cut at a UTF-8
// boundary.
func capString(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	cut := n
	for cut > 0 && cut > n-4 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut])
}

// flatHeaders joins multi-valued headers with ", ", keeping at most n
// headers and capping each value.
func flatHeaders(h http.Header, n int) map[string]string {
	out := make(map[string]string, min(len(h), n))
	for k, vs := range h {
		if len(out) >= n {
			break
		}
		out[k] = capString([]byte(strings.Join(vs, ", ")), maxLogHeaderSize)
	}
	return out
}
