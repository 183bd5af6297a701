package wcevents

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClassifyAdminDoor(t *testing.T) {
	trash := func(id int64) Watch { return Watch{Door: DoorAdmin, Op: OpDelete, ID: id} }
	untrash := func(id int64) Watch { return Watch{Door: DoorAdmin, Op: OpUpdate, ID: id} }
	bulk := func(op Op, res string, hpos bool, ids ...int64) Watch {
		return Watch{Door: DoorAdmin, Op: op, Resource: res, Admin: &Admin{Kind: AdminBulk, HPOS: hpos, IDs: ids}}
	}
	cases := []struct {
		method, target string
		want           Watch
		ok             bool
	}{
		{"GET", "/wp-admin/post.php?post=12&action=trash&_wpnonce=abc", trash(12), true},
		{"POST", "/wp-admin/post.php?action=untrash&post=12&_wpnonce=abc", untrash(12), true},
		{"GET", "/blog/wp-admin/post.php?post=7&action=trash", trash(7), true},
		// HPOS row links are bulk actions of one id (ListTable::handle_bulk_actions).
		{"GET", "/wp-admin/admin.php?page=wc-orders&action=trash&id=40&_wpnonce=n", bulk(OpDelete, "order", true, 40), true},
		{"GET", "/wp-admin/admin.php?page=wc-orders&action=untrash&id=40&_wpnonce=n", bulk(OpUpdate, "order", true, 40), true},
		{"GET", "/wp-admin/admin.php?page=wc-orders&action=-1&action2=trash&id%5B%5D=4&id%5B%5D=5&_wpnonce=n", bulk(OpDelete, "order", true, 4, 5), true},
		{"GET", "/wp-admin/edit.php?post_type=product&action=trash&post%5B%5D=3&post%5B%5D=9&_wpnonce=n&action2=-1", bulk(OpDelete, "product", false, 3, 9), true},
		{"GET", "/wp-admin/edit.php?post_type=shop_coupon&action=-1&action2=trash&post[]=3", bulk(OpDelete, "coupon", false, 3), true},
		{"GET", "/wp-admin/edit.php?post_type=shop_order&doaction=undo&action=untrash&ids=3,9&_wpnonce=n", bulk(OpUpdate, "order", false, 3, 9), true},
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
		{"GET", "/wp-admin/edit.php?post_type=page&action=trash&post[]=12", Watch{}, false},
		{"GET", "/wp-admin/edit.php?post_type=product_variation&action=trash&post[]=12", Watch{}, false},
		{"GET", "/wp-admin/edit.php?post_type=product&action=delete&post[]=12", Watch{}, false},
		{"GET", "/wp-admin/edit.php?post_type=product&action=trash&post[]=12&filter_action=Filter", Watch{}, false},
		{"GET", "/wp-admin/edit.php?post_type=product&action=trash&post[]=12&post[]=x", Watch{}, false},
		{"GET", "/wp-admin/edit.php?post_type=product&action=trash", Watch{}, false},
		{"GET", "/wp-admin/edit.php?post_type=product&action=-1&action2=-1&post[]=12", Watch{}, false},
		{"GET", "/post.php?post=12&action=trash", Watch{}, false},
		{"GET", "/wp-admin/admin.php?page=wc-orders&action=trash&post=40", Watch{}, false},
		{"GET", "/wp-admin/admin.php?page=wc-orders--shop_subscription&action=trash&id=40", Watch{}, false},
		{"GET", "/wp-admin/admin.php?action=trash&id=40", Watch{}, false},
		{"GET", "/wp-admin/admin.php?page=wc-orders&action=edit&id=40", Watch{}, false},
		{"GET", "/wp-admin/admin.php?page=wc-orders&action=new", Watch{}, false},
		{"GET", "/wp-admin/post-new.php?post_type=product", Watch{}, false},
		{"GET", "/shop/?action=trash&post=12", Watch{}, false},
	}
	for _, tc := range cases {
		got, ok := Classify(httptest.NewRequest(tc.method, tc.target, nil))
		assert.Equal(t, tc.ok, ok, "%s %s", tc.method, tc.target)
		assert.Equal(t, tc.want, got, "%s %s", tc.method, tc.target)
	}
}

