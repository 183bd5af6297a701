package wcevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// DoorAccount is the account doors: registrations and profile updates
// outside the REST API, each answered by WordPress with a 302 on success
// (see AccountKind). Their events are customer.created (user_register,
// woocommerce_created_customer) and customer.updated (profile_update,
// woocommerce_update_customer). As in WooCommerce, these fire for users
// of every role: WC_Webhook checks the role only for delete_user.
const DoorAccount Door = 12

// AccountKind is the account door of a request.
type AccountKind uint8

// The account doors.
const (
	// AccountRegister is WooCommerce's My Account registration: a POST
	// form with register and email (WC_Form_Handler::process_registration),
	// a 302 that sets the new user's wordpress_logged_in_* cookie on success.
	AccountRegister AccountKind = iota + 1
	// AccountWPRegister is POST wp-login.php?action=register (user_login,
	// user_email): a 302 to wp-login.php?checkemail=registered (or the
	// posted redirect_to) on success.
	AccountWPRegister
	// AccountAdminCreate is POST wp-admin/user-new.php (action=createuser):
	// a 302 to users.php?update=add&id=<id> on success.
	AccountAdminCreate
	// AccountEdit is My Account's edit-account (action=save_account_details)
	// and edit-address (action=edit_address) forms: a 302 to the endpoint's
	// URL on success, for the logged-in user.
	AccountEdit
	// AccountProfile is POST wp-admin/profile.php or user-edit.php
	// (action=update): a 302 to profile.php?updated=1 (the logged-in user)
	// or user-edit.php?user_id=<id>&updated=1.
	AccountProfile
)

// Account is what an account door's request says.
type Account struct {
	// Kind is the door.
	Kind AccountKind
	// Login is the login named by the request's wordpress_logged_in_*
	// cookies, "" when there are none or they disagree.
	Login string
}

// UserRef names the user of a customer change whose answer does not tell
// the user's id: by login or, when Login is "", by email.
type UserRef struct {
	Login string
	Email string
}

// UserFinder finds the id of a user by login or email; 0 when there is
// no such user.
type UserFinder interface {
	FindUser(ctx context.Context, u UserRef) (int64, error)
}

// accountDoor recognises the account doors whose path tells them (POST to
// wp-login.php?action=register, wp-admin/user-new.php, profile.php and
// user-edit.php). Other paths cost one suffix check. The wp-login.php
// registration wants the form (WantForm): its user_email names the user.
func accountDoor(r *http.Request) (Watch, bool) {
	path := r.URL.Path
	if !strings.HasSuffix(path, ".php") || r.Method != http.MethodPost {
		return Watch{}, false
	}
	w := Watch{Door: DoorAccount, Resource: "customer", Op: OpUpdate}
	switch {
	case strings.HasSuffix(path, "/wp-login.php"):
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil || q.Get("action") != "register" {
			return Watch{}, false
		}
		w.Op, w.WantForm = OpCreate, true
		w.Account = &Account{Kind: AccountWPRegister}
	case strings.HasSuffix(path, "/wp-admin/user-new.php"):
		w.Op = OpCreate
		w.Account = &Account{Kind: AccountAdminCreate}
	case strings.HasSuffix(path, "/wp-admin/profile.php"), strings.HasSuffix(path, "/wp-admin/user-edit.php"):
		w.Account = &Account{Kind: AccountProfile, Login: LoggedIn(r.Header)}
	default:
		return Watch{}, false
	}
	return w, true
}

// accountForm turns the add-to-cart form door whose fields (form) added
// nothing to a cart into an account door when the form is one:
// WooCommerce's registration (register and email) or My Account's
// save_account_details / edit_address of a logged-in user (w.Cart.Login).
// It reports false, leaving w as it was, for other forms.
func (w *Watch) accountForm(form url.Values) bool {
	if form.Get("add-to-cart") != "" {
		return false // an add to cart whose body was too long to watch
	}
	out := Watch{Door: DoorAccount, Resource: "customer", Form: form}
	_, register := form["register"]
	switch action := form.Get("action"); {
	case register && form.Get("email") != "":
		out.Op = OpCreate
		out.Account = &Account{Kind: AccountRegister}
	case (action == "save_account_details" || action == "edit_address") && w.Cart.Login != "":
		out.Op = OpUpdate
		out.Account = &Account{Kind: AccountEdit, Login: w.Cart.Login}
	default:
		return false
	}
	*w = out
	return true
}

