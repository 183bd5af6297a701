package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/standin"
)

// TestShopDay is issue 4's acceptance test: a scripted day of a shop
// through the proxy (REST writes in every API version, batch, a refund, a
// variation, checkouts, registrations, add to cart, wp-admin saves, trash
// and restore) plus changes behind its back (cron, WP-CLI), with webhooks
// on every order/product/coupon/customer topic and add to cart, spread
// over wp_api_v1, v2, v3 and legacy_v3. Each step records what WooCommerce
// fires; the receiver must get exactly that multiset of (webhook, topic,
// resource) deliveries, once each, each payload in its webhook's version,
// after reconciliation has looked at every change and passed once more.
func TestShopDay(t *testing.T) {
	d := newShopDay(t)
	ctx := context.Background()
	st := d.Standin
	for _, h := range []struct {
		topic    string
		versions []string
	}{
		{"order.created", []string{"v1", "v3"}},
		{"order.updated", []string{"v2", "legacy"}},
		{"order.deleted", []string{"v3", "legacy"}},
		{"order.restored", []string{"v1"}},
		{"product.created", []string{"v3", "legacy"}},
		{"product.updated", []string{"v1", "v2"}},
		{"product.deleted", []string{"v2"}},
		{"product.restored", []string{"v3", "v1"}},
		{"coupon.created", []string{"legacy"}},
		{"coupon.updated", []string{"v3"}},
		{"coupon.deleted", []string{"v1"}},
		{"coupon.restored", []string{"v2"}},
		{"customer.created", []string{"v2", "v3"}},
		{"customer.updated", []string{"v1", "legacy"}},
		{"customer.deleted", []string{"v3"}},
		{"action.woocommerce_add_to_cart", []string{"v2", "v3"}},
	} {
		d.hook(t, h.topic, h.versions...)
	}
	time.Sleep(fanoutCacheWait)
	waitUntil(t, 30*time.Second, "reconciliation's first passes (watermark, trash snapshots)", func() bool {
		for _, res := range []string{"order", "product", "coupon"} {
			if !d.RDB.SIsMember(ctx, "wcwh:{shop}:rc:tinit", res).Val() {
				return false
			}
		}
		return true
	})
	d.phase(t, "webhooks created, reconciliation started")

	// REST writes: products.
	s := "REST v1 create product"
	_, hat := d.rest(t, "POST", "/wp-json/wc/v1/products", `{"name":"Hat"}`, 201)
	d.fires(s, "product.created", hat)
	s = "REST legacy v3 create product"
	_, mug := d.rest(t, "POST", "/wc-api/v3/products", `{"product":{"name":"Mug"}}`, 201)
	d.fires(s, "product.created", mug)
	s = "REST v3 batch create+update+delete"
	r, _ := d.rest(t, "POST", "/wp-json/wc/v3/products/batch", fmt.Sprintf(`{"create":[{"name":"Cap"}],"update":[{"id":%d,"name":"Hat 2"}],"delete":[%d]}`, hat, mug), 200)
	var batch struct{ Create []struct{ ID int64 } }
	r.JSON(t, &batch)
	require.Len(t, batch.Create, 1)
	capID := batch.Create[0].ID
	d.fires(s, "product.created", capID)
	d.fires(s, "product.updated", hat)
	d.fires(s, "product.deleted", mug)
	s = "REST legacy v3 bulk (create, update)"
	r, _ = d.rest(t, "POST", "/wc-api/v3/products/bulk", fmt.Sprintf(`{"products":[{"name":"Sock"},{"id":%d,"name":"Hat 3"}]}`, hat), 200)
	var bulk struct{ Products []struct{ ID int64 } }
	r.JSON(t, &bulk)
	require.Len(t, bulk.Products, 2)
	sock := bulk.Products[0].ID
	require.NotEqual(t, hat, sock)
	d.fires(s, "product.created", sock)
	d.fires(s, "product.updated", hat)
	s = "REST v2 create variation"
	_, variation := d.rest(t, "POST", fmt.Sprintf("/wp-json/wc/v2/products/%d/variations", hat), `{"name":"Red"}`, 201)
	d.fires(s, "product.created", variation)
	s = "REST v3 update variation"
	d.rest(t, "PUT", fmt.Sprintf("/wp-json/wc/v3/products/%d/variations/%d", hat, variation), `{"name":"Blue"}`, 200)
	d.fires(s, "product.updated", variation)

	// REST writes: an order's life.
	s = "REST v2 create order"
	_, o1 := d.rest(t, "POST", "/wp-json/wc/v2/orders", `{"status":"pending"}`, 201)
	d.fires(s, "order.created", o1)
	s = "REST v1 update order"
	d.rest(t, "PUT", fmt.Sprintf("/wp-json/wc/v1/orders/%d", o1), `{"status":"processing"}`, 200)
	d.fires(s, "order.updated", o1)
	s = "REST v3 refund (?rest_route=)"
	_, refund := d.rest(t, "POST", fmt.Sprintf("/?rest_route=/wc/v3/orders/%d/refunds", o1), `{"amount":"1.00"}`, 201)
	d.fires(s, "order.updated", o1)
	s = "REST v2 delete refund"
	d.rest(t, "DELETE", fmt.Sprintf("/wp-json/wc/v2/orders/%d/refunds/%d?force=true", o1, refund), "", 200)
	d.fires(s, "order.updated", o1)
	s = "REST legacy v3 trash order"
	d.rest(t, "DELETE", fmt.Sprintf("/wc-api/v3/orders/%d", o1), "", 200)
	d.fires(s, "order.deleted", o1)

	// REST writes: a customer and a coupon.
	s = "REST v3 create customer"
	_, dan := d.rest(t, "POST", "/wp-json/wc/v3/customers", `{"email":"dan@example.com","username":"dan"}`, 201)
	d.fires(s, "customer.created", dan)
	s = "REST legacy v3 update customer"
	d.rest(t, "PUT", fmt.Sprintf("/wc-api/v3/customers/%d", dan), `{"customer":{"name":"Dan"}}`, 200)
	d.fires(s, "customer.updated", dan)
	s = "REST v2 delete customer"
	d.rest(t, "DELETE", fmt.Sprintf("/wp-json/wc/v2/customers/%d?force=true", dan), "", 200)
	d.fires(s, "customer.deleted", dan)
	s = "REST v1 create coupon"
	_, c1 := d.rest(t, "POST", "/wp-json/wc/v1/coupons", `{"code":"SPRING"}`, 201)
	d.fires(s, "coupon.created", c1)
	s = "REST v3 trash coupon"
	d.rest(t, "DELETE", fmt.Sprintf("/wp-json/wc/v3/coupons/%d", c1), "", 200)
	d.fires(s, "coupon.deleted", c1)
	d.phase(t, "REST writes done")

	// My Account: a registration, then the account edited.
	s = "My Account registration"
	r = d.browser(t, "POST", "/my-account/", "email=ann%40example.com&woocommerce-register-nonce=n&register=Register", "", "")
	require.Equal(t, 302, r.Status, "%s", r.Body)
	ann, ok := st.Customer("ann")
	require.True(t, ok)
	d.fires(s, "customer.created", ann.ID)
	s = "My Account edit-account"
	r = d.browser(t, "POST", "/my-account/edit-account/", "account_first_name=Ann&account_last_name=Lee&account_display_name=Ann&account_email=ann%40example.com&save-account-details-nonce=n&action=save_account_details", standin.LoginCookie("ann"), "")
	require.Equal(t, 302, r.Status, "%s", r.Body)
	d.fires(s, "customer.updated", ann.ID)

	// Checkouts.
	classic := func(path, body, cookie string) int64 {
		t.Helper()
		r := d.browser(t, "POST", path, body, cookie, "")
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var a struct {
			Result  string `json:"result"`
			OrderID int64  `json:"order_id"`
		}
		r.JSON(t, &a)
		require.Equal(t, "success", a.Result, "%s", r.Body)
		require.Positive(t, a.OrderID)
		return a.OrderID
	}
	storeAPI := func(path, body, cookie string) int64 {
		t.Helper()
		r := d.browser(t, "POST", path, body, cookie, "")
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var a struct {
			OrderID int64 `json:"order_id"`
		}
		r.JSON(t, &a)
		require.Positive(t, a.OrderID)
		return a.OrderID
	}
	s = "classic checkout (guest, payment needed)"
	ob1 := classic("/?wc-ajax=checkout", "billing_email=guest%40example.com&payment_method=bacs&woocommerce-process-checkout-nonce=n", "")
	d.fires(s, "order.created", ob1)
	s = "classic checkout creating an account"
	ob2 := classic("/checkout/?wc-ajax=checkout", "billing_email=eve%40example.com&createaccount=1&payment_method=bacs&woocommerce-process-checkout-nonce=n", "")
	eve, ok := st.Customer("eve")
	require.True(t, ok, "the checkout created the account")
	d.fires(s, "customer.created", eve.ID)
	d.fires(s, "customer.updated", eve.ID)
	d.fires(s, "order.created", ob2)
	s = "Store API checkout (guest)"
	ob3 := storeAPI("/wp-json/wc/store/v1/checkout", `{"billing_address":{"email":"gus@example.com"},"payment_method":"cod"}`, "")
	d.fires(s, "order.created", ob3)
	// WooCommerce saves a logged-in customer at a Store API checkout
	// (sync_customer_data_with_order → woocommerce_update_customer): the
	// customer.updated depends on H7's Store API checkout work.
	s = "Store API checkout (logged in; customer.updated needs H7)"
	ob4 := storeAPI("/?rest_route=/wc/store/checkout", `{"billing_address":{"email":"ann@example.com"},"payment_method":"cod"}`, standin.LoginCookie("ann"))
	d.fires(s, "order.created", ob4)
	d.fires(s, "customer.updated", ann.ID)

	// Add to cart: AJAX, the product page's form, the Store API.
	s = "add to cart (AJAX)"
	r = d.browser(t, "POST", "/?wc-ajax=add_to_cart", fmt.Sprintf("product_sku=&product_id=%d&quantity=1", hat), "", "")
	require.Equal(t, 200, r.Status)
	require.Contains(t, string(r.Body), `"cart_hash"`)
	d.fires(s, "action.woocommerce_add_to_cart", standin.CartItemKey(hat))
	s = "add to cart (form)"
	r = d.browser(t, "POST", "/product/cap/", fmt.Sprintf("quantity=1&add-to-cart=%d", capID), "", "")
	require.Equal(t, 200, r.Status)
	require.Contains(t, string(r.Body), "woocommerce-message")
	d.fires(s, "action.woocommerce_add_to_cart", standin.CartItemKey(capID))
	s = "add to cart (Store API)"
	r = d.browser(t, "POST", "/wp-json/wc/store/v1/cart/add-item", fmt.Sprintf(`{"id":%d,"quantity":1}`, hat), "", "")
	require.Equal(t, 201, r.Status, "%s", r.Body)
	d.fires(s, "action.woocommerce_add_to_cart", standin.CartItemKey(hat))
	d.phase(t, "front-end done")

	// wp-admin: new items through their edit screens, first saves.
	editpost := func(id int64, postType, original, extra string) response {
		t.Helper()
		return d.adminForm(t, "POST", "/wp-admin/post.php", fmt.Sprintf("_wpnonce=n&_wp_http_referer=x&action=editpost&originalaction=editpost&post_type=%s&original_post_status=%s&post_ID=%d&%s", postType, original, id, extra), "")
	}
	s = "wp-admin new product, first save"
	np := newItemID(t, d.adminForm(t, "GET", "/wp-admin/post-new.php?post_type=product", "", ""))
	d.touch(np)
	redirected(t, editpost(np, "product", "auto-draft", "post_title=Scarf&publish=Publish"), "message", "6")
	d.fires(s, "product.created", np)
	d.fires(s, "product.updated", np)
	s = "wp-admin new coupon, first save"
	nc := newItemID(t, d.adminForm(t, "GET", "/wp-admin/post-new.php?post_type=shop_coupon", "", ""))
	d.touch(nc)
	redirected(t, editpost(nc, "shop_coupon", "auto-draft", "post_title=SAVE10&publish=Publish"), "message", "6")
	d.fires(s, "coupon.created", nc)
	d.fires(s, "coupon.updated", nc)
	s = "wp-admin new order (post storage), first save"
	nor := newItemID(t, d.adminForm(t, "GET", "/wp-admin/post-new.php?post_type=shop_order", "", ""))
	d.touch(nor)
	redirected(t, editpost(nor, "shop_order", "auto-draft", "order_status=wc-processing&save=Create"), "post", fmt.Sprint(nor))
	d.fires(s, "order.created", nor)
	s = "wp-admin new order (HPOS), first save"
	nh := newItemID(t, d.adminForm(t, "GET", "/wp-admin/admin.php?page=wc-orders&action=new", "", ""))
	d.touch(nh)
	redirected(t, d.adminForm(t, "POST", fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&action=edit&id=%d", nh),
		fmt.Sprintf("_wpnonce=n&action=edit_order&original_order_status=auto-draft&original_post_status=auto-draft&post_ID=%d&order_status=wc-on-hold", nh), ""), "message", "1")
	d.fires(s, "order.created", nh)

	// wp-admin: trash and restore, single and bulk.
	const products = "https://shop.example/wp-admin/edit.php?post_type=product"
	s = "wp-admin trash product (post.php)"
	redirected(t, d.adminForm(t, "GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=trash&_wpnonce=n", hat), "", products), "trashed", "1")
	d.fires(s, "product.deleted", hat)
	s = "wp-admin restore product (post.php)"
	redirected(t, d.adminForm(t, "POST", fmt.Sprintf("/wp-admin/post.php?post=%d&action=untrash&_wpnonce=n", hat), "", ""), "untrashed", "1")
	d.fires(s, "product.restored", hat)
	s = "wp-admin bulk trash products (edit.php)"
	redirected(t, d.adminForm(t, "GET", fmt.Sprintf("/wp-admin/edit.php?post_type=product&_wpnonce=n&action=trash&post%%5B%%5D=%d&post%%5B%%5D=%d&action2=-1", capID, np), "", products), "trashed", "2", "locked", "0")
	d.fires(s, "product.deleted", capID)
	d.fires(s, "product.deleted", np)
	s = "wp-admin bulk restore products (Undo)"
	redirected(t, d.adminForm(t, "GET", fmt.Sprintf("/wp-admin/edit.php?post_type=product&doaction=undo&action=untrash&ids=%d,%d&_wpnonce=n", capID, np), "", ""), "untrashed", "2")
	d.fires(s, "product.restored", capID)
	d.fires(s, "product.restored", np)
	s = "wp-admin trash order (HPOS row link)"
	redirected(t, d.adminForm(t, "GET", fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&action=trash&id=%d&_wpnonce=n", ob3), "", "https://shop.example/wp-admin/admin.php?page=wc-orders"), "bulk_action", "trashed", "changed", "1")
	d.fires(s, "order.deleted", ob3)
	s = "wp-admin restore coupon (post.php)"
	redirected(t, d.adminForm(t, "GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=untrash&_wpnonce=n", c1), "", ""), "untrashed", "1")
	d.fires(s, "coupon.restored", c1)
	d.adminTrashRestoreOrder(t, nor, "wp-admin trash order (post.php)", "wp-admin restore order at once (post.php)")

	// wp-admin: the new product saved again, more than 10 s after its
	// first save (WooCommerce's "created" window): updated only.
	first, ok := st.Resource(np)
	require.True(t, ok)
	time.Sleep(time.Until(first.Created.Add(11 * time.Second)))
	s = "wp-admin later save of the new product"
	redirected(t, editpost(np, "product", "publish", "post_title=Scarf+2&save=Update"), "message", "1")
	d.fires(s, "product.updated", np)
	d.phase(t, "wp-admin done")

	// Behind the proxy's back. The restore needs reconciliation to have
	// seen the order in the trash first.
	waitUntil(t, 30*time.Second, "the trashed order in reconciliation's trash snapshot", func() bool { return d.inTrashSnapshot("order", o1) })
	s = "cron marks an order paid"
	require.True(t, st.TouchResource(ob1, "processing"))
	d.fires(s, "order.updated", ob1)
	s = "WP-CLI creates a product"
	cli := st.CreateResource("product", "publish")
	d.fires(s, "product.created", cli)
	s = "cron trashes an order"
	require.True(t, st.TrashResource(ob2))
	d.fires(s, "order.deleted", ob2)
	s = "WP-CLI updates a customer"
	require.True(t, st.TouchResource(ann.ID, ""))
	d.fires(s, "customer.updated", ann.ID)
	s = "a plugin updates a coupon"
	require.True(t, st.TouchResource(nc, "publish"))
	d.fires(s, "coupon.updated", nc)
	s = "WP-CLI restores an order"
	require.True(t, st.RestoreResource(o1))
	d.fires(s, "order.restored", o1)
	// The order trashed and at once restored in wp-admin above: WordPress
	// fires again when it is trashed and restored again later.
	d.trashRestoreBehindBack(t, nor, "cron trashes the order trashed+restored in wp-admin earlier", "WP-CLI restores it again")
	d.phase(t, fmt.Sprintf("day scripted: %d deliveries expected", d.total()))

	d.finish(t)
	// Each order.restored carries the order out of the trash.
	for _, dl := range d.rc.Deliveries() {
		if dl.Header.Get("X-WC-Webhook-Topic") != "order.restored" {
			continue
		}
		var o struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		}
		require.NoError(t, json.Unmarshal(dl.Body, &o))
		assert.NotEqual(t, "trash", o.Status, "order.restored %d carries the restored order", o.ID)
	}
}

// TestShopDayTrashedTwice: an order trashed and at once restored in
// wp-admin (both seen by the proxy, between two reconciliation passes),
// then trashed and restored again behind the proxy's back (a pass seeing
// each), fires order.deleted and order.restored twice each, as
// WordPress's wp_trash_post and untrashed_post do, and nothing else.
func TestShopDayTrashedTwice(t *testing.T) {
	d := newShopDay(t)
	ctx := context.Background()
	for _, topic := range []string{"order.deleted", "order.restored", "order.updated"} {
		d.hook(t, topic, "v3")
	}
	time.Sleep(fanoutCacheWait)
	waitUntil(t, 30*time.Second, "reconciliation's trash snapshot of orders", func() bool {
		return d.RDB.SIsMember(ctx, "wcwh:{shop}:rc:tinit", "order").Val()
	})
	_, order := d.rest(t, "POST", "/wp-json/wc/v3/orders", `{"status":"processing"}`, 201)
	d.touch(order)

	d.adminTrashRestoreOrder(t, order, "wp-admin trash", "wp-admin restore at once")
	d.trashRestoreBehindBack(t, order, "cron trashes it", "WP-CLI restores it")
	d.finish(t)
}
