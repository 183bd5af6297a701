package wcevents

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const annCookie = "wordpress_logged_in_0123abcd=ann%7C1900000000%7Ctok%7Cmac"

func req(method, target, cookie string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

func TestClassifyAccountDoors(t *testing.T) {
	cases := []struct {
		method, target, cookie string
		want                   *Account
		op                     Op
	}{
		{"POST", "/wp-login.php?action=register", "", &Account{Kind: AccountWPRegister}, OpCreate},
		{"POST", "/blog/wp-login.php?action=register&x=1", "", &Account{Kind: AccountWPRegister}, OpCreate},
		{"POST", "/wp-admin/user-new.php", annCookie, &Account{Kind: AccountAdminCreate}, OpCreate},
		{"POST", "/wp-admin/profile.php", annCookie, &Account{Kind: AccountProfile, Login: "ann"}, OpUpdate},
		{"POST", "/wp-admin/user-edit.php?user_id=5", annCookie, &Account{Kind: AccountProfile, Login: "ann"}, OpUpdate},
		// Not watched as account doors.
		{"GET", "/wp-login.php?action=register", "", nil, 0},
		{"POST", "/wp-login.php", "", nil, 0},
		{"POST", "/wp-login.php?action=lostpassword", "", nil, 0},
		{"PUT", "/wp-admin/profile.php", annCookie, nil, 0},
		{"GET", "/wp-admin/user-new.php", annCookie, nil, 0},
		{"POST", "/wp-admin/users.php", annCookie, nil, 0},
		{"POST", "/wp-admin/user-new.php.bak", annCookie, nil, 0},
	}
	for _, tc := range cases {
		got, ok := Classify(req(tc.method, tc.target, tc.cookie))
		if tc.want == nil {
			assert.False(t, ok && got.Door == DoorAccount, "%s %s", tc.method, tc.target)
			continue
		}
		require.True(t, ok, "%s %s", tc.method, tc.target)
		assert.Equal(t, Watch{Door: DoorAccount, Resource: "customer", Op: tc.op, Account: tc.want, WantForm: tc.want.Kind == AccountWPRegister}, got, "%s %s", tc.method, tc.target)
		assert.True(t, got.Succeeded(302))
		assert.False(t, got.Succeeded(200))
	}
}

func TestClassifyCheckoutLogin(t *testing.T) {
	w, ok := Classify(req("POST", "/?wc-ajax=checkout", annCookie))
	require.True(t, ok)
	assert.Equal(t, &Account{Login: "ann"}, w.Account)
	w, ok = Classify(req("POST", "/?wc-ajax=checkout", ""))
	require.True(t, ok)
	assert.Nil(t, w.Account, "a guest")
}

func TestLoggedIn(t *testing.T) {
	h := func(c ...string) http.Header { return http.Header{"Cookie": c} }
	assert.Equal(t, "ann", LoggedIn(h(annCookie)))
	assert.Equal(t, "ann", LoggedIn(h("a=1; "+annCookie+"; wordpress_sec_x=y")))
	assert.Equal(t, "ann@x.example", LoggedIn(h("wordpress_logged_in_ab=ann%40x.example%7C1%7Ct%7Cm")))
	assert.Equal(t, "ann", LoggedIn(h(annCookie, "wordpress_logged_in_ffff=ann%7C2%7Ct%7Cm")), "the same login twice")
	assert.Equal(t, "", LoggedIn(h(annCookie, "wordpress_logged_in_ffff=bob%7C2%7Ct%7Cm")), "two logins: ambiguous")
	assert.Equal(t, "", LoggedIn(h("wordpress_logged_in_ab=ann")), "not a WordPress cookie")
	assert.Equal(t, "", LoggedIn(h("wordpress_logged_in_ab=%7C1%7Ct%7Cm")))
	assert.Equal(t, "", LoggedIn(h("wordpress_logged_in_ab=%zz")))
	assert.Equal(t, "", LoggedIn(h()))
}

func TestAccountForm(t *testing.T) {
	const ct = "application/x-www-form-urlencoded"
	form := func(target, body, cookie string) (Watch, bool) {
		t.Helper()
		r := req("POST", target, cookie)
		r.Header.Set("Content-Type", ct)
		w, ok := Classify(r)
		require.True(t, ok)
		require.Equal(t, DoorAddToCart, w.Door)
		require.True(t, w.NeedsForm())
		if !w.ReadForm(r.URL.RawQuery, ct, []byte(body), true) {
			assert.Equal(t, DoorAddToCart, w.Door, "a form that is no account door leaves the watch as it was")
			return Watch{}, false
		}
		assert.False(t, w.NeedsForm())
		return w, true
	}
	const reg = "email=ann%40example.com&password=x&woocommerce-register-nonce=n&register=Register"
	w, ok := form("/my-account/", reg, "")
	require.True(t, ok)
	assert.Equal(t, Watch{Door: DoorAccount, Resource: "customer", Op: OpCreate, Account: &Account{Kind: AccountRegister}, Form: mustQuery(t, reg)}, w)

	for _, body := range []string{"action=save_account_details&account_email=a%40b.c", "action=edit_address&billing_country=DE"} {
		w, ok = form("/my-account/edit-account/", body, annCookie)
		require.True(t, ok, body)
		assert.Equal(t, Watch{Door: DoorAccount, Resource: "customer", Op: OpUpdate, Account: &Account{Kind: AccountEdit, Login: "ann"}, Form: mustQuery(t, body)}, w)
		_, ok = form("/my-account/edit-account/", body, "")
		assert.False(t, ok, "%s: nobody logged in", body)
	}
	for _, body := range []string{"register=1", "email=a%40b.c", "login=1&username=ann&password=x", "action=other", ""} {
		_, ok = form("/my-account/", body, annCookie)
		assert.False(t, ok, body)
	}

	// A form that adds to the cart stays the add-to-cart door.
	w, ok = form("/my-account/", "add-to-cart=5&register=1&email=a%40b.c", "")
	require.True(t, ok)
	assert.Equal(t, DoorAddToCart, w.Door)

	r0 := req("POST", "/my-account/", "")
	r0.Header.Set("Content-Type", ct)
	w, _ = Classify(r0)
	assert.False(t, w.ReadForm("", ct, []byte("add-to-cart=5&register=1&email=a%40b.c&pad=x"), false), "an add to cart over the cap is not watched")

	// A registration longer than MaxForm: the fields before the cut count.
	r := req("POST", "/my-account/", "")
	r.Header.Set("Content-Type", ct)
	w, _ = Classify(r)
	require.True(t, w.ReadForm("", ct, []byte(reg+"&pad="+strings.Repeat("x", 10)), false))
	assert.Equal(t, DoorAccount, w.Door)
	assert.Equal(t, "ann@example.com", w.Form.Get("email"))

	// The AJAX add to cart and the Store API's never become account doors.
	for _, target := range []string{"/?wc-ajax=add_to_cart", "/wp-json/wc/store/v1/cart/add-item"} {
		r := req("POST", target, annCookie)
		r.Header.Set("Content-Type", ct)
		w, ok := Classify(r)
		require.True(t, ok, target)
		w.ReadForm(r.URL.RawQuery, ct, []byte(reg), false)
		assert.NotEqual(t, DoorAccount, w.Door, target)
	}
}

func mustQuery(t *testing.T, s string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(s)
	require.NoError(t, err)
	return q
}

func TestAccountFormWPRegister(t *testing.T) {
	const ct = "application/x-www-form-urlencoded"
	w := watch(t, "POST", "/wp-login.php?action=register")
	require.True(t, w.NeedsForm())
	require.True(t, w.ReadForm("action=register", ct, []byte("user_login=ann&user_email=+ann%40example.com+&redirect_to="), true))
	assert.False(t, w.NeedsForm())
	want := []Change{{Topic: "customer.created", User: &UserRef{Email: "ann@example.com"}}}
	assert.Equal(t, want, Derive(w, 302, loc("wp-login.php?checkemail=registered"), nil))
	for _, tc := range []struct{ ct, body string }{
		{ct, "user_login=ann"}, {ct, "user_email=ann"}, {"multipart/form-data; boundary=x", "user_email=ann%40example.com"}, {ct, ""},
	} {
		w := watch(t, "POST", "/wp-login.php?action=register")
		assert.False(t, w.ReadForm("action=register", tc.ct, []byte(tc.body), true), "%s %s: no user can be created, not watched", tc.ct, tc.body)
		assert.Empty(t, Derive(w, 302, loc("wp-login.php?checkemail=registered"), nil), "%s %s", tc.ct, tc.body)
	}
}

func loc(l string, cookies ...string) http.Header {
	h := http.Header{"Location": {l}}
	for _, c := range cookies {
		h.Add("Set-Cookie", c)
	}
	return h
}

func TestDeriveAccount(t *testing.T) {
	const setAnn = "wordpress_logged_in_0123abcd=ann%7C1900000000%7Ctok%7Cmac; path=/; secure; HttpOnly"
	reg := Watch{Door: DoorAccount, Resource: "customer", Op: OpCreate, Account: &Account{Kind: AccountRegister}}
	wpReg := Watch{Door: DoorAccount, Resource: "customer", Op: OpCreate, Account: &Account{Kind: AccountWPRegister}, Form: url.Values{"user_email": {"bob@example.com"}}}
	create := Watch{Door: DoorAccount, Resource: "customer", Op: OpCreate, Account: &Account{Kind: AccountAdminCreate}}
	edit := Watch{Door: DoorAccount, Resource: "customer", Op: OpUpdate, Account: &Account{Kind: AccountEdit, Login: "ann"}}
	prof := Watch{Door: DoorAccount, Resource: "customer", Op: OpUpdate, Account: &Account{Kind: AccountProfile, Login: "ann"}}
	created := func(u UserRef) []Change { return []Change{{Topic: "customer.created", User: &u}} }
	updated := func(u UserRef) []Change { return []Change{{Topic: "customer.updated", User: &u}} }
	cases := []struct {
		name   string
		w      Watch
		status int
		h      http.Header
		want   []Change
	}{
		{"register", reg, 302, loc("https://shop/my-account/", setAnn), created(UserRef{Login: "ann"})},
		{"register, cleared cookie first", reg, 302, loc("/", "wordpress_logged_in_0123abcd=+; expires=Thu, 01 Jan 1970 00:00:00 GMT", setAnn), created(UserRef{Login: "ann"})},
		{"register without login cookie", reg, 302, loc("https://shop/my-account/"), nil},
		{"register failed", reg, 200, loc("", setAnn), nil},
		{"wp register", wpReg, 302, loc("wp-login.php?checkemail=registered"), created(UserRef{Email: "bob@example.com"})},
		{"wp register to redirect_to", wpReg, 302, loc("https://shop/welcome/"), created(UserRef{Email: "bob@example.com"})},
		{"wp register disabled", wpReg, 302, loc("https://shop/wp-login.php?registration=disabled"), nil},
		{"wp register multisite", wpReg, 302, loc("https://shop/wp-signup.php"), nil},
		{"wp register failed", wpReg, 200, nil, nil},
		{"user-new", create, 302, loc("users.php?update=add&id=17"), []Change{{Topic: "customer.created", ID: 17}}},
		{"user-new without list_users", create, 302, loc("user-new.php?update=add"), nil},
		{"user-new to login", create, 302, loc("https://shop/wp-login.php?redirect_to=x&reauth=1"), nil},
		{"user-new bad id", create, 302, loc("users.php?update=add&id=x"), nil},
		{"user-new failed", create, 200, nil, nil},
		{"edit-account", edit, 302, loc("https://shop/my-account/edit-account/"), updated(UserRef{Login: "ann"})},
		{"edit-address", edit, 302, loc("https://shop/my-account/edit-address/"), updated(UserRef{Login: "ann"})},
		{"edit-address plain", edit, 302, loc("https://shop/?page_id=7&edit-address"), updated(UserRef{Login: "ann"})},
		{"edit elsewhere", edit, 302, loc("https://shop/my-account/"), nil},
		{"edit failed", edit, 200, nil, nil},
		{"profile", prof, 302, loc("https://shop/wp-admin/profile.php?updated=1"), updated(UserRef{Login: "ann"})},
		{"user-edit", prof, 302, loc("https://shop/wp-admin/user-edit.php?user_id=9&updated=1&wp_http_referer=%2Fwp-admin%2Fusers.php"), []Change{{Topic: "customer.updated", ID: 9}}},
		{"user-edit without updated", prof, 302, loc("https://shop/wp-admin/user-edit.php?user_id=9"), nil},
		{"profile to login", prof, 302, loc("https://shop/wp-login.php?redirect_to=x"), nil},
		{"profile failed", prof, 200, nil, nil},
		{"bad location", prof, 302, loc("%zz"), nil},
		{"no account", Watch{Door: DoorAccount}, 302, loc("users.php?update=add&id=17"), nil},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, Derive(tc.w, tc.status, tc.h, nil), tc.name)
	}
	anon := prof
	anon.Account = &Account{Kind: AccountProfile}
	assert.Empty(t, Derive(anon, 302, loc("https://shop/wp-admin/profile.php?updated=1"), nil), "profile.php of nobody")
}