// withLogin records the login of a checkout request's cookies (the
// logged-in customer WooCommerce updates on checkout).
func withLogin(w Watch, r *http.Request) Watch {
	if login := LoggedIn(r.Header); login != "" {
		w.Account = &Account{Login: login}
	}
	return w
}

// LoggedIn returns the login of a request's wordpress_logged_in_* cookies
// ("<login>|<expiration>|<token>|<hmac>", URL-encoded), "" when there are
// none, none is well formed, or two name different logins (WordPress
// reads only the one of its own COOKIEHASH, which is not known here).
func LoggedIn(h http.Header) string {
	raw := h.Values("Cookie")
	if len(raw) == 0 {
		return ""
	}
	login := ""
	for _, c := range (&http.Request{Header: http.Header{"Cookie": raw}}).Cookies() {
		if !strings.HasPrefix(c.Name, "wordpress_logged_in_") {
			continue
		}
		l := cookieLogin(c.Value)
		switch {
		case l == "":
		case login == "":
			login = l
		case login != l:
			return ""
		}
	}
	return login
}

// newLogin returns the login of the wordpress_logged_in_* cookie an answer
// sets (the last one set with a value), "" for none.
func newLogin(h http.Header) string {
	login := ""
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if !strings.HasPrefix(c.Name, "wordpress_logged_in_") || c.MaxAge < 0 {
			continue
		}
		if l := cookieLogin(c.Value); l != "" {
			login = l
		}
	}
	return login
}

// cookieLogin reads the login of a logged_in cookie's value.
func cookieLogin(v string) string {
	if u, err := url.QueryUnescape(v); err == nil {
		v = u
	}
	parts := strings.Split(v, "|")
	if len(parts) != 4 || parts[0] == "" || parts[1] == "" {
		return ""
	}
	return parts[0]
}

// deriveAccount derives the customer event of an account door's answer:
// only a 302 counts (WordPress answers a failed form with its page again,
// 200), and only one that says the door succeeded (see AccountKind).
func deriveAccount(w Watch, status int, header http.Header) []Change {
	a := w.Account
	if status != http.StatusFound || a == nil {
		return nil
	}
	loc, err := url.Parse(header.Get("Location"))
	if err != nil {
		return nil
	}
	q := loc.Query()
	switch a.Kind {
	case AccountRegister:
		if login := newLogin(header); login != "" {
			return []Change{{Topic: "customer.created", User: &UserRef{Login: login}}}
		}
	case AccountWPRegister:
		email := strings.TrimSpace(w.Form.Get("user_email"))
		if !strings.Contains(email, "@") || q.Get("registration") == "disabled" || strings.HasSuffix(loc.Path, "wp-signup.php") || strings.HasSuffix(loc.Path, "wp-login.php") && q.Get("action") == "register" {
			return nil
		}
		return []Change{{Topic: "customer.created", User: &UserRef{Email: email}}}
	case AccountAdminCreate:
		id, ok := digits(q.Get("id"))
		if ok && id > 0 && q.Get("update") == "add" && strings.HasSuffix(loc.Path, "users.php") {
			return []Change{{Topic: "customer.created", ID: id}}
		}
	case AccountEdit:
		if a.Login != "" && (endpoint(loc, "edit-account") || endpoint(loc, "edit-address")) {
			return []Change{{Topic: "customer.updated", User: &UserRef{Login: a.Login}}}
		}
	case AccountProfile:
		if q.Get("updated") == "" || q.Get("updated") == "0" {
			return nil
		}
		switch {
		case strings.HasSuffix(loc.Path, "user-edit.php"):
			if id, ok := digits(q.Get("user_id")); ok && id > 0 {
				return []Change{{Topic: "customer.updated", ID: id}}
			}
		case strings.HasSuffix(loc.Path, "profile.php") && a.Login != "":
			return []Change{{Topic: "customer.updated", User: &UserRef{Login: a.Login}}}
		}
	}
	return nil
}

