package wcevents

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// saveWatch classifies a save and reads its form.
func saveWatch(t *testing.T, target, body string) Watch {
	t.Helper()
	const form = "application/x-www-form-urlencoded"
	r := httptest.NewRequest("POST", target, nil)
	r.Header.Set("Content-Type", form)
	w, ok := Classify(r)
	require.True(t, ok, target)
	require.True(t, w.ReadForm(r.URL.RawQuery, form, []byte(body), true), body)
	return w
}

func TestDeriveAdminSave(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	hdr := func(loc string) http.Header {
		return http.Header{"Location": {loc}, "Date": {at.Format(http.TimeFormat)}}
	}
	product := saveWatch(t, "/wp-admin/post.php", "action=editpost&post_type=product&post_ID=31&original_post_status=publish")
	coupon := saveWatch(t, "/shop/wp-admin/post.php", "action=editpost&post_type=shop_coupon&post_ID=32&original_post_status=auto-draft")
	newOrder := saveWatch(t, "/wp-admin/post.php", "action=editpost&post_type=shop_order&post_ID=33&original_post_status=auto-draft")
	oldOrder := saveWatch(t, "/wp-admin/post.php", "action=editpost&post_type=shop_order&post_ID=33&original_post_status=wc-processing")
	bareOrder := saveWatch(t, "/wp-admin/post.php", "action=editpost&post_type=shop_order&post_ID=33")
	hposNew := saveWatch(t, "/wp-admin/admin.php?page=wc-orders&action=edit&id=34", "action=edit_order&original_order_status=auto-draft")
	hposOld := saveWatch(t, "/wp-admin/admin.php?page=wc-orders&action=edit&id=34", "action=edit_order&original_order_status=on-hold")

	cases := []struct {
		w        Watch
		location string
		want     []Change
	}{
		{product, "https://shop/wp-admin/post.php?post=31&action=edit&message=1", []Change{{Topic: "product.updated", ID: 31, Saved: at}}},
		{coupon, "https://shop/shop/wp-admin/post.php?post=32&action=edit&message=6", []Change{{Topic: "coupon.updated", ID: 32, Saved: at}}},
		{newOrder, "https://shop/wp-admin/post.php?post=33&action=edit&message=1", []Change{{Topic: "order.created", ID: 33}}},
		{oldOrder, "https://shop/wp-admin/post.php?post=33&action=edit&message=1", []Change{{Topic: "order.updated", ID: 33}}},
		{bareOrder, "https://shop/wp-admin/post.php?post=33&action=edit&message=1", []Change{{Topic: "order.updated", ID: 33, Saved: at}}},
		{hposNew, "https://shop/wp-admin/admin.php?page=wc-orders&action=edit&id=34&message=1", []Change{{Topic: "order.created", ID: 34}}},
		{hposOld, "https://shop/wp-admin/admin.php?page=wc-orders&action=edit&id=34&message=1", []Change{{Topic: "order.updated", ID: 34}}},
		// Not a successful save: another post, no message, the login page,
		// a preview, the list, the other storage's screen.
		{product, "https://shop/wp-admin/post.php?post=30&action=edit&message=1", nil},
		{product, "https://shop/wp-admin/post.php?post=31&action=edit", nil},
		{product, "https://shop/wp-login.php?redirect_to=%2Fwp-admin%2Fpost.php&reauth=1", nil},
		{product, "https://shop/?p=31&preview=true", nil},
		{product, "https://shop/wp-admin/edit.php?post_type=product&message=1", nil},
		{hposOld, "https://shop/wp-admin/post.php?post=34&action=edit&message=1", nil},
		{hposOld, "https://shop/wp-admin/admin.php?page=wc-orders&action=edit&id=35&message=1", nil},
		{hposOld, "https://shop/wp-admin/admin.php?page=wc-orders&action=edit&id=34", nil},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, Derive(tc.w, 302, hdr(tc.location), nil), tc.location)
	}
	ok := hdr("https://shop/wp-admin/post.php?post=31&action=edit&message=1")
	for _, s := range []int{200, 303, 403, 500} {
		assert.Empty(t, Derive(product, s, ok, []byte("<html>wp_die</html>")), "%d", s)
	}
	// Without a Date header, the proxy's clock.
	got := Derive(product, 302, http.Header{"Location": ok["Location"]}, nil)
	require.Len(t, got, 1)
	assert.WithinDuration(t, time.Now(), got[0].Saved, time.Minute)
}