func TestDeriveCheckoutCustomer(t *testing.T) {
	const setAnn = "wordpress_logged_in_0123abcd=ann%7C1900000000%7Ctok%7Cmac; path=/; HttpOnly"
	guest := watch(t, "POST", "/?wc-ajax=checkout")
	member := guest
	member.Account = &Account{Login: "bob"}
	ok := []byte(`{"result":"success","order_id":41,"redirect":"x"}`)
	hdr := func(cookies ...string) http.Header {
		h := jsonCT.Clone()
		for _, c := range cookies {
			h.Add("Set-Cookie", c)
		}
		return h
	}
	ann, bob := &UserRef{Login: "ann"}, &UserRef{Login: "bob"}
	assert.Equal(t, []Change{{Topic: "order.created", ID: 41}}, Derive(guest, 200, hdr(), ok), "a guest")
	assert.Equal(t, []Change{{Topic: "order.created", ID: 41}, {Topic: "customer.created", User: ann}, {Topic: "customer.updated", User: ann}},
		Derive(guest, 200, hdr(setAnn), ok), "an account created on the way")
	assert.Equal(t, []Change{{Topic: "order.created", ID: 41}, {Topic: "customer.updated", User: bob}}, Derive(member, 200, hdr(), ok), "a logged-in customer")
	assert.Equal(t, []Change{{Topic: "order.created", ID: 41}, {Topic: "customer.created", User: ann}, {Topic: "customer.updated", User: ann}},
		Derive(member, 200, hdr(setAnn), ok), "the request's cookie was no valid login: a new account")
	setBob := strings.ReplaceAll(setAnn, "=ann", "=bob")
	assert.Equal(t, []Change{{Topic: "order.created", ID: 41}, {Topic: "customer.updated", User: bob}}, Derive(member, 200, hdr(setBob), ok), "the same login set again")
	assert.Empty(t, Derive(guest, 200, hdr(setAnn), []byte(`{"result":"failure","messages":"x"}`)), "failed")
	assert.Empty(t, Derive(member, 500, hdr(), ok))
	assert.Empty(t, Derive(member, 200, hdr(), nil), "not captured")

	// The Store API: the answer's customer_id names the customer.
	store := watch(t, "POST", "/wp-json/wc/store/v1/checkout")
	placed := func(customer string) []byte {
		return []byte(`{"order_id":41,"status":"processing","customer_id":` + customer + `}`)
	}
	order := Change{Topic: "order.created", ID: 41, Status: "processing"}
	assert.Equal(t, []Change{order}, Derive(store, 200, hdr(), placed("0")), "a guest")
	assert.Equal(t, []Change{order}, Derive(store, 200, hdr(), []byte(`{"order_id":41,"status":"processing"}`)), "a guest, no customer_id")
	assert.Equal(t, []Change{order, {Topic: "customer.updated", ID: 9}}, Derive(store, 200, hdr(), placed("9")), "a logged-in customer")
	assert.Equal(t, []Change{order, {Topic: "customer.updated", ID: 9}}, Derive(store, 200, hdr(), placed(`"9"`)), "an id as a string")
	assert.Equal(t, []Change{order, {Topic: "customer.created", ID: 9}, {Topic: "customer.updated", ID: 9}},
		Derive(store, 200, hdr(setAnn), placed("9")), "create_account: the new login cookie")
	assert.Equal(t, []Change{order, {Topic: "customer.created", User: ann}, {Topic: "customer.updated", User: ann}},
		Derive(store, 200, hdr(setAnn), placed("0")), "a new account the answer does not name")
	for _, body := range []string{`{"order_id":41,"status":"checkout-draft","customer_id":9}`, `{"order_id":0,"status":"processing","customer_id":9}`, `{"order_id":41,"customer_id":9}`, `{"code":"x","customer_id":9}`, `[]`} {
		for _, c := range Derive(store, 200, hdr(setAnn), []byte(body)) {
			assert.NotContains(t, c.Topic, "customer.", body)
		}
	}
	assert.Empty(t, Derive(store, 400, hdr(setAnn), placed("9")))
}

