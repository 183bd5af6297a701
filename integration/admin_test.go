package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEventsFromAdminTrash: wp-admin's trash and restore links (post.php
// for products and orders in post storage, admin.php?page=wc-orders for
// HPOS orders), through the module, give exactly one <resource>.deleted
// ({"id":N}) and one <resource>.restored (the resource read in the
// webhook's version) per action; a lost session (302 to wp-login.php), a
// missing nonce (403) and a failed trash (500) give nothing.
func TestEventsFromAdminTrash(t *testing.T) {
	e := newEventsEnv(t)
	pDel, pRes := newHookReceiver(t, nil), newHookReceiver(t, nil)
	oDel, oRes := newHookReceiver(t, nil), newHookReceiver(t, nil)
	e.createHook(t, "/wp-json/wc/v3/webhooks", "product.deleted", pDel.URL)
	e.createHook(t, "/wp-json/wc/v3/webhooks", "product.restored", pRes.URL)
	e.createHook(t, "/wp-json/wc/v3/webhooks", "order.deleted", oDel.URL)
	e.createHook(t, "/wp-json/wc/v1/webhooks", "order.restored", oRes.URL)

	create := func(path, body string) int64 {
		t.Helper()
		r := e.Write(t, "POST", path, body)
		require.Equal(t, 201, r.Status, "%s", r.Body)
		var it struct {
			ID int64 `json:"id"`
		}
		r.JSON(t, &it)
		require.Positive(t, it.ID)
		return it.ID
	}
	product := create("/wp-json/wc/v3/products", `{"name":"Mug","status":"publish"}`)
	o1 := create("/wp-json/wc/v3/orders", `{"status":"processing"}`)
	o2 := create("/wp-json/wc/v3/orders", `{"status":"on-hold"}`)
	coupon := create("/wp-json/wc/v3/coupons", `{"code":"x"}`)
	time.Sleep(fanoutCacheWait)

	const cookie = "wordpress_logged_in_0123abcd=manager%7C1900000000%7Ctoken%7Chash"
	admin := func(method, path, referer string, hdr ...string) response {
		t.Helper()
		h := http.Header{"Cookie": {cookie}}
		if referer != "" {
			h.Set("Referer", referer)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			h.Set(hdr[i], hdr[i+1])
		}
		return do(t, e.C, method, e.HTTPSBase+path, nil, h)
	}
	located := func(r response, path string, want ...string) {
		t.Helper()
		require.Equal(t, 302, r.Status, "%s", r.Body)
		loc, err := url.Parse(r.Header.Get("Location"))
		require.NoError(t, err)
		assert.Equal(t, path, loc.Path)
		for i := 0; i+1 < len(want); i += 2 {
			assert.Equal(t, want[i+1], loc.Query().Get(want[i]), "%s in %s", want[i], loc)
		}
	}
	status := func(id int64) string {
		res, ok := e.Standin.Resource(id)
		require.True(t, ok)
		return res.Status
	}
	id := func(n int64) string { return fmt.Sprint(n) }

	// Product: trash from the list (GET link), restore from the trash view
	// (POST, no referer: WordPress falls back to edit.php?post_type=).
	r := admin("GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=trash&_wpnonce=n1", product), "https://shop.example/wp-admin/edit.php?post_type=product&paged=2")
	located(r, "/wp-admin/edit.php", "post_type", "product", "paged", "2", "trashed", "1", "ids", id(product))
	require.Equal(t, "trash", status(product))
	r = admin("POST", fmt.Sprintf("/wp-admin/post.php?post=%d&action=untrash&_wpnonce=n2", product), "")
	located(r, "/wp-admin/edit.php", "post_type", "product", "untrashed", "1", "ids", id(product))
	require.Equal(t, "publish", status(product))

	// Orders: post.php (post storage) and admin.php?page=wc-orders (HPOS).
	r = admin("GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=trash&_wpnonce=n3", o1), "https://shop.example/wp-admin/post.php?post=1&action=edit")
	located(r, "/wp-admin/edit.php", "post_type", "shop_order", "trashed", "1", "ids", id(o1))
	r = admin("GET", fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&action=untrash&id=%d&_wpnonce=n4", o1), "")
	located(r, "/wp-admin/admin.php", "page", "wc-orders", "untrashed", "1", "ids", id(o1))
	require.Equal(t, "processing", status(o1), "restored to its status before the trash")
	r = admin("GET", fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&action=trash&id=%d&_wpnonce=n5", o2), "https://shop.example/wp-admin/admin.php?page=wc-orders&status=on-hold")
	located(r, "/wp-admin/admin.php", "page", "wc-orders", "status", "on-hold", "trashed", "1", "ids", id(o2))
	r = admin("GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=untrash&_wpnonce=n6", o2), "")
	located(r, "/wp-admin/edit.php", "post_type", "shop_order", "untrashed", "1", "ids", id(o2))
	require.Equal(t, "on-hold", status(o2))

	// Nothing for these: a coupon (no webhook), a lost session, a missing
	// nonce, restoring an order not in the trash.
	r = admin("GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=trash&_wpnonce=n7", coupon), "")
	located(r, "/wp-admin/edit.php", "post_type", "shop_coupon", "trashed", "1")
	r = do(t, e.C, "GET", e.HTTPSBase+fmt.Sprintf("/wp-admin/post.php?post=%d&action=trash&_wpnonce=n8", o1), nil, http.Header{})
	located(r, "/wp-login.php", "reauth", "1")
	r = admin("GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=trash", o1), "")
	require.Equal(t, 403, r.Status)
	r = admin("GET", fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&action=untrash&id=%d&_wpnonce=n9", o1), "")
	require.Equal(t, 500, r.Status)
	require.Equal(t, "processing", status(o1))

	waitUntil(t, 30*time.Second, "every trash and restore delivered", func() bool {
		return len(pDel.Deliveries()) >= 1 && len(pRes.Deliveries()) >= 1 && len(oDel.Deliveries()) >= 2 && len(oRes.Deliveries()) >= 2
	})
	time.Sleep(settle) // nothing more may follow

	ids := func(rc *receiver, topic, version string) []int64 {
		var out []int64
		for _, d := range rc.Deliveries() {
			assert.Equal(t, topic, d.Header.Get("X-WC-Webhook-Topic"))
			var item struct {
				ID     int64  `json:"id"`
				Status string `json:"status"`
			}
			require.NoError(t, json.Unmarshal(d.Body, &item), "%s", d.Body)
			if strings.HasSuffix(topic, ".deleted") {
				assert.JSONEq(t, fmt.Sprintf(`{"id":%d}`, item.ID), string(d.Body))
			} else {
				assertVersion(t, version, topic, d.Body)
				assert.Equal(t, status(item.ID), item.Status, "the resource as restored")
			}
			out = append(out, item.ID)
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return out
	}
	assert.Equal(t, []int64{product}, ids(pDel, "product.deleted", ""))
	assert.Equal(t, []int64{product}, ids(pRes, "product.restored", "v3"))
	assert.Equal(t, []int64{o1, o2}, ids(oDel, "order.deleted", ""))
	assert.Equal(t, []int64{o1, o2}, ids(oRes, "order.restored", "v1"))
}
