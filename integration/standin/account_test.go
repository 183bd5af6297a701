package standin

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAccountDoors(t *testing.T) {
	s := New()
	send := func(target, body, cookie string, hdr ...string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest("POST", target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}

	// My Account registration: login from the email, cookies, 302.
	w := send("/my-account/", "email=ann%40example.com&woocommerce-register-nonce=n&register=Register", "", "Referer", "https://shop.example/my-account/")
	require.Equal(t, 302, w.Code, w.Body.String())
	assert.Equal(t, MyAccountURL, w.Header().Get("Location"))
	ann, ok := s.Customer("ann")
	require.True(t, ok)
	assert.Equal(t, []string{"customer", "ann@example.com"}, []string{ann.Role, ann.Email})
	assert.Contains(t, strings.Join(w.Header().Values("Set-Cookie"), "\n"), "wordpress_logged_in_"+cookieHash+"=ann%7C")
	// Taken email, bad email: the page again.
	for _, body := range []string{"email=ANN%40example.com&woocommerce-register-nonce=n&register=1", "email=nobody&woocommerce-register-nonce=n&register=1"} {
		w = send("/my-account/", body, "")
		assert.Equal(t, 200, w.Code, body)
		assert.Empty(t, w.Header().Values("Set-Cookie"))
	}
	// A second "ann@" gets a numbered login.
	w = send("/my-account/", "email=ann%40other.example&woocommerce-register-nonce=n&register=1", "")
	require.Equal(t, 302, w.Code)
	_, ok = s.Customer("ann1")
	assert.True(t, ok)

	// wp-login.php registration.
	w = send("/wp-login.php?action=register", "user_login=bob&user_email=bob%40example.com", "")
	require.Equal(t, 302, w.Code, w.Body.String())
	assert.Equal(t, "wp-login.php?checkemail=registered", w.Header().Get("Location"))
	bob, ok := s.Customer("bob")
	require.True(t, ok)
	assert.Equal(t, "subscriber", bob.Role)
	assert.Equal(t, 200, send("/wp-login.php?action=register", "user_login=bob&user_email=bob2%40example.com", "").Code, "taken login")
	s.SetUsersCanRegister(false)
	w = send("/wp-login.php?action=register", "user_login=cy&user_email=cy%40example.com", "")
	assert.Equal(t, "https://shop.example/wp-login.php?registration=disabled", w.Header().Get("Location"))
	s.SetUsersCanRegister(true)

	// user-new.php by an administrator.
	w = send("/wp-admin/user-new.php", "action=createuser&_wpnonce_create-user=n&user_login=dee&email=dee%40example.com&role=shop_manager", LoginCookie("admin"))
	require.Equal(t, 302, w.Code, w.Body.String())
	dee, ok := s.Customer("dee")
	require.True(t, ok)
	assert.Equal(t, fmt.Sprintf("users.php?update=add&id=%d", dee.ID), w.Header().Get("Location"))
	assert.Equal(t, "shop_manager", dee.Role)
	assert.Equal(t, 403, send("/wp-admin/user-new.php", "action=createuser&_wpnonce_create-user=n&user_login=e&email=e%40example.com", LoginCookie("ann")).Code)
	assert.Equal(t, 403, send("/wp-admin/user-new.php", "action=createuser&user_login=e&email=e%40example.com", LoginCookie("admin")).Code)
	assert.Equal(t, 302, send("/wp-admin/user-new.php", "action=createuser&_wpnonce_create-user=n", "").Code, "auth_redirect")
	assert.Equal(t, 200, send("/wp-admin/user-new.php", "action=createuser&_wpnonce_create-user=n&user_login=e&email=bad", LoginCookie("admin")).Code)

	// profile.php and user-edit.php.
	before, _ := s.Customer("ann")
	w = send("/wp-admin/profile.php", "action=update&_wpnonce=n&email=ann%40example.com&first_name=Ann", LoginCookie("ann"))
	require.Equal(t, 302, w.Code, w.Body.String())
	assert.Equal(t, AdminURL+"profile.php?updated=1", w.Header().Get("Location"))
	after, _ := s.Customer("ann")
	assert.True(t, after.Modified.After(before.Modified))
	w = send(fmt.Sprintf("/wp-admin/user-edit.php?user_id=%d", bob.ID), "action=update&_wpnonce=n&email=bob%40example.com", LoginCookie("admin"))
	require.Equal(t, 302, w.Code, w.Body.String())
	assert.Equal(t, fmt.Sprintf("%suser-edit.php?user_id=%d&updated=1", AdminURL, bob.ID), w.Header().Get("Location"))
	assert.Equal(t, 200, send("/wp-admin/profile.php", "action=update&_wpnonce=n&email=", LoginCookie("ann")).Code)
	assert.Equal(t, 403, send(fmt.Sprintf("/wp-admin/user-edit.php?user_id=%d", bob.ID), "action=update&_wpnonce=n&email=b%40x.y", LoginCookie("ann")).Code)

	// My Account edit-account and edit-address.
	w = send("/my-account/edit-account/", "action=save_account_details&save-account-details-nonce=n&account_first_name=A&account_last_name=B&account_display_name=AB&account_email=ann%40example.com", LoginCookie("ann"))
	require.Equal(t, 302, w.Code, w.Body.String())
	assert.Equal(t, MyAccountURL+"edit-account/", w.Header().Get("Location"))
	assert.Equal(t, 200, send("/my-account/edit-account/", "action=save_account_details&save-account-details-nonce=n&account_email=ann%40example.com", LoginCookie("ann")).Code)
	w = send("/my-account/edit-address/shipping/", "action=edit_address&woocommerce-edit-address-nonce=n&shipping_country=DE&shipping_first_name=Ann", LoginCookie("ann"))
	require.Equal(t, 302, w.Code, w.Body.String())
	assert.Equal(t, MyAccountURL+"edit-address/", w.Header().Get("Location"))
	assert.Equal(t, 200, send("/my-account/edit-address/billing/", "action=edit_address&woocommerce-edit-address-nonce=n&billing_country=DE", LoginCookie("ann")).Code)
	assert.Equal(t, 200, send("/my-account/edit-address/billing/", "action=edit_address&woocommerce-edit-address-nonce=n&billing_country=DE&billing_first_name=A", "").Code, "nobody logged in")

	// Checkout creating an account, then a taken email.
	w = send("/?wc-ajax=checkout", "billing_email=fay%40example.com&createaccount=1&payment_method=bacs", "")
	require.Equal(t, 200, w.Code)
	assert.Contains(t, w.Body.String(), `"result":"success"`)
	assert.Contains(t, strings.Join(w.Header().Values("Set-Cookie"), "\n"), "wordpress_logged_in_"+cookieHash+"=fay%7C")
	w = send("/?wc-ajax=checkout", "billing_email=fay%40example.com&createaccount=1", "")
	assert.Contains(t, w.Body.String(), `"result":"failure"`)

	// The customers list: role, search, email.
	list := func(q string) []map[string]any {
		t.Helper()
		r := httptest.NewRequest("GET", "/wp-json/wc/v3/customers?"+q, nil)
		r.SetBasicAuth("x", "y")
		k := NewKey(ManagerID, PermRead)
		s.AddKey(k)
		r.SetBasicAuth(k.ConsumerKey, k.ConsumerSecret)
		r.Header.Set("X-Forwarded-Proto", "https")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		require.Equal(t, 200, w.Code, w.Body.String())
		var out []map[string]any
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
		return out
	}
	logins := func(items []map[string]any) (out []string) {
		for _, it := range items {
			out = append(out, it["username"].(string))
		}
		return out
	}
	assert.Equal(t, []string{"ann", "ann1", "fay"}, logins(list("")), "customers only, by id")
	assert.Equal(t, []string{"fay", "dee", "bob", "ann1", "ann"}, logins(list("role=all&order=desc")), "role all")
	assert.Equal(t, []string{"dee"}, logins(list("role=all&search=d")), "search")
	assert.Equal(t, []string{"bob"}, logins(list("role=all&email=BOB%40example.com")))
	assert.Equal(t, []string{"ann1"}, logins(list("search=ann%40other")))
	assert.Len(t, list("role=all&per_page=2&page=3"), 1)
}
