package integration

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/standin"
)

// restClientCase is one way the official JS client reaches the API.
type restClientCase struct {
	name    string
	base    func(e *testEnv) string
	qsAuth  bool
	version string
}

func restClientCases() []restClientCase {
	var out []restClientCase
	for _, v := range []string{"wc/v1", "wc/v2", "wc/v3"} {
		out = append(out,
			restClientCase{v + " http oauth", func(e *testEnv) string { return e.HTTPBase }, false, v},
			restClientCase{v + " https basic", func(e *testEnv) string { return e.HTTPSBase }, false, v},
			restClientCase{v + " https query keys", func(e *testEnv) string { return e.HTTPSBase }, true, v},
		)
	}
	return out
}

// assertRESTCrud checks the steps of rest-api.mjs's crud scenario.
// With upstreamOAuth, the deliveries step is not asserted: over OAuth the
// module can only replay the client's signed request, and WooCommerce has no
// wc/v3 deliveries route to answer it with a permission verdict.
func assertRESTCrud(t *testing.T, run jsRun, base, version string, upstreamOAuth bool) {
	create := run.step("create")
	require.Equal(t, 201, create.Status, "create: %s", create.Data)
	var w restWebhook
	create.data(t, &w)
	item := fmt.Sprintf("%s/wp-json/%s/webhooks/%d", base, version, w.ID)
	assert.Equal(t, item, create.Headers["location"])
	assert.Equal(t, []any{"npm hook", "order.created", "active"}, []any{w.Name, w.Topic, w.Status})

	get := run.step("get")
	require.Equal(t, 200, get.Status, "get: %s", get.Data)
	var got restWebhook
	get.data(t, &got)
	assert.Equal(t, w.ID, got.ID)
	require.Len(t, got.Links.Self, 1)
	assert.Equal(t, item, got.Links.Self[0].Href)

	list := run.step("list")
	require.Equal(t, 200, list.Status, "list: %s", list.Data)
	assert.Equal(t, []string{"1", "1"}, []string{list.Headers["x-wp-total"], list.Headers["x-wp-totalpages"]})
	var ws []restWebhook
	list.data(t, &ws)
	assert.Equal(t, []int64{w.ID}, ids(ws))

	upd := run.step("update")
	require.Equal(t, 200, upd.Status, "update: %s", upd.Data)
	upd.data(t, &got)
	assert.Equal(t, []any{"npm renamed", "paused"}, []any{got.Name, got.Status})

	batch := run.step("batch")
	require.Equal(t, 200, batch.Status, "batch: %s", batch.Data)
	var b struct {
		Create []restWebhook `json:"create"`
		Update []restWebhook `json:"update"`
	}
	batch.data(t, &b)
	require.Len(t, b.Create, 1, "batch: %s", batch.Data)
	require.Len(t, b.Update, 1, "batch: %s", batch.Data)
	assert.Equal(t, []any{"npm batch", "product.updated"}, []any{b.Create[0].Name, b.Create[0].Topic})
	assert.Equal(t, []any{w.ID, "active"}, []any{b.Update[0].ID, b.Update[0].Status})

	// DESIGN.md: delivery logs are served on wc/v1, v2 and also v3.
	if dl := run.step("deliveries"); !upstreamOAuth || version != "wc/v3" {
		require.Equal(t, 200, dl.Status, "deliveries: %s", dl.Data)
		var d []map[string]any
		dl.data(t, &d)
	}

	assert.Equal(t, 200, run.step("delete-batch-created").Status)
	del := run.step("delete")
	require.Equal(t, 200, del.Status, "delete: %s", del.Data)
	del.data(t, &got)
	assert.Equal(t, w.ID, got.ID)
	gone := run.step("get-deleted")
	assert.Equal(t, 404, gone.Status)
	assert.Contains(t, string(gone.Data), `"woocommerce_rest_shop_webhook_invalid_id"`)
}

