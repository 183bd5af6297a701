package caddymodule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// ServiceKeyEnv is the environment variable the import reads the service
// key ("ck_...:cs_...") from when --service-key is not given.
const ServiceKeyEnv = "WC_WEBHOOKS_SERVICE_KEY"

// wpWebhooksRoute is the WooCommerce REST route of the webhooks.
const wpWebhooksRoute = "/wp-json/wc/v3/webhooks"

// wpPageSize is the page size of the webhook listing (WooCommerce's maximum).
const wpPageSize = 100

// maxWPPages bounds the listing (100 pages of 100).
const maxWPPages = 100

// wpClient talks to WordPress directly, not through Caddy: the module in
// front answers the webhooks routes from Redis, so going through Caddy
// would read and write the module's copies, not WordPress's.
type wpClient struct {
	base *url.URL // WordPress's base URL as reached directly, no trailing '/'
	host string   // Host header and OAuth host; "" = base's host
	ck   string
	cs   string
	hc   *http.Client
	now  func() time.Time
}

// newWPClient checks the base URL and the service key ("ck:cs").
func newWPClient(base, host, serviceKey string) (*wpClient, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(base), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--wordpress %q must be an http:// or https:// URL of WordPress itself", base)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("--wordpress must not have a query or fragment")
	}
	ck, cs, ok := strings.Cut(strings.TrimSpace(serviceKey), ":")
	if !ok || !strings.HasPrefix(ck, "ck_") || !strings.HasPrefix(cs, "cs_") {
		return nil, fmt.Errorf("--service-key (or $%s) must be a WooCommerce REST API key as ck_...:cs_...", ServiceKeyEnv)
	}
	return &wpClient{
		base: u, host: strings.TrimSpace(host), ck: ck, cs: cs, now: time.Now,
		hc: &http.Client{
			Timeout: 30 * time.Second,
			CheckRedirect: func(req *http.Request, _ []*http.Request) error {
				return fmt.Errorf("WordPress redirected to %s; point --wordpress (and --wordpress-host) at the address it answers on", req.URL.Redacted())
			},
		},
	}, nil
}

// wpError is a WordPress REST error body.
type wpError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// call sends one authenticated request to route (under base) and returns
// the response and its body (at most 16 MiB). Non-2xx answers are errors
// naming WordPress's error code and message.
func (c *wpClient) call(ctx context.Context, method, route string, query url.Values, body []byte) (*http.Response, []byte, error) {
	u := *c.base
	u.Path = c.base.Path + route
	u.RawQuery = query.Encode()
	target := u.String()
	if u.Scheme == "http" {
		target = c.signOAuth(method, u)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("building request: %w", err)
	}
	if c.host != "" {
		req.Host = c.host
	}
	if u.Scheme == "https" {
		req.SetBasicAuth(c.ck, c.cs)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: reading answer: %w", method, u.Path, err)
	}
	if resp.StatusCode/100 != 2 {
		var we wpError
		_ = json.Unmarshal(b, &we)
		if we.Code != "" {
			return nil, nil, fmt.Errorf("%s %s: WordPress answered %d %s: %s", method, u.Path, resp.StatusCode, we.Code, oneLine(we.Message))
		}
		return nil, nil, fmt.Errorf("%s %s: WordPress answered %d", method, u.Path, resp.StatusCode)
	}
	return resp, b, nil
}

// signOAuth returns u with a one-legged OAuth 1.0a HMAC-SHA256 signature
// in its query, as WooCommerce verifies it over plain HTTP: the base
// string uses the scheme of u and the host WordPress sees (--wordpress-host).
func (c *wpClient) signOAuth(method string, u url.URL) string {
	host := u.Host
	if c.host != "" {
		host = c.host
	}
	u.RawQuery = signOAuth1(method, u.Scheme+"://"+host+u.EscapedPath(), u.Query(), c.ck, c.cs, c.now()).Encode()
	return u.String()
}

// wpWebhook is a webhook as wc/v3 renders it (no secret, no api_version,
// user_id, failure_count or pending_delivery).
type wpWebhook struct {
	ID              int64   `json:"id"`
	Name            string  `json:"name"`
	Status          string  `json:"status"`
	Topic           string  `json:"topic"`
	DeliveryURL     string  `json:"delivery_url"`
	DateCreatedGMT  *string `json:"date_created_gmt"`
	DateModifiedGMT *string `json:"date_modified_gmt"`
}

