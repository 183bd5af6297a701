package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
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
// missing nonce (403) and a restore that restores nothing (HPOS: a 302
// without bulk_action) give nothing.
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
	status := func(id int64) string {
		res, ok := e.Standin.Resource(id)
		require.True(t, ok)
		return res.Status
	}
	id := func(n int64) string { return fmt.Sprint(n) }

	// Product: trash from the list (GET link), restore from the trash view
	// (POST, no referer: WordPress falls back to edit.php?post_type=).
	r := admin("GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=trash&_wpnonce=n1", product), "https://shop.example/wp-admin/edit.php?post_type=product&paged=2")
	redirectedTo(t, r, "/wp-admin/edit.php", "post_type", "product", "paged", "2", "trashed", "1", "ids", id(product))
	require.Equal(t, "trash", status(product))
	r = admin("POST", fmt.Sprintf("/wp-admin/post.php?post=%d&action=untrash&_wpnonce=n2", product), "")
	redirectedTo(t, r, "/wp-admin/edit.php", "post_type", "product", "untrashed", "1", "ids", id(product))
	require.Equal(t, "publish", status(product))

	// Orders: post.php (post storage) and admin.php?page=wc-orders (HPOS).
	r = admin("GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=trash&_wpnonce=n3", o1), "https://shop.example/wp-admin/post.php?post=1&action=edit")
	redirectedTo(t, r, "/wp-admin/edit.php", "post_type", "shop_order", "trashed", "1", "ids", id(o1))
	r = admin("GET", fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&action=untrash&id=%d&_wpnonce=n4", o1), "")
	redirectedTo(t, r, "/wp-admin/admin.php", "page", "wc-orders", "bulk_action", "untrashed", "changed", "1", "ids", id(o1))
	require.Equal(t, "processing", status(o1), "restored to its status before the trash")
	r = admin("GET", fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&action=trash&id=%d&_wpnonce=n5", o2), "https://shop.example/wp-admin/admin.php?page=wc-orders&status=on-hold")
	redirectedTo(t, r, "/wp-admin/admin.php", "page", "wc-orders", "status", "on-hold", "bulk_action", "trashed", "changed", "1", "ids", id(o2))
	r = admin("GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=untrash&_wpnonce=n6", o2), "")
	redirectedTo(t, r, "/wp-admin/edit.php", "post_type", "shop_order", "untrashed", "1", "ids", id(o2))
	require.Equal(t, "on-hold", status(o2))

	// Nothing for these: a coupon (no webhook), a lost session, a missing
	// nonce, restoring an order not in the trash.
	r = admin("GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=trash&_wpnonce=n7", coupon), "")
	redirectedTo(t, r, "/wp-admin/edit.php", "post_type", "shop_coupon", "trashed", "1")
	r = do(t, e.C, "GET", e.HTTPSBase+fmt.Sprintf("/wp-admin/post.php?post=%d&action=trash&_wpnonce=n8", o1), nil, http.Header{})
	redirectedTo(t, r, "/wp-login.php", "reauth", "1")
	r = admin("GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=trash", o1), "")
	require.Equal(t, 403, r.Status)
	r = admin("GET", fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&action=untrash&id=%d&_wpnonce=n9", o1), "")
	redirectedTo(t, r, "/wp-admin/admin.php", "page", "wc-orders", "bulk_action", "", "changed", "")
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

// adminCookie is a logged-in session of the stand-in's shop manager.
const adminCookie = "wordpress_logged_in_0123abcd=manager%7C1900000000%7Ctoken%7Chash"

// adminForm sends a wp-admin request with a session: a GET (body "") or
// an urlencoded POST form.
func (e *eventsEnv) adminForm(t *testing.T, method, path, body, referer string) response {
	t.Helper()
	h := http.Header{"Cookie": {adminCookie}}
	if body != "" {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if referer != "" {
		h.Set("Referer", referer)
	}
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return do(t, e.C, method, e.HTTPSBase+path, b, h)
}

// newItemID reads the post_ID of an edit screen.
func newItemID(t *testing.T, r response) int64 {
	t.Helper()
	require.Equal(t, 200, r.Status, "%s", r.Body)
	m := regexp.MustCompile(`name="post_ID" value="(\d+)"`).FindSubmatch(r.Body)
	require.NotNil(t, m, "%s", r.Body)
	id, err := strconv.ParseInt(string(m[1]), 10, 64)
	require.NoError(t, err)
	return id
}

// createREST creates a resource through the shop's REST client.
func (e *eventsEnv) createREST(t *testing.T, path, body string) int64 {
	t.Helper()
	r := e.Write(t, "POST", path, body)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	return idOf(t, r)
}

// deliveredIDs returns the sorted resource ids a receiver got, checking
// each delivery's topic and payload version ("" for {"id":N} payloads).
func deliveredIDs(t *testing.T, rc *receiver, topic, version string) []int64 {
	t.Helper()
	var out []int64
	for _, d := range rc.Deliveries() {
		assert.Equal(t, topic, d.Header.Get("X-WC-Webhook-Topic"))
		var item struct {
			ID int64 `json:"id"`
		}
		require.NoError(t, json.Unmarshal(d.Body, &item), "%s", d.Body)
		if version == "" {
			assert.JSONEq(t, fmt.Sprintf(`{"id":%d}`, item.ID), string(d.Body))
		} else {
			assertVersion(t, version, topic, d.Body)
		}
		out = append(out, item.ID)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func sorted(ids ...int64) []int64 {
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// TestEventsFromAdminSaves: saves of wp-admin's edit screens, through the
// module, give the events WooCommerce's admin hooks fire, once each per
// save, in each webhook's version: the first save of a product or coupon
// made with "Add new" (an auto-draft until then) gives .created and
// .updated (woocommerce_process_*_meta within 10 s of the post date, and
// woocommerce_update_*), a later save .updated; an order's first save
// (post.php or HPOS's admin.php?page=wc-orders) gives order.created, a
// later one order.updated. Failed saves (a lost session, a missing nonce,
// a missing item, a form that is no save) give nothing.
func TestEventsFromAdminSaves(t *testing.T) {
	e := newEventsEnv(t)
	oldProduct := e.createREST(t, "/wp-json/wc/v3/products", `{"name":"Mug","status":"publish"}`)
	oldOrder := e.createREST(t, "/wp-json/wc/v3/orders", `{"status":"processing"}`)
	e.Standin.AdvanceAdminClock(11 * time.Second) // both made more than 10 s before the saves below
	pc1, pc3 := e.hooksInV1AndV3(t, "product.created")
	pu1, pu3 := e.hooksInV1AndV3(t, "product.updated")
	cc1, cc3 := e.hooksInV1AndV3(t, "coupon.created")
	cu1, cu3 := e.hooksInV1AndV3(t, "coupon.updated")
	oc1, oc3 := e.hooksInV1AndV3(t, "order.created")
	ou1, ou3 := e.hooksInV1AndV3(t, "order.updated")

	editpost := func(id int64, postType, original, extra string) response {
		t.Helper()
		return e.adminForm(t, "POST", "/wp-admin/post.php", fmt.Sprintf("_wpnonce=n&_wp_http_referer=x&action=editpost&originalaction=editpost&post_type=%s&original_post_status=%s&post_ID=%d&%s", postType, original, id, extra), "")
	}
	id := func(n int64) string { return strconv.FormatInt(n, 10) }

	// Product: Add new (an auto-draft), the first save publishes it.
	product := newItemID(t, e.adminForm(t, "GET", "/wp-admin/post-new.php?post_type=product", "", ""))
	redirectedTo(t, editpost(product, "product", "auto-draft", "post_title=Hat&publish=Publish"), "/wp-admin/post.php", "post", id(product), "action", "edit", "message", "6")
	// An old product's save.
	redirectedTo(t, editpost(oldProduct, "product", "publish", "post_title=Mug+2&save=Update"), "/wp-admin/post.php", "message", "1")
	// The new product saved again, 11 s later: no longer created.
	e.Standin.AdvanceAdminClock(11 * time.Second)
	redirectedTo(t, editpost(product, "product", "publish", "post_title=Hat+2&save=Update"), "/wp-admin/post.php", "message", "1")

	// Coupon: Add new, saved as a draft (a draft is dated at every save).
	coupon := newItemID(t, e.adminForm(t, "GET", "/wp-admin/post-new.php?post_type=shop_coupon", "", ""))
	redirectedTo(t, editpost(coupon, "shop_coupon", "auto-draft", "post_title=SAVE10&post_status=draft&save=Save+Draft"), "/wp-admin/post.php", "message", "10")

	// Orders in post storage: Add order, its first save, a later save.
	order := newItemID(t, e.adminForm(t, "GET", "/wp-admin/post-new.php?post_type=shop_order", "", ""))
	redirectedTo(t, editpost(order, "shop_order", "auto-draft", "order_status=wc-processing&save=Create"), "/wp-admin/post.php", "post", id(order))
	redirectedTo(t, editpost(order, "shop_order", "wc-processing", "order_status=wc-completed&save=Update"), "/wp-admin/post.php", "post", id(order))
	redirectedTo(t, editpost(oldOrder, "shop_order", "wc-processing", "order_status=wc-on-hold&save=Update"), "/wp-admin/post.php", "post", id(oldOrder))

	// HPOS: Add order, its first save.
	hpos := newItemID(t, e.adminForm(t, "GET", "/wp-admin/admin.php?page=wc-orders&action=new", "", ""))
	edit := fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&action=edit&id=%d", hpos)
	redirectedTo(t, e.adminForm(t, "POST", edit, fmt.Sprintf("_wpnonce=n&action=edit_order&original_order_status=auto-draft&original_post_status=auto-draft&post_ID=%d&order_status=wc-on-hold", hpos), ""),
		"/wp-admin/admin.php", "page", "wc-orders", "action", "edit", "id", id(hpos), "message", "1")
	require.Equal(t, "on-hold", func() string { r, _ := e.Standin.Resource(hpos); return r.Status }())

	// Nothing for these: a lost session, a missing nonce, a missing item,
	// a post.php form that is no save, a multipart form, an HPOS form
	// that is no save.
	r := do(t, e.C, "POST", e.HTTPSBase+"/wp-admin/post.php", []byte(fmt.Sprintf("_wpnonce=n&action=editpost&post_type=product&post_ID=%d", oldProduct)), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	redirectedTo(t, r, "/wp-login.php", "reauth", "1")
	r = e.adminForm(t, "POST", "/wp-admin/post.php", fmt.Sprintf("action=editpost&post_type=product&post_ID=%d", oldProduct), "")
	require.Equal(t, 403, r.Status)
	r = editpost(999999, "product", "publish", "save=Update")
	require.Equal(t, 500, r.Status)
	r = e.adminForm(t, "POST", "/wp-admin/post.php", fmt.Sprintf("_wpnonce=n&action=inline-save&post_type=product&post_ID=%d", oldProduct), "")
	require.NotEqual(t, 302, r.Status)
	r = do(t, e.C, "POST", e.HTTPSBase+"/wp-admin/post.php", []byte("--b\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\neditpost\r\n--b--\r\n"),
		http.Header{"Cookie": {adminCookie}, "Content-Type": {"multipart/form-data; boundary=b"}})
	require.NotEqual(t, 302, r.Status)
	r = e.adminForm(t, "POST", edit, "_wpnonce=n&action=something_else", "")
	require.Equal(t, 200, r.Status)

	waitUntil(t, 30*time.Second, "every save delivered", func() bool {
		return len(pc1.Deliveries()) >= 1 && len(pc3.Deliveries()) >= 1 && len(pu1.Deliveries()) >= 3 && len(pu3.Deliveries()) >= 3 &&
			len(cc1.Deliveries()) >= 1 && len(cc3.Deliveries()) >= 1 && len(cu1.Deliveries()) >= 1 && len(cu3.Deliveries()) >= 1 &&
			len(oc1.Deliveries()) >= 2 && len(oc3.Deliveries()) >= 2 && len(ou1.Deliveries()) >= 2 && len(ou3.Deliveries()) >= 2
	})
	time.Sleep(settle) // nothing more may follow

	for _, v := range []struct {
		rc             *receiver
		topic, version string
		want           []int64
	}{
		{pc1, "product.created", "v1", []int64{product}},
		{pc3, "product.created", "v3", []int64{product}},
		{pu1, "product.updated", "v1", sorted(product, product, oldProduct)},
		{pu3, "product.updated", "v3", sorted(product, product, oldProduct)},
		{cc1, "coupon.created", "v1", []int64{coupon}},
		{cc3, "coupon.created", "v3", []int64{coupon}},
		{cu1, "coupon.updated", "v1", []int64{coupon}},
		{cu3, "coupon.updated", "v3", []int64{coupon}},
		{oc1, "order.created", "v1", sorted(order, hpos)},
		{oc3, "order.created", "v3", sorted(order, hpos)},
		{ou1, "order.updated", "v1", sorted(order, oldOrder)},
		{ou3, "order.updated", "v3", sorted(order, oldOrder)},
	} {
		assert.Equal(t, v.want, deliveredIDs(t, v.rc, v.topic, v.version), "%s (%s)", v.topic, v.version)
	}
}

// TestEventsFromAdminBulk: bulk trash and restore of wp-admin's lists
// (edit.php for products, coupons and orders in post storage, with
// action or action2, post[] or the "Undo" link's ids; HPOS's
// admin.php?page=wc-orders with id[]), through the module, give one
// <resource>.deleted ({"id":N}) or .restored (in the webhook's version)
// per id; a missing nonce, a lost session and a failed trash give nothing.
func TestEventsFromAdminBulk(t *testing.T) {
	e := newEventsEnv(t)
	p1 := e.createREST(t, "/wp-json/wc/v3/products", `{"name":"A","status":"publish"}`)
	p2 := e.createREST(t, "/wp-json/wc/v3/products", `{"name":"B","status":"draft"}`)
	p3 := e.createREST(t, "/wp-json/wc/v3/products", `{"name":"C","status":"publish"}`)
	o1 := e.createREST(t, "/wp-json/wc/v3/orders", `{"status":"processing"}`)
	o2 := e.createREST(t, "/wp-json/wc/v3/orders", `{"status":"on-hold"}`)
	c1 := e.createREST(t, "/wp-json/wc/v3/coupons", `{"code":"x"}`)
	pDel, oDel, cDel := newHookReceiver(t, nil), newHookReceiver(t, nil), newHookReceiver(t, nil)
	e.createHook(t, "/wp-json/wc/v3/webhooks", "product.deleted", pDel.URL)
	e.createHook(t, "/wp-json/wc/v2/webhooks", "order.deleted", oDel.URL)
	e.createHook(t, "/wp-json/wc/v3/webhooks", "coupon.deleted", cDel.URL)
	pRes1, pRes3 := e.hooksInV1AndV3(t, "product.restored")
	oRes1, oRes3 := e.hooksInV1AndV3(t, "order.restored")

	status := func(id int64) string { r, _ := e.Standin.Resource(id); return r.Status }
	ids := func(n ...int64) string {
		var s []string
		for _, id := range n {
			s = append(s, strconv.FormatInt(id, 10))
		}
		return strings.Join(s, ",")
	}

	// Products: bulk trash from the list, then the "Undo" link.
	r := e.adminForm(t, "GET", fmt.Sprintf("/wp-admin/edit.php?s=&post_status=all&post_type=product&_wpnonce=n&_wp_http_referer=x&action=trash&paged=1&post%%5B%%5D=%d&post%%5B%%5D=%d&action2=-1", p1, p2), "", "https://shop.example/wp-admin/edit.php?post_type=product")
	redirectedTo(t, r, "/wp-admin/edit.php", "post_type", "product", "trashed", "2", "ids", ids(p1, p2), "locked", "0")
	require.Equal(t, "trash", status(p2))
	r = e.adminForm(t, "GET", fmt.Sprintf("/wp-admin/edit.php?post_type=product&doaction=undo&action=untrash&ids=%s&_wpnonce=n", ids(p1, p2)), "", "")
	redirectedTo(t, r, "/wp-admin/edit.php", "untrashed", "2")
	require.Equal(t, "draft", status(p2), "restored to its status before the trash")
	// The bottom selector (action2), posted as a form.
	r = e.adminForm(t, "POST", "/wp-admin/edit.php", fmt.Sprintf("post_type=product&_wpnonce=n&action=-1&post%%5B%%5D=%d&action2=trash", p3), "")
	redirectedTo(t, r, "/wp-admin/edit.php", "trashed", "1", "ids", ids(p3))
	// A coupon.
	r = e.adminForm(t, "GET", fmt.Sprintf("/wp-admin/edit.php?post_type=shop_coupon&action=trash&post%%5B%%5D=%d&_wpnonce=n", c1), "", "")
	redirectedTo(t, r, "/wp-admin/edit.php", "trashed", "1")

	// HPOS orders: bulk trash, bulk restore.
	r = e.adminForm(t, "GET", fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&_wpnonce=n&action=trash&id%%5B%%5D=%d&id%%5B%%5D=%d&action2=-1", o1, o2), "", "https://shop.example/wp-admin/admin.php?page=wc-orders")
	redirectedTo(t, r, "/wp-admin/admin.php", "bulk_action", "trashed", "changed", "2", "ids", ids(o2, o1))
	r = e.adminForm(t, "GET", fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&status=trash&_wpnonce=n&action=untrash&id%%5B%%5D=%d&id%%5B%%5D=%d", o1, o2), "", "https://shop.example/wp-admin/admin.php?page=wc-orders&status=trash")
	redirectedTo(t, r, "/wp-admin/admin.php", "status", "trash", "bulk_action", "untrashed", "changed", "2")
	require.Equal(t, "on-hold", status(o2))

	// Nothing for these: a missing nonce, a lost session, trashing a
	// product already in the trash (wp_die), a filter submit.
	r = e.adminForm(t, "GET", fmt.Sprintf("/wp-admin/edit.php?post_type=product&action=trash&post%%5B%%5D=%d", p1), "", "")
	require.Equal(t, 403, r.Status)
	r = do(t, e.C, "GET", e.HTTPSBase+fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&action=trash&id=%d&_wpnonce=n", o1), nil, http.Header{})
	redirectedTo(t, r, "/wp-login.php", "reauth", "1")
	r = e.adminForm(t, "GET", fmt.Sprintf("/wp-admin/edit.php?post_type=product&action=trash&post%%5B%%5D=%d&_wpnonce=n", p3), "", "")
	require.Equal(t, 500, r.Status)
	r = e.adminForm(t, "GET", fmt.Sprintf("/wp-admin/edit.php?post_type=product&action=trash&post%%5B%%5D=%d&_wpnonce=n&filter_action=Filter", p1), "", "")
	require.NotEqual(t, 302, r.Status)
	require.Equal(t, "publish", status(p1))

	waitUntil(t, 30*time.Second, "every bulk action delivered", func() bool {
		return len(pDel.Deliveries()) >= 3 && len(cDel.Deliveries()) >= 1 && len(oDel.Deliveries()) >= 2 &&
			len(pRes1.Deliveries()) >= 2 && len(pRes3.Deliveries()) >= 2 && len(oRes1.Deliveries()) >= 2 && len(oRes3.Deliveries()) >= 2
	})
	time.Sleep(settle) // nothing more may follow

	assert.Equal(t, sorted(p1, p2, p3), deliveredIDs(t, pDel, "product.deleted", ""))
	assert.Equal(t, []int64{c1}, deliveredIDs(t, cDel, "coupon.deleted", ""))
	assert.Equal(t, sorted(o1, o2), deliveredIDs(t, oDel, "order.deleted", ""))
	assert.Equal(t, sorted(p1, p2), deliveredIDs(t, pRes1, "product.restored", "v1"))
	assert.Equal(t, sorted(p1, p2), deliveredIDs(t, pRes3, "product.restored", "v3"))
	assert.Equal(t, sorted(o1, o2), deliveredIDs(t, oRes1, "order.restored", "v1"))
	assert.Equal(t, sorted(o1, o2), deliveredIDs(t, oRes3, "order.restored", "v3"))
}

// redirectedTo asserts WordPress's 302 to path with the query values want
// (name, value pairs; "" for an absent one).
func redirectedTo(t *testing.T, r response, path string, want ...string) {
	t.Helper()
	require.Equal(t, 302, r.Status, "%s", r.Body)
	loc, err := url.Parse(r.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, path, loc.Path)
	for i := 0; i+1 < len(want); i += 2 {
		assert.Equal(t, want[i+1], loc.Query().Get(want[i]), "%s in %s", want[i], loc)
	}
}