func TestAdminFormDoors(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	classify := func(target, ct string) Watch {
		t.Helper()
		r := httptest.NewRequest("POST", target, nil)
		r.Header.Set("Content-Type", ct)
		w, ok := Classify(r)
		require.True(t, ok, target)
		require.True(t, w.NeedsForm(), target)
		return w
	}
	// A post.php POST is a candidate until its form is read.
	w := classify("/wp-admin/post.php", form)
	require.True(t, w.ReadForm("", form, []byte("_wpnonce=n&action=editpost&post_type=product&original_post_status=auto-draft&post_ID=31&post_title=Mug"), true))
	assert.False(t, w.NeedsForm())
	assert.Equal(t, int64(31), w.ID)
	assert.Equal(t, "product", w.Resource)
	assert.Equal(t, "auto-draft", w.Admin.Original)

	// The form's action wins over the query's, as $_REQUEST.
	w = classify("/wp-admin/post.php?action=edit&post=31", form)
	assert.True(t, w.ReadForm("action=edit&post=31", form, []byte("action=editpost&post_type=shop_order&post_ID=31&original_post_status=wc-pending"), true))
	assert.Equal(t, "order", w.Resource)
	assert.Equal(t, "wc-pending", w.Admin.Original)

	// A link posted as a form is the link door.
	w = classify("/wp-admin/post.php", form)
	require.True(t, w.ReadForm("", form, []byte("action=untrash&post=12&_wpnonce=n"), true))
	assert.Equal(t, Watch{Door: DoorAdmin, Op: OpUpdate, ID: 12}, w)

	// Not saves: other post types, other actions, a variation, no id, a
	// multipart body (its fields are not read).
	for _, body := range []string{
		"action=editpost&post_type=page&post_ID=31",
		"action=editpost&post_type=product_variation&post_ID=31",
		"action=editpost&post_type=product&post_ID=x",
		"action=editpost&post_type=product",
		"action=delete&post=31",
		"action=inline-save&post_type=product&post_ID=31",
		"",
	} {
		w = classify("/wp-admin/post.php", form)
		assert.False(t, w.ReadForm("", form, []byte(body), true), body)
	}
	w = classify("/wp-admin/post.php", "multipart/form-data; boundary=x")
	assert.False(t, w.ReadForm("", "multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\neditpost\r\n--x--"), true))

	// A body over the cap: the fields before the last '&' still count.
	long := "action=editpost&post_type=product&post_ID=31&content=" + strings.Repeat("a", 100)
	w = classify("/wp-admin/post.php", form)
	assert.True(t, w.ReadForm("", form, []byte(long), false))
	assert.Equal(t, int64(31), w.ID)
	w = classify("/wp-admin/post.php", form)
	assert.False(t, w.ReadForm("", form, []byte("action=editpost&post_type=product&post_ID=31"), false), "the last pair may be cut")

	// HPOS edit screen: the id is the query's; action=edit_order.
	w = classify("/wp-admin/admin.php?page=wc-orders&action=edit&id=77", form)
	require.True(t, w.ReadForm("page=wc-orders&action=edit&id=77", form, []byte("_wpnonce=n&action=edit_order&original_order_status=auto-draft&post_ID=77&order_status=wc-pending"), true))
	assert.Equal(t, Watch{Door: DoorAdmin, Op: OpUpdate, Resource: "order", ID: 77, WantForm: true, Admin: &Admin{Kind: AdminSave, HPOS: true, Original: "auto-draft"}}, stripForm(w))
	w = classify("/wp-admin/admin.php?page=wc-orders&action=edit&id=77", form)
	assert.False(t, w.ReadForm("page=wc-orders&action=edit&id=77", form, []byte("action=something"), true))

	// Bulk requests posted as forms.
	w = classify("/wp-admin/edit.php", form)
	require.True(t, w.ReadForm("", form, []byte("post_type=product&action=trash&post%5B%5D=3&post%5B%5D=4"), true))
	assert.Equal(t, []int64{3, 4}, w.Admin.IDs)
	assert.Equal(t, OpDelete, w.Op)
	w = classify("/wp-admin/admin.php?page=wc-orders", form)
	require.True(t, w.ReadForm("page=wc-orders", form, []byte("action=untrash&id%5B%5D=8"), true))
	assert.Equal(t, []int64{8}, w.Admin.IDs)
	assert.Equal(t, OpUpdate, w.Op)
}

