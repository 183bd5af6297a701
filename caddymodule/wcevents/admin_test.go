package wcevents

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClassifyAdminDoor(t *testing.T) {
	trash := func(res string, id int64) Watch { return Watch{Door: DoorAdmin, Op: OpDelete, Resource: res, ID: id} }
	untrash := func(res string, id int64) Watch { return Watch{Door: DoorAdmin, Op: OpUpdate, Resource: res, ID: id} }
	cases := []struct {
		method, target string
		want           Watch
		ok             bool
	}{
		{"GET", "/wp-admin/post.php?post=12&action=trash&_wpnonce=abc", trash("", 12), true},
		{"POST", "/wp-admin/post.php?action=untrash&post=12&_wpnonce=abc", untrash("", 12), true},
		{"GET", "/blog/wp-admin/post.php?post=7&action=trash", trash("", 7), true},
		{"GET", "/wp-admin/admin.php?page=wc-orders&action=trash&id=40&_wpnonce=n", trash("order", 40), true},
		{"GET", "/wp-admin/admin.php?page=wc-orders&action=untrash&id=40&_wpnonce=n", untrash("order", 40), true},
		// Not watched.
		{"HEAD", "/wp-admin/post.php?post=12&action=trash", Watch{}, false},
		{"PUT", "/wp-admin/post.php?post=12&action=trash", Watch{}, false},
		{"GET", "/wp-admin/post.php?post=12&action=edit", Watch{}, false},
		{"GET", "/wp-admin/post.php?post=12&action=delete", Watch{}, false},
		{"GET", "/wp-admin/post.php?post=12", Watch{}, false},
		{"GET", "/wp-admin/post.php?post=x12&action=trash", Watch{}, false},
		{"GET", "/wp-admin/post.php?post=0&action=trash", Watch{}, false},
		{"GET", "/wp-admin/post.php?post=99999999999999999999&action=trash", Watch{}, false},
		{"GET", "/wp-admin/post.php?post=12&action=trash&x=%zz", Watch{}, false},
		{"GET", "/wp-admin/edit.php?post=12&action=trash", Watch{}, false},
		{"GET", "/post.php?post=12&action=trash", Watch{}, false},
		{"GET", "/wp-admin/admin.php?page=wc-orders&action=trash&post=40", Watch{}, false},
		{"GET", "/wp-admin/admin.php?page=wc-orders--shop_subscription&action=trash&id=40", Watch{}, false},
		{"GET", "/wp-admin/admin.php?action=trash&id=40", Watch{}, false},
		{"GET", "/shop/?action=trash&post=12", Watch{}, false},
	}
	for _, tc := range cases {
		got, ok := Classify(httptest.NewRequest(tc.method, tc.target, nil))
		assert.Equal(t, tc.ok, ok, "%s %s", tc.method, tc.target)
		assert.Equal(t, tc.want, got, "%s %s", tc.method, tc.target)
	}
}

func TestWatchSucceeded(t *testing.T) {
	admin := Watch{Door: DoorAdmin}
	assert.True(t, admin.Succeeded(302))
	for _, s := range []int{200, 301, 303, 403, 500} {
		assert.False(t, admin.Succeeded(s), "%d", s)
	}
	rest := Watch{}
	assert.True(t, rest.Succeeded(200))
	assert.True(t, rest.Succeeded(201))
	assert.False(t, rest.Succeeded(302))
}

func TestDeriveAdminDoor(t *testing.T) {
	loc := func(l string) http.Header { return http.Header{"Location": {l}} }
	trash := watch(t, "GET", "/wp-admin/post.php?post=12&action=trash&_wpnonce=a")
	untrash := watch(t, "GET", "/wp-admin/post.php?post=12&action=untrash&_wpnonce=a")
	hpos := watch(t, "GET", "/wp-admin/admin.php?page=wc-orders&action=trash&id=40&_wpnonce=a")
	hposBack := watch(t, "GET", "/wp-admin/admin.php?page=wc-orders&action=untrash&id=40&_wpnonce=a")

	cases := []struct {
		w        Watch
		location string
		want     []Change
	}{
		{trash, "https://shop/wp-admin/edit.php?post_type=product&trashed=1&ids=12", []Change{{Topic: "product.deleted", ID: 12}}},
		{trash, "https://shop/wp-admin/edit.php?post_type=shop_order&paged=2&trashed=1&ids=12", []Change{{Topic: "order.deleted", ID: 12}}},
		{trash, "/wp-admin/edit.php?post_type=shop_coupon&trashed=1&ids=12", []Change{{Topic: "coupon.deleted", ID: 12}}},
		{untrash, "https://shop/wp-admin/edit.php?post_status=trash&post_type=product&untrashed=1&ids=12", []Change{{Topic: "product.restored", ID: 12}}},
		{untrash, "https://shop/wp-admin/edit.php?post_type=shop_order&untrashed=1&ids=12", []Change{{Topic: "order.restored", ID: 12}}},
		{hpos, "https://shop/wp-admin/admin.php?page=wc-orders&trashed=1&ids=40", []Change{{Topic: "order.deleted", ID: 40}}},
		{hpos, "https://shop/wp-admin/admin.php?page=wc-orders&status=pending&trashed=1&ids=3,40", []Change{{Topic: "order.deleted", ID: 40}}},
		{hposBack, "https://shop/wp-admin/admin.php?page=wc-orders&status=trash&untrashed=1&ids=40", []Change{{Topic: "order.restored", ID: 40}}},
		// Nothing: posts and pages, an unknown type, the wrong flag or id,
		// a login redirect, a listing without post_type.
		{trash, "https://shop/wp-admin/edit.php?trashed=1&ids=12", nil},
		{trash, "https://shop/wp-admin/edit.php?post_type=page&trashed=1&ids=12", nil},
		{trash, "https://shop/wp-admin/index.php?trashed=1&ids=12", nil},
		{trash, "https://shop/wp-admin/edit.php?post_type=product&untrashed=1&ids=12", nil},
		{untrash, "https://shop/wp-admin/edit.php?post_type=product&trashed=1&ids=12", nil},
		{trash, "https://shop/wp-admin/edit.php?post_type=product&trashed=0&ids=12", nil},
		{trash, "https://shop/wp-admin/edit.php?post_type=product&trashed=1&ids=13", nil},
		{trash, "https://shop/wp-login.php?redirect_to=%2Fwp-admin%2Fpost.php%3Fpost%3D12%26action%3Dtrash&reauth=1", nil},
		{hpos, "https://shop/wp-login.php?trashed=1&ids=40", nil},
		{hpos, "https://shop/wp-admin/admin.php?page=wc-orders", nil},
		{trash, "%zz", nil},
		{trash, "", nil},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, Derive(tc.w, 302, loc(tc.location), nil), tc.location)
	}
	ok := loc("https://shop/wp-admin/edit.php?post_type=product&trashed=1&ids=12")
	for _, s := range []int{200, 301, 403, 500} {
		assert.Empty(t, Derive(trash, s, ok, []byte("<html>")), "%d", s)
	}
}
