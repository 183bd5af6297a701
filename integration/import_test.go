package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/standin"
)

// TestImportMigration follows README's "Migrating an existing shop": a
// stand-in WordPress holds webhooks; `caddy wc-webhooks import` copies the
// wc_webhooks export into the module (dry run first, through the admin API,
// changing nothing), then imports and pauses WordPress's copies through
// WordPress directly. The module's API then lists the same webhooks under
// the same ids, a delivery verifies with the old secret, and WordPress's
// copies are paused. A second run changes nothing.
func TestImportMigration(t *testing.T) {
	h := newHookEnv(t, dispatchBlock(true))
	rc := newHookReceiver(t, nil)
	old := hookSecret{Stored: "0ld &amp; s3cret", Key: "0ld & s3cret"}
	created := time.Date(2023, 3, 4, 5, 6, 7, 0, time.UTC)
	wp := h.Standin
	wp.AddWebhook(standin.Webhook{ID: 17, Name: "CRM\tsync", Status: "active", Topic: "order.created", DeliveryURL: rc.URL,
		Secret: old.Stored, APIVersion: 3, UserID: standin.AdminID, Created: created})
	wp.AddWebhook(standin.Webhook{ID: 21, Name: "Stock feed", Status: "paused", Topic: "product.updated",
		DeliveryURL: "https://feed.example/hook", Secret: "other", APIVersion: -1, UserID: standin.ManagerID,
		FailureCount: 2, Created: created, Modified: created.Add(time.Hour)})
	wp.AddWebhook(standin.Webhook{ID: 35, Name: "Coupons", Status: "disabled", Topic: "coupon.created",
		DeliveryURL: "https://c.example/hook", Secret: "third", APIVersion: 2, UserID: standin.AdminID, FailureCount: 5, Created: created})
	service := standin.NewKey(standin.AdminID, standin.PermReadWrite)
	wp.AddKey(service)

	export := filepath.Join(h.Dir, "wc_webhooks.tsv")
	require.NoError(t, os.WriteFile(export, []byte(wp.ExportTSV()), 0o600))
	importArgs := func(backend ...string) []string {
		args := []string{"wc-webhooks", "import", "--site", siteName, "--from-db", export, "--pause-in-wordpress",
			"--wordpress", "http://" + h.Upstream, "--service-key", service.ConsumerKey + ":" + service.ConsumerSecret}
		return append(args, backend...)
	}
	wpStatuses := func() []string {
		var out []string
		for _, id := range []int64{17, 21, 35} {
			w, ok := wp.StoredWebhook(id)
			require.True(t, ok)
			out = append(out, w.Status)
		}
		return out
	}
	apiList := func() []restWebhook {
		r := h.API(t, "GET", "/wp-json/wc/v3/webhooks?per_page=100", "")
		require.Equal(t, 200, r.Status, "list: %s", r.Body)
		var ws []restWebhook
		r.JSON(t, &ws)
		sort.Slice(ws, func(i, j int) bool { return ws[i].ID < ws[j].ID })
		return ws
	}

	// Dry run, through the running Caddy's admin API (no --redis).
	out := runCaddyCLI(t, h.Dir, append(importArgs("--address", h.admin), "--dry-run")...)
	assert.Contains(t, out, "DRY RUN")
	assert.Contains(t, out, "would pause in WordPress: webhook 35")
	assert.Empty(t, apiList(), "a dry run imports nothing")
	assert.Equal(t, []string{"active", "paused", "disabled"}, wpStatuses(), "a dry run pauses nothing")

	out = runCaddyCLI(t, h.Dir, importArgs("--redis", h.RedisURL)...)
	assert.Contains(t, out, "3 created, 0 updated, 0 unchanged")
	assert.NotContains(t, out, "0ld", "secrets are never printed")
	assert.Equal(t, []string{"paused", "paused", "paused"}, wpStatuses(), "WordPress's copies are paused")

	ws := apiList()
	require.Len(t, ws, 3)
	got := [][]any{}
	for _, w := range ws {
		got = append(got, []any{w.ID, w.Name, w.Status, w.Topic, w.DeliveryURL, *w.DateCreatedGMT})
	}
	assert.Equal(t, [][]any{
		{int64(17), "CRM\tsync", "active", "order.created", rc.URL, "2023-03-04T05:06:07"},
		{int64(21), "Stock feed", "paused", "product.updated", "https://feed.example/hook", "2023-03-04T05:06:07"},
		{int64(35), "Coupons", "disabled", "coupon.created", "https://c.example/hook", "2023-03-04T05:06:07"},
	}, got, "the API lists WordPress's webhooks under their ids")
	assert.Nil(t, ws[0].DateModifiedGMT, "never modified stays never modified")
	stored := h.Stored(t, 21)
	assert.Equal(t, []any{"legacy_v3", standin.ManagerID, 2}, []any{stored.APIVersion, stored.UserID, stored.FailureCount})

	// A delivery goes out under the old id, signed with the old secret.
	time.Sleep(fanoutCacheWait)
	h.Publish(t, `{"topic":"order.created","resource_id":5,"payload":{"id":5}}`)
	waitUntil(t, 20*time.Second, "the delivery", func() bool { return len(rc.Deliveries()) == 1 })
	verifyDelivery(t, rc.Deliveries()[0], wantDelivery{WebhookID: 17, Topic: "order.created", Secret: old, Sources: h.Sources()})
	assert.Empty(t, rc.Pings(), "importing does not ping")

	// Running the migration again changes nothing, in the module or in WordPress.
	out = runCaddyCLI(t, h.Dir, importArgs("--redis", h.RedisURL)...)
	assert.Contains(t, out, "0 created, 0 updated, 3 unchanged")
	assert.Equal(t, "active", h.Stored(t, 17).Status)

	// New webhooks get ids above the floor, never an imported one.
	nw := h.CreateWebhook(t, "new", "order.updated", rc.URL, hookSecret{Stored: "n", Key: "n"}, "")
	assert.Greater(t, nw.ID, int64(100000), fmt.Sprintf("new id %d", nw.ID))
}