// endpoint reports whether a My Account URL names endpoint: pretty
// (.../edit-account/) or plain (?edit-account or ?edit-account=).
func endpoint(loc *url.URL, name string) bool {
	if _, ok := loc.Query()[name]; ok {
		return true
	}
	p := strings.TrimRight(loc.Path, "/")
	return p == name || strings.HasSuffix(p, "/"+name)
}

// checkoutCustomer derives the customer events of a successful checkout.
//
// The classic checkout (WC_Checkout::process_customer): an account created
// on the way (createaccount, or registration required) is
// customer.created, then saved with the checkout's fields:
// customer.updated; a logged-in customer's checkout saves the customer:
// customer.updated. The new account is the login of the
// wordpress_logged_in_* cookie the answer sets (WordPress sets none for a
// customer already logged in, so a new one also means the request's cookie
// was not valid); otherwise the customer is the request's login. A guest
// checkout gives nothing.
//
// The Store API checkout (an order placed, not in checkout-draft): an
// account created with create_account sets the new login cookie
// (wc_set_customer_auth_cookie): customer.created; the order's customer is
// then saved (sync_customer_data_with_order → woocommerce_update_customer):
// customer.updated for the answer's customer_id when it is > 0. Both name
// the customer by customer_id, or by the new cookie's login when the answer
// carries no id.
func checkoutCustomer(w Watch, header http.Header, body []byte) []Change {
	var a struct {
		Result     string          `json:"result"`
		OrderID    json.RawMessage `json:"order_id"`
		Status     json.RawMessage `json:"status"`
		CustomerID json.RawMessage `json:"customer_id"`
	}
	if json.Unmarshal(body, &a) != nil {
		return nil
	}
	switch w.Door {
	case DoorCheckout:
		if a.Result != "success" {
			return nil
		}
		login := ""
		if w.Account != nil {
			login = w.Account.Login
		}
		var out []Change
		if set := newLogin(header); set != "" && set != login {
			login = set
			out = append(out, Change{Topic: "customer.created", User: &UserRef{Login: login}})
		}
		if login == "" {
			return nil
		}
		return append(out, Change{Topic: "customer.updated", User: &UserRef{Login: login}})
	case DoorStoreCheckout:
		if status := text(a.Status); number(a.OrderID) <= 0 || status == "" || status == "checkout-draft" {
			return nil
		}
		id, set := number(a.CustomerID), newLogin(header)
		if id <= 0 && set == "" {
			return nil // a guest
		}
		c := Change{ID: id}
		if id <= 0 {
			c.User = &UserRef{Login: set}
		}
		var out []Change
		if set != "" {
			created := c
			created.Topic = "customer.created"
			out = append(out, created)
		}
		c.Topic = "customer.updated"
		return append(out, c)
	}
	return nil
}

// ResolveUsers gives the changes that name their user by login or email
// (Change.User) the user's id, found with f, and returns the changes to
// publish: those of topics nobody listens to are dropped before any
// look-up, and so are users not found; one change per (topic, id) stays.
// The errors met are returned joined.
func (e *Emitter) ResolveUsers(ctx context.Context, f UserFinder, changes []Change) ([]Change, error) {
	var out []Change
	var errs []error
	ids := map[UserRef]int64{}
	seen := map[string]bool{}
	for _, c := range changes {
		if c.User != nil {
			versions, err := e.Subscribers.Versions(ctx, c.Topic)
			if err != nil {
				errs = append(errs, fmt.Errorf("listing webhooks of %s: %w", c.Topic, err))
				continue
			}
			if len(versions) == 0 {
				continue
			}
			id, ok := ids[*c.User]
			if !ok {
				if f == nil {
					errs = append(errs, errors.New("no service key to find the customer of "+c.Topic))
					continue
				}
				if id, err = f.FindUser(ctx, *c.User); err != nil {
					errs = append(errs, fmt.Errorf("finding the customer of %s: %w", c.Topic, err))
					continue
				}
				ids[*c.User] = id
			}
			if id <= 0 {
				errs = append(errs, errors.New("the customer of "+c.Topic+" was not found"))
				continue
			}
			c.ID, c.User = id, nil
		}
		key := c.Topic + "\x00" + strconv.FormatInt(c.ID, 10)
		if c.ID <= 0 || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, c)
	}
	return out, errors.Join(errs...)
}