// TestNPMRestClient runs @woocommerce/woocommerce-rest-api 1.0.2 against
// Caddy with `auth keys`, for wc/v1, v2 and v3, over HTTP (OAuth 1.0a) and
// HTTPS (Basic and query-string keys).
func TestNPMRestClient(t *testing.T) {
	ensureNodeModules(t)
	e := newEnv(t, envOptions{})
	key := e.AddKey("read_write")
	hook := newReceiver(t)
	for _, tc := range restClientCases() {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{
				"WC_URL": tc.base(e), "WC_CK": key.CK, "WC_CS": key.CS, "WC_VERSION": tc.version,
				"WC_CA": e.CertFile, "WC_DELIVERY_URL": hook, "WC_SCENARIO": "crud",
			}
			if tc.qsAuth {
				env["WC_QS_AUTH"] = "1"
			}
			assertRESTCrud(t, runScenario(t, "rest-api.mjs", env), tc.base(e), tc.version, false)
		})
	}
}

// TestNPMLegacyClient runs woocommerce-api 1.5.0 against /wc-api/v2 and
// /wc-api/v3 through Caddy with `auth keys`, over HTTP and HTTPS.
func TestNPMLegacyClient(t *testing.T) {
	ensureNodeModules(t)
	e := newEnv(t, envOptions{})
	key := e.AddKey("read_write")
	hook := newReceiver(t)
	for _, v := range []string{"v2", "v3"} {
		for _, base := range []string{e.HTTPBase, e.HTTPSBase} {
			t.Run(v+" "+strings.SplitN(base, ":", 2)[0], func(t *testing.T) {
				run := runScenario(t, "legacy-api.mjs", map[string]string{
					"WC_URL": base, "WC_CK": key.CK, "WC_CS": key.CS, "WC_VERSION": v,
					"WC_CA": e.CertFile, "WC_DELIVERY_URL": hook, "WC_SCENARIO": "crud",
				})
				assertLegacyCrud(t, run)
			})
		}
	}
}