// listWebhooks reads every webhook through wc/v3, page by page. The
// fields the API does not expose take defaults: api_version wp_api_v3,
// user_id userID, failure_count 0, pending_delivery false; Secret is empty.
func (c *wpClient) listWebhooks(ctx context.Context, userID int64) ([]redisstore.Webhook, error) {
	var out []redisstore.Webhook
	for page := 1; page <= maxWPPages; page++ {
		q := url.Values{"per_page": {strconv.Itoa(wpPageSize)}, "page": {strconv.Itoa(page)}, "orderby": {"id"}, "order": {"asc"}}
		resp, body, err := c.call(ctx, http.MethodGet, wpWebhooksRoute, q, nil)
		if err != nil {
			return nil, fmt.Errorf("listing WordPress's webhooks: %w", err)
		}
		var items []wpWebhook
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, fmt.Errorf("listing WordPress's webhooks: page %d is not a JSON array of webhooks: %w", page, err)
		}
		for i, it := range items {
			w, err := webhookOfAPI(it, userID)
			if err != nil {
				return nil, fmt.Errorf("page %d, item [%d]: %w", page, i, err)
			}
			out = append(out, w)
		}
		pages, _ := strconv.Atoi(resp.Header.Get("X-WP-TotalPages"))
		if len(items) == 0 || page >= pages {
			return out, nil
		}
	}
	return nil, fmt.Errorf("listing WordPress's webhooks: more than %d pages", maxWPPages)
}

// webhookOfAPI maps a wc/v3 webhook to a stored one (without secret).
func webhookOfAPI(it wpWebhook, userID int64) (redisstore.Webhook, error) {
	w := redisstore.Webhook{
		ID: it.ID, Name: it.Name, Status: it.Status, Topic: it.Topic, DeliveryURL: it.DeliveryURL,
		APIVersion: redisstore.APIVersionWPV3, UserID: userID,
	}
	if w.ID <= 0 {
		return w, fmt.Errorf("webhook id %d is not positive", w.ID)
	}
	switch w.Status {
	case redisstore.StatusActive, redisstore.StatusPaused, redisstore.StatusDisabled:
	default:
		return w, fmt.Errorf("webhook %d: status %q is not active, paused or disabled", w.ID, oneLine(w.Status))
	}
	var err error
	if w.Created, err = apiDate(it.DateCreatedGMT); err != nil {
		return w, fmt.Errorf("webhook %d: date_created_gmt: %w", w.ID, err)
	}
	if w.Created.IsZero() {
		return w, fmt.Errorf("webhook %d: date_created_gmt is empty", w.ID)
	}
	if w.Modified, err = apiDate(it.DateModifiedGMT); err != nil {
		return w, fmt.Errorf("webhook %d: date_modified_gmt: %w", w.ID, err)
	}
	return w, nil
}

// apiDate parses a REST date ("2006-01-02T15:04:05", UTC for the _gmt
// fields); null gives the zero time.
func apiDate(s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02T15:04:05", *s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date like 2024-01-31T13:45:00", oneLine(*s))
	}
	return t, nil
}

// pause sets a webhook's status to paused in WordPress.
func (c *wpClient) pause(ctx context.Context, id int64) error {
	_, body, err := c.call(ctx, http.MethodPut, wpWebhooksRoute+"/"+strconv.FormatInt(id, 10), nil, []byte(`{"status":"paused"}`))
	if err != nil {
		return err
	}
	var got wpWebhook
	if err := json.Unmarshal(body, &got); err != nil || got.Status != redisstore.StatusPaused {
		return fmt.Errorf("pausing webhook %d: WordPress did not answer with the paused webhook", id)
	}
	return nil
}

// status reads a webhook's status in WordPress (read-only; the dry run
// checks with it that pausing would reach and be allowed).
func (c *wpClient) status(ctx context.Context, id int64) (string, error) {
	_, body, err := c.call(ctx, http.MethodGet, wpWebhooksRoute+"/"+strconv.FormatInt(id, 10), nil, nil)
	if err != nil {
		return "", err
	}
	var got wpWebhook
	if err := json.Unmarshal(body, &got); err != nil || got.ID != id {
		return "", fmt.Errorf("reading webhook %d: WordPress did not answer with the webhook", id)
	}
	return got.Status, nil
}
