package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/standin"
)

// TestEventsFromAccountDoors: registrations (My Account, wp-login.php,
// the classic checkout's createaccount, the Store API checkout's
// create_account, wp-admin/user-new.php) and profile updates (My Account
// edit-account and edit-address, wp-admin profile.php and user-edit.php,
// a logged-in customer's classic or Store API checkout),
// through the module, give exactly one customer.created or
// customer.updated per change to each webhook, in the webhook's API
// version (the customer is found by the login cookie, the form's email or
// the redirect's id or the Store API's customer_id, then read with the
// service key). Failed forms, disabled registration, failed checkouts and
// a guest's checkouts give nothing. As in
// WooCommerce, users of every role count (WC_Webhook checks the role only
// for delete_user).
func TestEventsFromAccountDoors(t *testing.T) {
	e := newEventsEnv(t)
	cv1, cv3 := newHookReceiver(t, nil), newHookReceiver(t, nil)
	uv3, ulegacy := newHookReceiver(t, nil), newHookReceiver(t, nil)
	e.createHook(t, "/wp-json/wc/v1/webhooks", "customer.created", cv1.URL)
	e.createHook(t, "/wp-json/wc/v3/webhooks", "customer.created", cv3.URL)
	e.createHook(t, "/wp-json/wc/v3/webhooks", "customer.updated", uv3.URL)
	e.createHook(t, "/wc-api/v3/webhooks", "customer.updated", ulegacy.URL)
	time.Sleep(fanoutCacheWait)
	e.Standin.Reset()

	post := func(path, body, cookie string, want int) response {
		t.Helper()
		h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		if cookie != "" {
			h.Set("Cookie", cookie)
		}
		r := do(t, e.C, "POST", e.HTTPSBase+path, []byte(body), h)
		require.Equal(t, want, r.Status, "%s %s: %s", path, body, r.Body)
		return r
	}
	admin := standin.LoginCookie("admin")
	store := func(body, cookie string, want int) int64 {
		t.Helper()
		h := http.Header{"Content-Type": {"application/json"}}
		if cookie != "" {
			h.Set("Cookie", cookie)
		}
		r := do(t, e.C, "POST", e.HTTPSBase+"/wp-json/wc/store/v1/checkout", []byte(body), h)
		require.Equal(t, want, r.Status, "Store API checkout %s: %s", body, r.Body)
		var placed struct {
			CustomerID int64 `json:"customer_id"`
		}
		if want == 200 {
			r.JSON(t, &placed)
		}
		return placed.CustomerID
	}

	// Registrations.
	post("/my-account/", "email=ann%40example.com&woocommerce-register-nonce=n&register=Register", "", 302)
	post("/wp-login.php?action=register", "user_login=bob&user_email=bob%40example.com&wp-submit=Register", "", 302)
	r := post("/?wc-ajax=checkout", "billing_email=cy%40example.com&createaccount=1&payment_method=bacs&woocommerce-process-checkout-nonce=n", "", 200)
	require.Contains(t, string(r.Body), `"result":"success"`)
	post("/wp-admin/user-new.php", "action=createuser&_wpnonce_create-user=n&user_login=dee&email=dee%40example.com&role=shop_manager", admin, 302)
	fay := store(`{"billing_address":{"email":"fay@example.com"},"payment_method":"cod","create_account":true}`, "", 200)
	ids := map[string]int64{}
	for _, login := range []string{"ann", "bob", "cy", "dee", "fay"} {
		c, ok := e.Standin.Customer(login)
		require.True(t, ok, login)
		ids[login] = c.ID
	}
	require.Equal(t, ids["fay"], fay, "the Store API answers the new account's id")

	// Updates.
	ann := standin.LoginCookie("ann")
	post("/my-account/edit-account/", "account_first_name=Ann&account_last_name=Lee&account_display_name=Ann&account_email=ann%40example.com&save-account-details-nonce=n&action=save_account_details", ann, 302)
	post("/my-account/edit-address/billing/", "billing_first_name=Ann&billing_country=DE&woocommerce-edit-address-nonce=n&action=edit_address", ann, 302)
	post("/wp-admin/profile.php", "_wpnonce=n&action=update&email=bob%40example.com&first_name=Bob", standin.LoginCookie("bob"), 302)
	post(fmt.Sprintf("/wp-admin/user-edit.php?user_id=%d", ids["dee"]), "_wpnonce=n&action=update&email=dee%40example.com&first_name=Dee", admin, 302)
	r = post("/checkout/?wc-ajax=checkout", "billing_email=ann%40example.com&payment_method=bacs&woocommerce-process-checkout-nonce=n", ann, 200)
	require.Contains(t, string(r.Body), `"result":"success"`)
	require.Equal(t, ids["bob"], store(`{"billing_address":{"email":"bob@example.com"},"payment_method":"cod"}`, standin.LoginCookie("bob"), 200))
	require.Zero(t, store(`{"billing_address":{"email":"gus@example.com"},"payment_method":"cod"}`, "", 200), "a guest")

	// Failures: nothing changes, nothing fires.
	post("/my-account/", "email=ann%40example.com&woocommerce-register-nonce=n&register=Register", "", 200)
	post("/wp-login.php?action=register", "user_login=bob&user_email=bob2%40example.com", "", 200)
	e.Standin.SetUsersCanRegister(false)
	post("/wp-login.php?action=register", "user_login=eve&user_email=eve%40example.com", "", 302)
	e.Standin.SetUsersCanRegister(true)
	r = post("/?wc-ajax=checkout", "billing_email=bob%40example.com&createaccount=1&woocommerce-process-checkout-nonce=n", "", 200)
	require.Contains(t, string(r.Body), `"result":"failure"`)
	post("/wp-admin/user-new.php", "action=createuser&_wpnonce_create-user=n&user_login=eve&email=nope", admin, 200)
	post("/wp-admin/user-new.php", "action=createuser&user_login=eve&email=eve%40example.com", admin, 403)
	post("/my-account/edit-account/", "account_email=ann%40example.com&save-account-details-nonce=n&action=save_account_details", ann, 200)
	post("/my-account/edit-address/billing/", "billing_first_name=Ann&billing_country=DE&woocommerce-edit-address-nonce=n&action=edit_address", "", 200)
	post("/wp-admin/profile.php", "_wpnonce=n&action=update&email=", standin.LoginCookie("bob"), 200)
	store(`{"billing_address":{"email":"ann@example.com"},"create_account":true}`, "", 400)
	store(`{"billing_address":{}}`, standin.LoginCookie("bob"), 400)
	_, ok := e.Standin.Customer("eve")
	require.False(t, ok)

	created := []int64{ids["ann"], ids["bob"], ids["cy"], ids["dee"], ids["fay"]}
	updated := []int64{ids["cy"], ids["fay"], ids["ann"], ids["ann"], ids["bob"], ids["dee"], ids["ann"], ids["bob"]}
	waitUntil(t, 30*time.Second, "every customer event at each receiver", func() bool {
		return len(cv1.Deliveries()) >= len(created) && len(cv3.Deliveries()) >= len(created) &&
			len(uv3.Deliveries()) >= len(updated) && len(ulegacy.Deliveries()) >= len(updated)
	})
	time.Sleep(settle) // nothing more may follow

	for _, tc := range []struct {
		rc      *receiver
		version string
		topic   string
		want    []int64
	}{{cv1, "v1", "customer.created", created}, {cv3, "v3", "customer.created", created}, {uv3, "v3", "customer.updated", updated}, {ulegacy, "legacy", "customer.updated", updated}} {
		var got []int64
		for _, d := range tc.rc.Deliveries() {
			assert.Equal(t, tc.topic, d.Header.Get("X-WC-Webhook-Topic"))
			assertVersion(t, tc.version, tc.topic, d.Body)
			var item struct {
				ID       int64 `json:"id"`
				Customer *struct {
					ID int64 `json:"id"`
				} `json:"customer"`
			}
			require.NoError(t, json.Unmarshal(d.Body, &item), "%s", d.Body)
			if item.Customer != nil {
				item.ID = item.Customer.ID
			}
			got = append(got, item.ID)
		}
		want := append([]int64(nil), tc.want...)
		sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
		sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
		assert.Equal(t, want, got, "%s %s: exactly one event per change", tc.version, tc.topic)
	}

	// The module's reads: with the service key only, customers found by
	// login or email in the customers list of every role.
	var lookups int
	for _, rq := range e.Standin.Requests() {
		if rq.Header.Get("User-Agent") != "caddy-wc-webhooks events" {
			continue
		}
		ck, _, _ := (&http.Request{Header: rq.Header}).BasicAuth()
		assert.NotEqual(t, e.Shop.ConsumerKey, ck)
		if strings.Contains(rq.RequestURI, "%2Fwc%2Fv3%2Fcustomers&") {
			lookups++
			assert.Contains(t, rq.RequestURI, "role=all")
		}
	}
	assert.Positive(t, lookups)
}