func TestCreatedWithin(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		item, version string
		want          bool
	}{
		{`{"date_created":"2026-03-01T13:00:00","date_created_gmt":"2026-03-01T10:00:00"}`, "wp_api_v3", true},
		{`{"date_created_gmt":"2026-03-01T09:59:50"}`, "wp_api_v2", true},
		{`{"date_created_gmt":"2026-03-01T09:59:49"}`, "wp_api_v3", false},
		{`{"date_created_gmt":"2026-03-01T10:05:00"}`, "wp_api_v3", true}, // scheduled: WooCommerce's test has no upper bound
		{`{"date_created_gmt":null}`, "wp_api_v3", true},                  // a draft: dated at every save
		{`{"date_created":"2026-03-01T13:00:00"}`, "wp_api_v3", false},    // no _gmt: not told
		{`{"date_created":"2026-03-01T09:59:55"}`, "wp_api_v1", true},
		{`{"date_created":"2024-01-01T00:00:00"}`, "wp_api_v1", false},
		{`{"product":{"created_at":"2026-03-01T09:59:58Z"}}`, "legacy_v3", true},
		{`{"product":{"created_at":"2025-03-01T09:59:58Z"}}`, "legacy_v3", false},
		{`{"date_created_gmt":"yesterday"}`, "wp_api_v3", false},
		{`not json`, "wp_api_v3", false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, createdWithin([]byte(tc.item), tc.version, "product", at), tc.item)
	}
}

func TestResolveSaves(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	fresh := `{"id":31,"status":"publish","date_created_gmt":"2026-03-01T09:59:57","date_modified_gmt":"2026-03-01T10:00:00"}`
	old := `{"id":31,"status":"publish","date_created_gmt":"2024-03-01T09:59:57","date_modified_gmt":"2026-03-01T10:00:00"}`
	run := func(f *fakes, changes ...Change) []published {
		t.Helper()
		e := newEmitter(f)
		out, err := e.ResolveSaves(context.Background(), changes)
		require.NoError(t, err)
		_, err = e.Emit(context.Background(), out)
		require.NoError(t, err)
		return f.pub
	}
	both := map[string][]string{"product.created": {"wp_api_v3", "wp_api_v1"}, "product.updated": {"wp_api_v3"}}

	// A new product: created and updated, one read per version in all.
	f := &fakes{versions: both, reads: map[string]string{"wp_api_v3": fresh, "wp_api_v1": `{"id":31,"v":1}`}, seen: map[string]string{}}
	pub := run(f, Change{Topic: "product.updated", ID: 31, Saved: at})
	assert.Equal(t, []published{
		{"product.created", "wp_api_v1", `{"id":31,"v":1}`, 31},
		{"product.created", "wp_api_v3", fresh, 31},
		{"product.updated", "wp_api_v3", fresh, 31},
	}, pub)
	assert.Equal(t, 2, f.nreads)

	// An old product: updated only.
	f = &fakes{versions: both, reads: map[string]string{"wp_api_v3": old}, seen: map[string]string{}}
	pub = run(f, Change{Topic: "product.updated", ID: 31, Saved: at})
	assert.Equal(t, []published{{"product.updated", "wp_api_v3", old, 31}}, pub)
	assert.Equal(t, 1, f.nreads)

	// Only updated listened to: no read to decide.
	f = &fakes{versions: map[string][]string{"coupon.updated": {"wp_api_v2"}}, reads: map[string]string{"wp_api_v2": old}, seen: map[string]string{}}
	pub = run(f, Change{Topic: "coupon.updated", ID: 31, Saved: at})
	assert.Equal(t, []published{{"coupon.updated", "wp_api_v2", old, 31}}, pub)
	assert.Equal(t, 1, f.nreads)

	// Nobody listens: nothing read.
	f = &fakes{versions: map[string][]string{}, seen: map[string]string{}}
	assert.Empty(t, run(f, Change{Topic: "product.updated", ID: 31, Saved: at}))
	assert.Zero(t, f.nreads)

	// An order decided by its date: created or updated, never both.
	orders := map[string][]string{"order.created": {"wp_api_v3"}, "order.updated": {"wp_api_v3"}}
	f = &fakes{versions: orders, reads: map[string]string{"wp_api_v3": fresh}, seen: map[string]string{}}
	pub = run(f, Change{Topic: "order.updated", ID: 31, Saved: at})
	assert.Equal(t, []published{{"order.created", "wp_api_v3", fresh, 31}}, pub)

	// An auto-draft fires nothing.
	draft := `{"id":31,"status":"auto-draft","date_created_gmt":null}`
	f = &fakes{versions: both, reads: map[string]string{"wp_api_v3": draft, "wp_api_v1": draft}, seen: map[string]string{}}
	assert.Empty(t, run(f, Change{Topic: "product.updated", ID: 31, Saved: at}))

	// A failed read: updated, which EmitOne then cannot build.
	f = &fakes{versions: both, reads: map[string]string{}, seen: map[string]string{}}
	e := newEmitter(f)
	out, err := e.ResolveSaves(context.Background(), []Change{{Topic: "product.updated", ID: 31, Saved: at}, {Topic: "order.deleted", ID: 5}})
	require.Error(t, err)
	assert.Equal(t, []Change{{Topic: "product.updated", ID: 31}, {Topic: "order.deleted", ID: 5}}, out)
}