type legacyWebhook struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	Topic     string `json:"topic"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

func assertLegacyCrud(t *testing.T, run jsRun) {
	create := run.step("create")
	require.Equal(t, 201, create.Status, "create: %s", create.Data)
	var one struct {
		Webhook legacyWebhook `json:"webhook"`
	}
	create.data(t, &one)
	w := one.Webhook
	assert.Equal(t, []any{"legacy hook", "customer.created", "active"}, []any{w.Name, w.Topic, w.Status})
	assert.True(t, strings.HasSuffix(w.CreatedAt, "Z"), "created_at is UTC with Z: %q", w.CreatedAt)

	get := run.step("get")
	require.Equal(t, 200, get.Status, "get: %s", get.Data)
	get.data(t, &one)
	assert.Equal(t, w.ID, one.Webhook.ID)

	list := run.step("list")
	require.Equal(t, 200, list.Status, "list: %s", list.Data)
	var many struct {
		Webhooks []legacyWebhook `json:"webhooks"`
	}
	list.data(t, &many)
	require.Len(t, many.Webhooks, 1)
	assert.Equal(t, w.ID, many.Webhooks[0].ID)

	count := run.step("count")
	require.Equal(t, 200, count.Status)
	assert.JSONEq(t, `{"count":1}`, string(count.Data))

	edit := run.step("edit")
	require.Equal(t, 200, edit.Status, "edit: %s", edit.Data)
	edit.data(t, &one)
	assert.Equal(t, "legacy renamed", one.Webhook.Name)

	dl := run.step("deliveries")
	require.Equal(t, 200, dl.Status, "deliveries: %s", dl.Data)
	var d struct {
		Deliveries []map[string]any `json:"webhook_deliveries"`
	}
	dl.data(t, &d)
	assert.Contains(t, string(dl.Data), `"webhook_deliveries"`)

	del := run.step("delete")
	require.Equal(t, 200, del.Status, "delete: %s", del.Data)
	assert.JSONEq(t, `{"message":"Permanently deleted webhook"}`, string(del.Data))

	gone := run.step("get-deleted")
	assert.Equal(t, 404, gone.Status)
	assert.JSONEq(t, fmt.Sprintf(`{"errors":[{"code":"woocommerce_api_no_webhook_found","message":"No webhook found with the ID equal to %d"}]}`, w.ID), string(gone.Data))
}

// TestNPMClientsAgainstStandin checks the stand-in's OAuth verification
// against the real clients' signatures (no Caddy involved).
func TestNPMClientsAgainstStandin(t *testing.T) {
	ensureNodeModules(t)
	s := standin.New()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	k := standin.NewKey(standin.ManagerID, standin.PermReadWrite)
	s.AddKey(k)

	for _, v := range []string{"wc/v1", "wc/v2", "wc/v3"} {
		run := runScenario(t, "rest-api.mjs", map[string]string{
			"WC_URL": srv.URL, "WC_CK": k.ConsumerKey, "WC_CS": k.ConsumerSecret, "WC_VERSION": v, "WC_SCENARIO": "probe",
		})
		list := run.step("list")
		assert.Equal(t, 200, list.Status, "%s: %s", v, list.Data)
		assert.JSONEq(t, `[]`, string(list.Data))

		run = runScenario(t, "rest-api.mjs", map[string]string{
			"WC_URL": srv.URL, "WC_CK": k.ConsumerKey, "WC_CS": k.ConsumerSecret + "x", "WC_VERSION": v, "WC_SCENARIO": "probe",
		})
		list = run.step("list")
		assert.Equal(t, 401, list.Status, "%s wrong secret", v)
		assert.Contains(t, string(list.Data), "Invalid signature - provided signature does not match.")
	}
	for _, v := range []string{"v2", "v3"} {
		run := runScenario(t, "legacy-api.mjs", map[string]string{
			"WC_URL": srv.URL, "WC_CK": k.ConsumerKey, "WC_CS": k.ConsumerSecret, "WC_VERSION": v, "WC_SCENARIO": "probe",
		})
		count := run.step("count")
		assert.Equal(t, 200, count.Status, "%s: %s", v, count.Data)
		assert.JSONEq(t, `{"count":0}`, string(count.Data))
	}
}

// TestNPMRestClientUpstreamAuth runs the official JS client through Caddy
// with `auth upstream`: the stand-in verifies the client's own OAuth
// signature (replayed by the module) or Basic credentials.
func TestNPMRestClientUpstreamAuth(t *testing.T) {
	ensureNodeModules(t)
	e := newEnv(t, envOptions{Auth: "upstream"})
	key := standinKey(e, standin.ManagerID, standin.PermReadWrite)
	hook := newReceiver(t)
	for _, tc := range []restClientCase{restClientCases()[7], restClientCases()[6]} { // wc/v3 https basic, http oauth
		t.Run(tc.name, func(t *testing.T) {
			run := runScenario(t, "rest-api.mjs", map[string]string{
				"WC_URL": tc.base(e), "WC_CK": key.CK, "WC_CS": key.CS, "WC_VERSION": tc.version,
				"WC_CA": e.CertFile, "WC_DELIVERY_URL": hook, "WC_SCENARIO": "crud",
			})
			assertRESTCrud(t, run, tc.base(e), tc.version, strings.HasPrefix(tc.base(e), "http:"))
		})
	}
	assertOnlyProbes(t, e)
}

// TestNPMLegacyClientUpstreamAuth runs woocommerce-api 1.5.0 through Caddy
// with `auth upstream` over HTTPS: the stand-in judges the key by Basic
// auth on the legacy probes (count for reads, create for writes).
func TestNPMLegacyClientUpstreamAuth(t *testing.T) {
	ensureNodeModules(t)
	e := newEnv(t, envOptions{Auth: "upstream"})
	key := standinKey(e, standin.AdminID, standin.PermReadWrite)
	hook := newReceiver(t)
	for _, v := range []string{"v2", "v3"} {
		t.Run(v, func(t *testing.T) {
			run := runScenario(t, "legacy-api.mjs", map[string]string{
				"WC_URL": e.HTTPSBase, "WC_CK": key.CK, "WC_CS": key.CS, "WC_VERSION": v,
				"WC_CA": e.CertFile, "WC_DELIVERY_URL": hook, "WC_SCENARIO": "crud",
			})
			assertLegacyCrud(t, run)
		})
	}
	assertOnlyProbes(t, e)
}
