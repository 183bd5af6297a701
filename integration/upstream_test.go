package integration

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/standin"
)

// standinKey adds a key to the stand-in and returns it as an apiKey.
func standinKey(e *testEnv, userID int64, perms string) apiKey {
	k := standin.NewKey(userID, perms)
	e.Standin.AddKey(k)
	return apiKey{CK: k.ConsumerKey, CS: k.ConsumerSecret}
}

// TestUpstreamAuth runs `auth upstream`: the credentials are judged by the
// stand-in WooCommerce, the webhook data comes from Redis.
func TestUpstreamAuth(t *testing.T) {
	e := newEnv(t, envOptions{Auth: "upstream"})
	manager := standinKey(e, standin.ManagerID, standin.PermReadWrite)
	admin := standinKey(e, standin.AdminID, standin.PermReadWrite)
	readonly := standinKey(e, standin.ManagerID, standin.PermRead)
	customer := standinKey(e, standin.CustomerID, standin.PermReadWrite)
	c := e.Client(false)
	hook := newReceiver(t)
	coll := e.HTTPSBase + "/wp-json/wc/v3/webhooks"
	body := []byte(fmt.Sprintf(`{"name":"via upstream","topic":"product.created","delivery_url":%q}`, hook))

	r := do(t, c, "POST", coll, body, basic(manager))
	require.Equal(t, 201, r.Status, "manager create: %s", r.Body)
	var created restWebhook
	r.JSON(t, &created)

	r = do(t, c, "GET", coll, nil, basic(admin))
	require.Equal(t, 200, r.Status, "admin list: %s", r.Body)
	assert.Equal(t, "1", r.Header.Get("X-WP-Total"), "the list comes from Redis, not from the upstream")
	var list []restWebhook
	r.JSON(t, &list)
	assert.Equal(t, []int64{created.ID}, ids(list))

	r = do(t, c, "GET", coll, nil, basic(customer))
	assertWPError(t, r, 403, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
	r = do(t, c, "POST", coll, body, basic(customer))
	assertWPError(t, r, 403, "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.")
	r = do(t, c, "GET", coll, nil, nil)
	assertWPError(t, r, 401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
	r = do(t, c, "GET", coll, nil, basic(apiKey{CK: manager.CK, CS: "cs_wrong"}))
	assertWPError(t, r, 401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
	r = do(t, c, "POST", coll, body, basic(readonly))
	assertWPError(t, r, 401, "woocommerce_rest_authentication_error", "The API key provided does not have write permissions.")
	r = do(t, c, "GET", coll, nil, basic(readonly))
	assert.Equal(t, 200, r.Status, "read-only key may read: %s", r.Body)

	t.Run("oauth over http is replayed to the upstream", func(t *testing.T) {
		e.Standin.Reset()
		u := signed(t, "GET", e.HTTPBase+"/wp-json/wc/v3/webhooks?per_page=5", manager)
		r := do(t, c, "GET", u, nil, nil)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		assert.Equal(t, "1", r.Header.Get("X-WP-Total"))
		parsed, _ := url.Parse(u)
		assert.True(t, sawRequest(e, "GET", parsed.RequestURI()), "the upstream must see the client's signed method and URL")

		u = signed(t, "POST", e.HTTPBase+"/wp-json/wc/v3/webhooks", manager)
		r = do(t, c, "POST", u, body, jsonHeader())
		require.Equal(t, 201, r.Status, "%s", r.Body)
		parsed, _ = url.Parse(u)
		assert.True(t, sawRequest(e, "POST", parsed.RequestURI()))

		u = signed(t, "GET", e.HTTPBase+"/wp-json/wc/v3/webhooks", customer)
		r = do(t, c, "GET", u, nil, nil)
		assertWPError(t, r, 403, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
	})

	t.Run("legacy", func(t *testing.T) {
		r := do(t, c, "GET", e.HTTPSBase+"/wc-api/v3/webhooks/count", nil, basic(manager))
		require.Equal(t, 200, r.Status, "%s", r.Body)
		assert.JSONEq(t, `{"count":2}`, string(r.Body))
		r = do(t, c, "GET", e.HTTPSBase+"/wc-api/v2/webhooks/count", nil, basic(customer))
		assertLegacyError(t, r, 401, "woocommerce_api_user_cannot_read_webhooks_count", "You do not have permission to read the webhooks count")
		r = do(t, c, "GET", e.HTTPSBase+"/wc-api/v3/webhooks/count", nil, nil)
		assertLegacyError(t, r, 401, "woocommerce_api_authentication_error", "Consumer Secret is invalid.")
	})

	assertOnlyProbes(t, e)
}

// sawRequest reports whether the stand-in received method requestURI.
func sawRequest(e *testEnv, method, requestURI string) bool {
	for _, rec := range e.Standin.Requests() {
		if rec.Method == method && rec.RequestURI == requestURI {
			return true
		}
	}
	return false
}

var reWebhookRoute = regexp.MustCompile(`(/wc/v\d|/wc-api/v\d|rest_route=(/|%2F)wc(/|%2F)v\d)`)

// assertOnlyProbes checks that every webhooks request the upstream saw was a
// probe that cannot change anything in WooCommerce.
func assertOnlyProbes(t *testing.T, e *testEnv) {
	t.Helper()
	for _, rec := range e.Standin.Requests() {
		if !strings.Contains(rec.RequestURI, "webhooks") || !reWebhookRoute.MatchString(rec.RequestURI) {
			continue
		}
		what := rec.Method + " " + rec.RequestURI + " " + string(rec.Body)
		var body map[string]any
		if len(rec.Body) > 0 {
			require.NoError(t, json.Unmarshal(rec.Body, &body), "probe body is JSON: %s", what)
		}
		path, _, _ := strings.Cut(rec.RequestURI, "?")
		legacy := strings.Contains(path, "/wc-api/")
		switch rec.Method {
		case "GET", "HEAD", "OPTIONS":
		case "DELETE":
			// WordPress reads a JSON body (when typed as JSON) before the
			// query, so {"force":false} overrides a signed ?force=true.
			if isJSON(rec) && body != nil {
				assert.Equal(t, false, body["force"], "a probe never deletes: %s", what)
			} else {
				assert.NotContains(t, rec.RequestURI, "force=true", "a probe never deletes: %s", what)
			}
		case "POST", "PUT", "PATCH":
			assert.True(t, isJSON(rec), "write probes carry a JSON body typed as JSON: %s", what)
			switch {
			case legacy:
				assert.Equal(t, map[string]any{}, body["webhook"], "legacy probe body: %s", what)
			case strings.HasSuffix(path, "/batch") || strings.Contains(rec.RequestURI, "batch"):
				for _, k := range []string{"create", "update", "delete"} {
					if v, ok := body[k].([]any); ok {
						assert.Empty(t, v, "batch probe changes nothing: %s", what)
					}
				}
			default:
				assert.Equal(t, float64(-1), body["id"], "REST write probes carry id -1: %s", what)
			}
		default:
			t.Errorf("unexpected probe method: %s", what)
		}
	}
}

func isJSON(rec standin.Recorded) bool {
	return strings.HasPrefix(strings.ToLower(rec.Header.Get("Content-Type")), "application/json")
}
