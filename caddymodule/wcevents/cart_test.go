package wcevents

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCartItemKey(t *testing.T) {
	// md5("42"): a simple product, as WC_Cart::generate_cart_id.
	assert.Equal(t, "a1d0c6e83f027327d8461063f4ac58a6", CartItemKey(42, 0, nil))
	// md5("42_43_attribute_pa_colorred")
	assert.Equal(t, md5hex("42_43_attribute_pa_colorred"), CartItemKey(42, 43, [][2]string{{"attribute_pa_color", " red "}}))
}

func TestClassifyCartDoors(t *testing.T) {
	form := "application/x-www-form-urlencoded; charset=UTF-8"
	cases := []struct {
		method, target, ct string
		door               Door
		ok                 bool
	}{
		{"POST", "/?wc-ajax=add_to_cart", form, DoorAddToCart, true},
		{"POST", "/shop/?add-to-cart=12", "", DoorAddToCart, true},
		{"POST", "/product/hat/", form, DoorAddToCart, true},
		{"POST", "/product/hat/", "multipart/form-data; boundary=x", 0, false},
		{"GET", "/?add-to-cart=12", "", 0, false},
		{"POST", "/wp-admin/post.php", form, DoorAdmin, true}, // a save candidate (admin_save.go)
		{"POST", "/wp-login.php", form, 0, false},
		{"POST", "/?wc-ajax=get_refreshed_fragments", form, 0, false},
		{"POST", "/wp-json/wc/store/v1/cart/add-item", "application/json", DoorStoreAddToCart, true},
		{"POST", "/?rest_route=/wc/store/cart/add-item/", "application/json", DoorStoreAddToCart, true},
		{"GET", "/wp-json/wc/store/v1/cart/add-item", "", 0, false},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		if tc.ct != "" {
			r.Header.Set("Content-Type", tc.ct)
		}
		w, ok := Classify(r)
		assert.Equal(t, tc.ok, ok, "%s %s", tc.method, tc.target)
		assert.Equal(t, tc.door, w.Door, "%s %s", tc.method, tc.target)
		if ok {
			assert.True(t, w.NeedsForm(), tc.target)
		}
	}
}

func TestClassifyDoesNotAllocateForOtherPosts(t *testing.T) {
	r := httptest.NewRequest("POST", "/Some/Page/", nil)
	r.Header.Set("Content-Type", "application/json; charset=UTF-8")
	assert.Zero(t, testing.AllocsPerRun(50, func() { _, _ = Classify(r) }))
}

func TestReadCartForm(t *testing.T) {
	r := httptest.NewRequest("POST", "/product/hat/", nil)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w, ok := Classify(r)
	require.True(t, ok)
	assert.False(t, w.ReadCartForm("", "application/x-www-form-urlencoded", []byte("log=a&pwd=b")), "no add-to-cart: not watched")
	w, _ = Classify(r)
	require.True(t, w.ReadCartForm("x=1", "application/x-www-form-urlencoded", []byte("add-to-cart=42&quantity=2")))
	assert.Equal(t, "42", w.Cart.Form.Get("add-to-cart"))
	assert.False(t, w.NeedsForm())
}

func cartWatchFor(t *testing.T, target, cookie, body string) Watch {
	t.Helper()
	r := httptest.NewRequest("POST", target, nil)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookie != "" {
		r.Header.Set("Cookie", "woocommerce_cart_hash="+cookie)
	}
	w, ok := Classify(r)
	require.True(t, ok)
	require.True(t, w.ReadCartForm(r.URL.RawQuery, "application/x-www-form-urlencoded", []byte(body)))
	return w
}

func TestDeriveCart(t *testing.T) {
	jsonH := http.Header{"Content-Type": {"application/json; charset=UTF-8"}}
	want := `{"action":"woocommerce_add_to_cart","arg":"a1d0c6e83f027327d8461063f4ac58a6"}`

	ajax := cartWatchFor(t, "/?wc-ajax=add_to_cart", "", "product_id=42&quantity=1")
	got := Derive(ajax, 200, jsonH, []byte(`{"fragments":{"div.widget_shopping_cart_content":"<div><\/div>"},"cart_hash":"abc"}`))
	require.Len(t, got, 1)
	assert.Equal(t, AddToCartTopic, got[0].Topic)
	assert.Equal(t, int64(42), got[0].ID)
	assert.Equal(t, want, string(got[0].Item))
	assert.Empty(t, Derive(ajax, 200, jsonH, []byte(`{"error":true,"product_url":"https:\/\/shop.example\/?p=42"}`)))
	assert.Empty(t, Derive(ajax, 500, jsonH, []byte(`{"cart_hash":"x"}`)))

	form := cartWatchFor(t, "/product/hat/", "old", "add-to-cart=42&quantity=1")
	set := http.Header{"Set-Cookie": {"woocommerce_items_in_cart=1; path=/", "woocommerce_cart_hash=new; path=/"}}
	assert.Len(t, Derive(form, 302, set, nil), 1)
	assert.Len(t, Derive(form, 200, set, []byte("<html>")), 1)
	same := http.Header{"Set-Cookie": {"woocommerce_cart_hash=old; path=/"}}
	assert.Empty(t, Derive(form, 200, same, []byte("<html>")), "the cart did not change")
	assert.Empty(t, Derive(form, 200, http.Header{}, []byte("<html>")))
	assert.Empty(t, Derive(form, 404, set, nil))

	r := httptest.NewRequest("POST", "/wp-json/wc/store/v1/cart/add-item", nil)
	store, ok := Classify(r)
	require.True(t, ok)
	require.True(t, store.ReadCartForm("", "application/json", []byte(`{"id":7,"quantity":1}`)))
	cart := `{"items":[{"key":"a1d0c6e83f027327d8461063f4ac58a6","id":42},{"key":"8f14e45fceea167a5a36dedd4bea2543","id":7}],"items_count":2}`
	got = Derive(store, 201, jsonH, []byte(cart))
	require.Len(t, got, 1)
	assert.Equal(t, `{"action":"woocommerce_add_to_cart","arg":"8f14e45fceea167a5a36dedd4bea2543"}`, string(got[0].Item))
	assert.Empty(t, Derive(store, 400, jsonH, []byte(`{"code":"woocommerce_rest_cart_invalid_product"}`)))
	assert.Empty(t, Derive(store, 201, jsonH, []byte(`{"items":[{"key":"<bad>","id":7}]}`)))
	assert.Empty(t, Derive(store, 201, jsonH, []byte(`not json`)))
}

type recPub struct{ got []string }

func (p *recPub) Publish(_ context.Context, topic string, id int64, v string, payload []byte) error {
	p.got = append(p.got, topic+"|"+v+"|"+string(payload))
	return nil
}

type allVersions struct{}

func (allVersions) Versions(context.Context, string) ([]string, error) {
	return []string{"wp_api_v1", "wp_api_v3"}, nil
}

func TestEmitActionOnceForAllVersions(t *testing.T) {
	p := &recPub{}
	e := &Emitter{Publisher: p, Subscribers: allVersions{}}
	n, err := e.Emit(context.Background(), []Change{{Topic: AddToCartTopic, ID: 42, Item: []byte(`{"action":"woocommerce_add_to_cart","arg":"k"}`)}})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, []string{`action.woocommerce_add_to_cart||{"action":"woocommerce_add_to_cart","arg":"k"}`}, p.got)
	assert.False(t, strings.Contains(p.got[0], "wp_api"))
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
