package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// fanoutCacheWait covers the dispatcher's cache of a site's active webhooks
// (1 s, dispatcher.DefaultWebhookCacheTTL): a webhook created or
// re-activated within that window may miss an event, as documented, so the
// tests wait this long before publishing to a new webhook.
const fanoutCacheWait = 1300 * time.Millisecond

// dispatchBlock renders the global `dispatch { }` sub-block of the
// delivery tests: the test User-Agent versions, loopback receivers allowed
// (unless allowLoopback is false), plus extra lines.
func dispatchBlock(allowLoopback bool, extra ...string) string {
	lines := []string{"dispatch {",
		"\twoocommerce_version " + testWCVersion,
		"\twordpress_version " + testWPVersion}
	if allowLoopback {
		lines = append(lines, "\tallow_networks 127.0.0.0/8")
	}
	for _, l := range extra {
		lines = append(lines, "\t"+l)
	}
	return strings.Join(append(lines, "}"), "\n")
}

// hookEnv is a test environment with a read_write key, an HTTPS client
// using Basic auth, and direct read access to the site's store.
type hookEnv struct {
	*testEnv
	Key  apiKey
	C    *http.Client
	Site *redisstore.Site
	RDB  *redis.Client
}

// newHookEnv starts an environment whose global wc_webhooks block holds
// global (usually a dispatchBlock).
func newHookEnv(t testing.TB, global string) *hookEnv {
	t.Helper()
	return newHookEnvWith(t, envOptions{Global: global})
}

// newHookEnvWith starts an environment with opts.
func newHookEnvWith(t testing.TB, opts envOptions) *hookEnv {
	t.Helper()
	e := newEnv(t, opts)
	ropts, err := redis.ParseURL(e.RedisURL)
	require.NoError(t, err)
	rdb := redis.NewClient(ropts)
	t.Cleanup(func() { _ = rdb.Close() })
	site, err := redisstore.New(rdb, redisstore.Options{}).Site(siteName)
	require.NoError(t, err)
	return &hookEnv{testEnv: e, Key: e.AddKey("read_write"), C: e.Client(false), Site: site, RDB: rdb}
}

// Sources are the X-WC-Webhook-Source values a delivery may carry: the
// site "shop" is served under two home URLs (HTTP and HTTPS sites), and the
// dispatcher knows the site by the home URL it was first registered with.
func (h *hookEnv) Sources() []string { return []string{h.HTTPBase + "/", h.HTTPSBase + "/"} }

// API sends an authenticated request to path on the HTTPS site.
func (h *hookEnv) API(t testing.TB, method, path string, body string) response {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return do(t, h.C, method, h.HTTPSBase+path, b, basic(h.Key))
}

// CreateWebhook creates a webhook through wc/v3 and returns it.
func (h *hookEnv) CreateWebhook(t testing.TB, name, topic, url string, secret hookSecret, extra string) restWebhook {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"topic":%q,"delivery_url":%q,"secret":%q%s}`, name, topic, url, secret.Stored, extra)
	r := h.API(t, "POST", "/wp-json/wc/v3/webhooks", body)
	require.Equal(t, 201, r.Status, "create: %s", r.Body)
	var w restWebhook
	r.JSON(t, &w)
	stored := h.Stored(t, w.ID)
	require.Equal(t, secret.Stored, stored.Secret, "the API stores the secret as given")
	return w
}

// GetWebhook reads a webhook through wc/v3.
func (h *hookEnv) GetWebhook(t testing.TB, id int64) restWebhook {
	t.Helper()
	r := h.API(t, "GET", fmt.Sprintf("/wp-json/wc/v3/webhooks/%d", id), "")
	require.Equal(t, 200, r.Status, "get: %s", r.Body)
	var w restWebhook
	r.JSON(t, &w)
	return w
}

// Stored reads a webhook straight from Redis (failure_count and
// pending_delivery are not in the API).
func (h *hookEnv) Stored(t testing.TB, id int64) *redisstore.Webhook {
	t.Helper()
	w, err := h.Site.GetWebhook(context.Background(), id)
	require.NoError(t, err, "webhook %d in the store", id)
	return w
}

// publishedEvent is the 202 answer of the events endpoint.
type publishedEvent struct {
	ID         string `json:"id"`
	Topic      string `json:"topic"`
	ResourceID int64  `json:"resource_id"`
}

// Publish posts an event body to the events endpoint and expects 202.
func (h *hookEnv) Publish(t testing.TB, body string) publishedEvent {
	t.Helper()
	r := h.API(t, "POST", "/wp-json/wc-webhooks/v1/events", body)
	require.Equal(t, 202, r.Status, "publish %s: %s", body, r.Body)
	var ev publishedEvent
	r.JSON(t, &ev)
	require.NotEmpty(t, ev.ID, "event id in %s", r.Body)
	return ev
}

// loggedDelivery is a delivery as the deliveries routes serve it.
type loggedDelivery struct {
	ID              int64          `json:"id"`
	Duration        string         `json:"duration"`
	Summary         string         `json:"summary"`
	RequestMethod   string         `json:"request_method"`
	RequestURL      string         `json:"request_url"`
	RequestHeaders  map[string]any `json:"request_headers"` // ids are JSON numbers, as WooCommerce logged them
	RequestBody     string         `json:"request_body"`
	ResponseCode    string         `json:"response_code"`
	ResponseMessage string         `json:"response_message"`
	ResponseHeaders map[string]any `json:"response_headers"`
	ResponseBody    string         `json:"response_body"`
}

// deliveryRoutes are the list routes of every API version that serves
// delivery logs (legacy answers {"webhook_deliveries":[...]}).
var deliveryRoutes = []string{
	"/wp-json/wc/v1/webhooks/%d/deliveries",
	"/wp-json/wc/v2/webhooks/%d/deliveries",
	"/wp-json/wc/v3/webhooks/%d/deliveries",
	"/wc-api/v2/webhooks/%d/deliveries",
	"/wc-api/v3/webhooks/%d/deliveries",
}

// Deliveries lists a webhook's logged deliveries through route (one of
// deliveryRoutes).
func (h *hookEnv) Deliveries(t testing.TB, route string, webhookID int64) []loggedDelivery {
	t.Helper()
	path := fmt.Sprintf(route, webhookID)
	r := h.API(t, "GET", path, "")
	require.Equal(t, 200, r.Status, "%s: %s", path, r.Body)
	var out []loggedDelivery
	if strings.HasPrefix(route, "/wc-api/") {
		var wrap struct {
			D *[]loggedDelivery `json:"webhook_deliveries"`
		}
		wrap.D = &out
		r.JSON(t, &wrap)
		return out
	}
	r.JSON(t, &out)
	return out
}

// deliveryIDs returns the ids of logged deliveries.
func deliveryIDs(ds []loggedDelivery) []int64 {
	out := []int64{}
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

// jsonField decodes one member of a JSON object body.
func jsonField(t testing.TB, body []byte, name string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &m), "%s", body)
	return m[name]
}

// header returns a logged request header as text (numbers included).
func (d loggedDelivery) header(name string) string {
	switch v := d.RequestHeaders[name].(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}
