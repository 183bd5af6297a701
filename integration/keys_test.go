package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newReceiver starts a webhook receiver on loopback that answers 200.
func newReceiver(t testing.TB) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(srv.Close)
	return srv.URL + "/hook"
}

// TestKeysREST drives the wc/v3 webhooks API through Caddy with `auth keys`
// and a key made by the CLI: OAuth 1.0a over HTTP, Basic over HTTPS.
func TestKeysREST(t *testing.T) {
	e := newEnv(t, envOptions{Auth: "keys", Timezone: "Asia/Kolkata"})
	rw := e.AddKey("read_write")
	ro := e.AddKey("read")
	wo := e.AddKey("write")
	c := e.Client(false)
	hook := newReceiver(t)
	coll := e.HTTPBase + "/wp-json/wc/v3/webhooks"

	create := func(name string) restWebhook {
		t.Helper()
		body := fmt.Sprintf(`{"name":%q,"topic":"order.updated","delivery_url":%q}`, name, hook)
		r := do(t, c, "POST", signed(t, "POST", coll, rw), []byte(body), jsonHeader())
		require.Equal(t, 201, r.Status, "create: %s", r.Body)
		var w restWebhook
		r.JSON(t, &w)
		assert.Equal(t, fmt.Sprintf("%s/%d", coll, w.ID), r.Header.Get("Location"))
		assert.Equal(t, restItemKeys, objectKeys(t, r.Body))
		return w
	}

	w1 := create("first")
	assert.Greater(t, w1.ID, int64(100000), "ids start above the id floor")
	assert.Equal(t, []any{"first", "active", "order.updated", "order", "updated", hook},
		[]any{w1.Name, w1.Status, w1.Topic, w1.Resource, w1.Event, w1.DeliveryURL})
	assert.Equal(t, []string{"woocommerce_update_order", "woocommerce_order_refunded", "woocommerce_delete_order_refund"}, w1.Hooks, "trunk's hooks")
	assert.Nil(t, w1.Secret, "the secret is never returned")
	require.NotNil(t, w1.DateCreated)
	require.NotNil(t, w1.DateCreatedGMT)
	local, err := time.Parse("2006-01-02T15:04:05", *w1.DateCreated)
	require.NoError(t, err)
	gmt, err := time.Parse("2006-01-02T15:04:05", *w1.DateCreatedGMT)
	require.NoError(t, err)
	assert.Equal(t, 5*time.Hour+30*time.Minute, local.Sub(gmt), "date_created is in the site's timezone")
	require.Len(t, w1.Links.Self, 1)
	assert.Equal(t, fmt.Sprintf("%s/%d", coll, w1.ID), w1.Links.Self[0].Href)
	require.Len(t, w1.Links.Collection, 1)
	assert.Equal(t, coll, w1.Links.Collection[0].Href)

	t.Run("get", func(t *testing.T) {
		r := do(t, c, "GET", signed(t, "GET", fmt.Sprintf("%s/%d", coll, w1.ID), rw), nil, nil)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var got restWebhook
		r.JSON(t, &got)
		assert.Equal(t, w1.ID, got.ID)
		assert.Equal(t, w1.Name, got.Name)
		assert.Equal(t, w1.DateCreatedGMT, got.DateCreatedGMT)
		assert.Equal(t, []string{"GET", "POST", "PUT", "PATCH", "DELETE"}, splitComma(r.Header.Get("Allow")))
		assert.Equal(t, restItemKeys, objectKeys(t, r.Body))
	})

	w2, w3 := create("second"), create("third")
	t.Run("list and pages", func(t *testing.T) {
		r := do(t, c, "GET", signed(t, "GET", coll, ro), nil, nil)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		assert.Equal(t, "3", r.Header.Get("X-WP-Total"))
		assert.Equal(t, "1", r.Header.Get("X-WP-TotalPages"))
		assert.Equal(t, []string{"GET", "POST"}, splitComma(r.Header.Get("Allow")))
		var all []restWebhook
		r.JSON(t, &all)
		assert.Equal(t, []int64{w3.ID, w2.ID, w1.ID}, ids(all), "default order: date desc, ties by id desc")

		r = do(t, c, "GET", signed(t, "GET", coll+"?per_page=2", ro), nil, nil)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		assert.Equal(t, []string{"3", "2"}, []string{r.Header.Get("X-WP-Total"), r.Header.Get("X-WP-TotalPages")})
		var page []restWebhook
		r.JSON(t, &page)
		assert.Equal(t, []int64{w3.ID, w2.ID}, ids(page))
		links := parseLinks(t, r.Header.Get("Link"))
		assert.NotContains(t, links, "prev")
		require.Contains(t, links, "next")
		assert.Equal(t, "/wp-json/wc/v3/webhooks", links["next"].Path)
		assert.Equal(t, []string{"2", "2"}, []string{links["next"].Query().Get("page"), links["next"].Query().Get("per_page")})

		r = do(t, c, "GET", signed(t, "GET", coll+"?per_page=2&page=2", ro), nil, nil)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		r.JSON(t, &page)
		assert.Equal(t, []int64{w1.ID}, ids(page))
		links = parseLinks(t, r.Header.Get("Link"))
		assert.NotContains(t, links, "next")
		require.Contains(t, links, "prev")
		assert.Equal(t, "1", links["prev"].Query().Get("page"))
	})

	t.Run("update", func(t *testing.T) {
		u := fmt.Sprintf("%s/%d", coll, w2.ID)
		r := do(t, c, "PUT", signed(t, "PUT", u, rw), []byte(`{"name":"renamed","status":"paused"}`), jsonHeader())
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var got restWebhook
		r.JSON(t, &got)
		assert.Equal(t, []any{w2.ID, "renamed", "paused"}, []any{got.ID, got.Name, got.Status})
		assert.NotNil(t, got.DateModifiedGMT, "an update sets date_modified")
	})

	t.Run("delete", func(t *testing.T) {
		u := fmt.Sprintf("%s/%d", coll, w3.ID)
		r := do(t, c, "DELETE", signed(t, "DELETE", u, rw), nil, nil)
		assertWPError(t, r, 501, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.")
		r = do(t, c, "DELETE", signed(t, "DELETE", u+"?force=true", rw), nil, nil)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var got restWebhook
		r.JSON(t, &got)
		assert.Equal(t, []any{w3.ID, "third"}, []any{got.ID, got.Name}, "delete answers the webhook as it was")
		r = do(t, c, "GET", signed(t, "GET", u, rw), nil, nil)
		assertWPError(t, r, 404, "woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.")
	})

	t.Run("unknown routes", func(t *testing.T) {
		for _, p := range []string{"/wp-json/wc/v3/webhooks/abc", fmt.Sprintf("/wp-json/wc/v3/webhooks/%d/nothing", w1.ID), "/wp-json/wc/v3/webhooks/batch/1"} {
			r := do(t, c, "GET", signed(t, "GET", e.HTTPBase+p, rw), nil, nil)
			assertWPError(t, r, 404, "rest_no_route", "No route was found matching the URL and request method.")
		}
	})

	t.Run("authentication errors", func(t *testing.T) {
		r := do(t, c, "GET", coll, nil, nil)
		assertWPError(t, r, 401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
		r = do(t, c, "POST", coll, []byte(`{"topic":"order.created","delivery_url":"`+hook+`"}`), jsonHeader())
		assertWPError(t, r, 401, "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.")

		r = do(t, c, "POST", signed(t, "POST", coll, ro), []byte(`{"topic":"order.created","delivery_url":"`+hook+`"}`), jsonHeader())
		assertWPError(t, r, 401, "woocommerce_rest_authentication_error", "The API key provided does not have write permissions.")
		r = do(t, c, "GET", signed(t, "GET", coll, wo), nil, nil)
		assertWPError(t, r, 401, "woocommerce_rest_authentication_error", "The API key provided does not have read permissions.")

		wrong := apiKey{CK: rw.CK, CS: rw.CS + "x"}
		r = do(t, c, "GET", signed(t, "GET", coll, wrong), nil, nil)
		assertWPError(t, r, 401, "woocommerce_rest_authentication_error", "Invalid signature - provided signature does not match.")
		r = do(t, c, "GET", signed(t, "GET", coll, apiKey{CK: "ck_" + strings.Repeat("0", 40), CS: "cs_x"}), nil, nil)
		assertWPError(t, r, 401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")

		u := signed(t, "GET", coll, rw)
		r = do(t, c, "GET", u, nil, nil)
		assert.Equal(t, 200, r.Status, "%s", r.Body)
		r = do(t, c, "GET", u, nil, nil)
		assertWPError(t, r, 401, "woocommerce_rest_authentication_error", "Invalid nonce - nonce has already been used.")
	})

	t.Run("https basic and query keys", func(t *testing.T) {
		sc := e.HTTPSBase + "/wp-json/wc/v3/webhooks"
		r := do(t, c, "GET", sc, nil, basic(rw))
		require.Equal(t, 200, r.Status, "%s", r.Body)
		assert.Equal(t, "2", r.Header.Get("X-WP-Total"))
		r = do(t, c, "GET", sc+"?consumer_key="+rw.CK+"&consumer_secret="+rw.CS, nil, nil)
		assert.Equal(t, 200, r.Status, "%s", r.Body)
		// Every URL form WordPress routes to the webhooks controller is
		// answered by the module, never by WordPress's own tables.
		for _, form := range []string{"/?rest_route=/wc/v3/webhooks", "/index.php/wp-json/wc/v3/webhooks",
			"//wp-json/wc/v3/WEBHOOKS", "/shop/?rest_route=/wc/v2/Webhooks", "/index.php?rest_route=/wc/v1/webhooks/"} {
			r = do(t, c, "GET", e.HTTPSBase+form, nil, basic(rw))
			assert.Equal(t, 200, r.Status, "%s: %s", form, r.Body)
			assert.Equal(t, "2", r.Header.Get("X-WP-Total"), form)
		}
		r = do(t, c, "GET", sc, nil, basic(apiKey{CK: rw.CK, CS: "cs_wrong"}))
		assertWPError(t, r, 401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
		r = do(t, c, "GET", sc, nil, basic(apiKey{CK: "ck_unknown", CS: "cs_unknown"}))
		assertWPError(t, r, 401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
		// Basic credentials over plain HTTP are ignored, as WooCommerce does.
		r = do(t, c, "GET", coll, nil, basic(rw))
		assertWPError(t, r, 401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
	})

	for _, rec := range e.Standin.Requests() {
		assert.NotContains(t, strings.ToLower(rec.RequestURI), "webhooks", "with auth keys the API never reaches the upstream")
	}
}

func ids(ws []restWebhook) []int64 {
	out := []int64{}
	for _, w := range ws {
		out = append(out, w.ID)
	}
	return out
}

// parseLinks parses a Link header into rel → URL.
func parseLinks(t testing.TB, header string) map[string]*url.URL {
	t.Helper()
	out := map[string]*url.URL{}
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		target, params, ok := strings.Cut(part, ";")
		require.True(t, ok, "Link part %q", part)
		u, err := url.Parse(strings.Trim(strings.TrimSpace(target), "<>"))
		require.NoError(t, err)
		rel := strings.Trim(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(params), "rel=")), `"`)
		out[rel] = u
	}
	return out
}