func stripForm(w Watch) Watch {
	w.Form = nil
	return w
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
		{hpos, "https://shop/wp-admin/admin.php?page=wc-orders&paged=1&bulk_action=trashed&changed=1&ids=40", []Change{{Topic: "order.deleted", ID: 40}}},
		{hpos, "https://shop/wp-admin/admin.php?page=wc-orders&trashed=1&ids=40", []Change{{Topic: "order.deleted", ID: 40}}},
		{hposBack, "https://shop/wp-admin/admin.php?page=wc-orders&status=trash&bulk_action=untrashed&changed=1&ids=40", []Change{{Topic: "order.restored", ID: 40}}},
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
		{hpos, "https://shop/wp-admin/admin.php?page=wc-orders&bulk_action=untrashed&changed=1&ids=40", nil},
		{hpos, "https://shop/wp-admin/admin.php?page=wc-orders&bulk_action=trashed&changed=0&ids=40", nil},
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

func TestDeriveAdminBulk(t *testing.T) {
	loc := func(l string) http.Header { return http.Header{"Location": {l}} }
	trash := watch(t, "GET", "/wp-admin/edit.php?post_type=product&action=trash&post[]=3&post[]=9&post[]=3&_wpnonce=n")
	undo := watch(t, "GET", "/wp-admin/edit.php?post_type=shop_coupon&doaction=undo&action=untrash&ids=3,9&_wpnonce=n")
	hpos := watch(t, "GET", "/wp-admin/admin.php?page=wc-orders&action=trash&id[]=4&id[]=5&_wpnonce=n")
	two := func(topic string, a, b int64) []Change { return []Change{{Topic: topic, ID: a}, {Topic: topic, ID: b}} }
	cases := []struct {
		w        Watch
		location string
		want     []Change
	}{
		{trash, "https://shop/wp-admin/edit.php?post_type=product&trashed=3&ids=3,9,3&locked=0", two("product.deleted", 3, 9)},
		{trash, "https://shop/wp-admin/edit.php?post_type=product&trashed=3", two("product.deleted", 3, 9)},
		{undo, "https://shop/wp-admin/edit.php?post_type=shop_coupon&untrashed=2", two("coupon.restored", 3, 9)},
		{hpos, "https://shop/wp-admin/admin.php?page=wc-orders&paged=1&bulk_action=trashed&changed=2&ids=5,4", two("order.deleted", 4, 5)},
		// Partial or failed: nothing.
		{trash, "https://shop/wp-admin/edit.php?post_type=product&trashed=2&ids=3,9,3&locked=1", nil},
		{trash, "https://shop/wp-admin/edit.php?post_type=product&trashed=2&ids=3,9,3", nil},
		{trash, "https://shop/wp-admin/edit.php?post_type=product&trashed=3&ids=3,10", nil},
		{undo, "https://shop/wp-admin/edit.php?post_type=shop_coupon&untrashed=1", nil},
		{undo, "https://shop/wp-admin/edit.php?post_type=shop_coupon&trashed=2", nil},
		{hpos, "https://shop/wp-admin/admin.php?page=wc-orders&paged=1&bulk_action=trashed&changed=1&ids=5,4", nil},
		{hpos, "https://shop/wp-admin/admin.php?page=wc-orders&paged=1", nil},
		{hpos, "https://shop/wp-login.php?bulk_action=trashed&changed=2", nil},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, Derive(tc.w, 302, loc(tc.location), nil), tc.location)
	}
}

func TestClassifyOffAdminDoesNotAllocate(t *testing.T) {
	for _, target := range []string{"/", "/shop/hat/", "/wp-content/uploads/x.jpg", "/index.php?p=2"} {
		r := httptest.NewRequest("GET", target, nil)
		assert.Zero(t, testing.AllocsPerRun(50, func() { _, _ = Classify(r) }), target)
	}
}

func BenchmarkClassifyPassThrough(b *testing.B) {
	get := httptest.NewRequest("GET", "/shop/hat/?color=red", nil)
	post := httptest.NewRequest("POST", "/Some/Page/", nil)
	post.Header.Set("Content-Type", "application/json")
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Classify(get)
		_, _ = Classify(post)
	}
}