type finder struct {
	ids   map[UserRef]int64
	calls int
	err   error
}

func (f *finder) FindUser(_ context.Context, u UserRef) (int64, error) {
	f.calls++
	return f.ids[u], f.err
}

func TestResolveUsers(t *testing.T) {
	f := &fakes{versions: map[string][]string{"customer.created": {"wp_api_v3"}, "customer.updated": {"wp_api_v1"}}}
	e := newEmitter(f)
	ann, bob := UserRef{Login: "ann"}, UserRef{Email: "bob@example.com"}
	fd := &finder{ids: map[UserRef]int64{ann: 7, bob: 8}}
	in := []Change{
		{Topic: "order.created", ID: 41},
		{Topic: "customer.created", User: &ann},
		{Topic: "customer.updated", User: &ann},
		{Topic: "customer.updated", ID: 7}, // the same (topic, id) again
		{Topic: "customer.created", User: &bob},
		{Topic: "customer.deleted", User: &bob}, // nobody listens: no look-up
	}
	got, err := e.ResolveUsers(context.Background(), fd, in)
	require.NoError(t, err)
	assert.Equal(t, []Change{{Topic: "order.created", ID: 41}, {Topic: "customer.created", ID: 7}, {Topic: "customer.updated", ID: 7}, {Topic: "customer.created", ID: 8}}, got)
	assert.Equal(t, 2, fd.calls, "one look-up per user")
	assert.Equal(t, int64(0), in[1].ID)

	// Not found, errors, no finder: dropped with an error.
	got, err = e.ResolveUsers(context.Background(), &finder{}, []Change{{Topic: "customer.created", User: &ann}})
	assert.Empty(t, got)
	assert.ErrorContains(t, err, "not found")
	got, err = e.ResolveUsers(context.Background(), &finder{err: errors.New("boom")}, []Change{{Topic: "customer.created", User: &ann}})
	assert.Empty(t, got)
	assert.ErrorContains(t, err, "boom")
	got, err = e.ResolveUsers(context.Background(), nil, []Change{{Topic: "customer.created", User: &ann}})
	assert.Empty(t, got)
	assert.True(t, err != nil && strings.Contains(err.Error(), "service key"))
}
