package standin

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The stand-in's account doors, answering like WordPress and WooCommerce.
// Users made or changed here are customers of the resource store (any
// role), so the customers routes read them:
//
//   - My Account registration (WC_Form_Handler::process_registration):
//     a front-end POST form with register, email and
//     woocommerce-register-nonce. The login is the posted username, or
//     else made from the email's local part (numbered when taken). A new
//     "customer" gets wc_set_customer_auth_cookie's cookies (Set-Cookie
//     wordpress_sec_<hash> and wordpress_logged_in_<hash>) and a 302 to
//     the posted redirect, the referer or the My Account page. An invalid
//     or taken email (or login) re-renders the page: 200.
//   - WordPress registration, POST wp-login.php?action=register
//     (user_login, user_email): a "subscriber" and a 302 to the posted
//     redirect_to or wp-login.php?checkemail=registered; a 302 to
//     wp-login.php?registration=disabled when registration is off (see
//     SetUsersCanRegister); errors re-render the form (200).
//   - wp-admin/user-new.php (action=createuser, _wpnonce_create-user,
//     user_login, email, role) by an administrator: a 302 to
//     users.php?update=add&id=<id>; errors re-render the form (200).
//   - wp-admin/profile.php and user-edit.php?user_id=N (action=update,
//     _wpnonce, email, first_name): edit_user, then a 302 to
//     profile.php?updated=1 (one's own profile) or
//     user-edit.php?user_id=N&updated=1; an empty or invalid email
//     re-renders the form (200).
//   - My Account edit-account (action=save_account_details,
//     save-account-details-nonce, account_first_name, account_last_name,
//     account_display_name, account_email) and edit-address/<type>/
//     (action=edit_address, woocommerce-edit-address-nonce,
//     <type>_country, <type>_first_name) of the logged-in user: a 302 to
//     my-account/edit-account/ or my-account/edit-address/; missing or
//     invalid fields re-render the page (200).
//   - the classic checkout (?wc-ajax=checkout) of a logged-in customer
//     saves the customer; with createaccount=1 and nobody logged in it
//     first creates the account from billing_email (account_username
//     when given) and sets the login cookies (WC_Checkout::
//     process_customer); a taken email fails the checkout. The order is
//     then placed by serveCheckout.
//
// wp-admin requests without a login cookie get auth_redirect's 302 to
// wp-login.php, without their nonce wp_die's 403. The logged-in user is
// the login in the wordpress_logged_in_* cookie (not verified).

// MyAccountURL is the stand-in's My Account page.
const MyAccountURL = "https://shop.example/my-account/"

// cookieHash is the stand-in's COOKIEHASH (md5 of the site URL).
const cookieHash = "5f2b8a2c6a1f4e6e8d7c9b0a1e2f3d4c"

// LoginCookie is a Cookie header value for login, as WordPress's
// wordpress_logged_in_<COOKIEHASH> cookie holds it.
func LoginCookie(login string) string {
	return "wordpress_logged_in_" + cookieHash + "=" + phpURLEncode(login+"|1900000000|token|hmac")
}

// registration holds users_can_register per server (default on).
var registration sync.Map // *Server -> bool

// SetUsersCanRegister turns WordPress registration (wp-login.php) on or
// off; it is on unless turned off.
func (s *Server) SetUsersCanRegister(on bool) { registration.Store(s, on) }

func (s *Server) usersCanRegister() bool {
	v, ok := registration.Load(s)
	return !ok || v.(bool)
}

// Customer returns a copy of the stored customer (user) with login.
func (s *Server) Customer(login string) (Resource, bool) {
	st := s.resources()
	st.mu.Lock()
	defer st.mu.Unlock()
	if r := st.byLogin(login); r != nil {
		return *r, true
	}
	return Resource{}, false
}

// serveAccount answers the account doors; false when the request is none
// of them (a checkout then goes on to serveCheckout).
func (c *call) serveAccount() bool {
	if c.r.Method != http.MethodPost {
		return false
	}
	path, req := c.r.URL.Path, c.request()
	switch {
	case strings.HasSuffix(path, "/wp-login.php"):
		if c.query["action"] != "register" {
			return false
		}
		c.wpRegister(req)
	case strings.HasSuffix(path, "/wp-admin/user-new.php"):
		c.adminUser(req, "create", 0)
	case strings.HasSuffix(path, "/wp-admin/profile.php"):
		c.adminUser(req, "profile", 0)
	case strings.HasSuffix(path, "/wp-admin/user-edit.php"):
		c.adminUser(req, "edit", atoi(req["user_id"]))
	case c.query["wc-ajax"] == "checkout":
		return c.checkoutAccount()
	case strings.Contains(path, "/wp-admin/"):
		return false
	case has(req, "register") && req["email"] != "" && req["woocommerce-register-nonce"] != "":
		c.wcRegister(req)
	case req["action"] == "save_account_details" && req["save-account-details-nonce"] != "":
		c.saveAccount(req)
	case req["action"] == "edit_address" && req["woocommerce-edit-address-nonce"] != "":
		c.saveAddress(req)
	default:
		return false
	}
	return true
}

func has(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// currentLogin is the login of the request's wordpress_logged_in_* cookie.
func (c *call) currentLogin() string {
	for _, ck := range c.r.Cookies() {
		if strings.HasPrefix(ck.Name, "wordpress_logged_in_") {
			v := phpUnescape(ck.Value)
			if login, _, ok := strings.Cut(v, "|"); ok && login != "" {
				return login
			}
		}
	}
	return ""
}

// page re-renders a form with an error notice (200).
func (c *call) page(msg string) {
	c.w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write([]byte("<!DOCTYPE html>\n<html><body><ul class=\"woocommerce-error\" role=\"alert\"><li>" + msg + "</li></ul></body></html>\n"))
}

// setAuthCookies sets wp_set_auth_cookie's cookies for login.
func (c *call) setAuthCookies(login string) {
	v := phpURLEncode(login + "|1900000000|token|hmac")
	c.w.Header().Add("Set-Cookie", "wordpress_sec_"+cookieHash+"="+v+"; path=/wp-admin; secure; HttpOnly")
	c.w.Header().Add("Set-Cookie", "wordpress_logged_in_"+cookieHash+"="+v+"; expires=Fri, 01-Jan-2030 00:00:00 GMT; Max-Age=100000000; path=/; secure; HttpOnly")
}

// newUser validates and stores a user; "" and the user on success, else
// the error message WordPress shows.
func (st *resourceStore) newUser(login, email, role string) (string, *Resource) {
	email = strings.TrimSpace(email)
	switch {
	case !validEmail(email):
		return "Please provide a valid email address.", nil
	case st.byEmail(email) != nil:
		return "An account is already registered with your email address. Please log in.", nil
	case login == "":
		return "Please enter a username.", nil
	case st.byLogin(login) != nil:
		return "An account is already registered with that username. Please choose another.", nil
	}
	r := st.create("customer", 0, nil)
	r.Login, r.Email, r.Role = login, email, role
	return "", r
}

// freeLogin makes a login from an email's local part, numbered when taken.
func (st *resourceStore) freeLogin(email string) string {
	base, _, _ := strings.Cut(email, "@")
	login := base
	for n := 1; st.byLogin(login) != nil; n++ {
		login = base + strconv.Itoa(n)
	}
	return login
}

func validEmail(e string) bool {
	at := strings.Index(e, "@")
	return at > 0 && at < len(e)-1 && !strings.ContainsAny(e, " \t\r\n")
}

func (st *resourceStore) byLogin(login string) *Resource {
	for _, r := range st.items {
		if r.Kind == "customer" && r.Login != "" && r.Login == login {
			return r
		}
	}
	return nil
}

func (st *resourceStore) byEmail(email string) *Resource {
	for _, r := range st.items {
		if r.Kind == "customer" && r.Email != "" && strings.EqualFold(r.Email, email) {
			return r
		}
	}
	return nil
}

func (c *call) wcRegister(req map[string]string) {
	st := c.s.resources()
	st.mu.Lock()
	login := strings.TrimSpace(req["username"])
	if login == "" {
		login = st.freeLogin(req["email"])
	}
	msg, r := st.newUser(login, req["email"], "customer")
	st.mu.Unlock()
	if r == nil {
		c.page("<strong>Error:</strong> " + msg)
		return
	}
	c.setAuthCookies(r.Login)
	to := req["redirect"]
	if to == "" {
		to = c.r.Header.Get("Referer")
	}
	if to == "" {
		to = MyAccountURL
	}
	c.redirect(to)
}

func (c *call) wpRegister(req map[string]string) {
	if !c.s.usersCanRegister() {
		c.redirect("https://shop.example/wp-login.php?registration=disabled")
		return
	}
	st := c.s.resources()
	st.mu.Lock()
	msg, r := st.newUser(strings.TrimSpace(req["user_login"]), req["user_email"], "subscriber")
	st.mu.Unlock()
	if r == nil {
		c.page(msg)
		return
	}
	to := req["redirect_to"]
	if to == "" {
		to = "wp-login.php?checkemail=registered"
	}
	c.redirect(to)
}

// adminUser answers user-new.php (what "create"), profile.php ("profile")
// and user-edit.php ("edit", user id).
func (c *call) adminUser(req map[string]string, what string, id int64) {
	actor := c.currentLogin()
	if actor == "" {
		c.redirect("https://shop.example/wp-login.php?redirect_to=" + phpURLEncode(c.r.URL.RequestURI()) + "&reauth=1")
		return
	}
	admin := false
	if u, ok := c.s.userByLogin(actor); ok {
		admin = u.Role == RoleAdministrator
	}
	st := c.s.resources()
	st.mu.Lock()
	defer st.mu.Unlock()
	self := st.byLogin(actor)
	admin = admin || (self != nil && self.Role == string(RoleAdministrator))
	nonce := req["_wpnonce"]
	if what == "create" {
		nonce = req["_wpnonce_create-user"]
		if req["action"] != "createuser" {
			c.page("")
			return
		}
	} else if req["action"] != "update" {
		c.page("")
		return
	}
	if nonce == "" {
		c.wpDie(403, "The link you followed has expired.")
		return
	}
	switch what {
	case "create":
		if !admin {
			c.wpDie(403, "Sorry, you are not allowed to create users.")
			return
		}
		role := req["role"]
		if role == "" {
			role = "subscriber"
		}
		msg, r := st.newUser(strings.TrimSpace(req["user_login"]), req["email"], role)
		if r == nil {
			c.page("<strong>Error:</strong> " + msg)
			return
		}
		c.redirect(fmt.Sprintf("users.php?update=add&id=%d", r.ID))
		return
	case "profile":
		if self == nil {
			c.wpDie(500, "Invalid user ID.")
			return
		}
		id = self.ID
	}
	r := st.get("customer", id)
	if r == nil {
		c.wpDie(500, "Invalid user ID.")
		return
	}
	if r != self && !admin {
		c.wpDie(403, "Sorry, you are not allowed to edit this user.")
		return
	}
	email := strings.TrimSpace(req["email"])
	switch {
	case email == "":
		c.page("<strong>Error:</strong> Please enter an email address.")
		return
	case !validEmail(email):
		c.page("<strong>Error:</strong> The email address is not correct.")
		return
	case st.byEmail(email) != nil && st.byEmail(email) != r:
		c.page("<strong>Error:</strong> This email is already registered. Please choose another one.")
		return
	}
	r.Email, r.Name, r.Modified = email, strings.TrimSpace(req["first_name"]+" "+req["last_name"]), st.tick()
	if r == self {
		c.redirect(AdminURL + "profile.php?updated=1")
		return
	}
	c.redirect(fmt.Sprintf("%suser-edit.php?user_id=%d&updated=1", AdminURL, r.ID))
}

// loggedInCustomer is the stored user of the request's login cookie; the
// caller holds st.mu.
func (c *call) loggedInCustomer(st *resourceStore) *Resource {
	login := c.currentLogin()
	if login == "" {
		return nil
	}
	return st.byLogin(login)
}

func (c *call) saveAccount(req map[string]string) {
	st := c.s.resources()
	st.mu.Lock()
	defer st.mu.Unlock()
	r := c.loggedInCustomer(st)
	if r == nil {
		c.page("Please log in.")
		return
	}
	for _, k := range []string{"account_first_name", "account_last_name", "account_display_name", "account_email"} {
		if strings.TrimSpace(req[k]) == "" {
			c.page("<strong>" + k + "</strong> is a required field.")
			return
		}
	}
	email := strings.TrimSpace(req["account_email"])
	if !validEmail(email) {
		c.page("Please provide a valid email address.")
		return
	}
	if o := st.byEmail(email); o != nil && o != r {
		c.page("This email address is already registered.")
		return
	}
	r.Email, r.Name, r.Modified = email, req["account_first_name"]+" "+req["account_last_name"], st.tick()
	c.redirect(MyAccountURL + "edit-account/")
}

func (c *call) saveAddress(req map[string]string) {
	st := c.s.resources()
	st.mu.Lock()
	defer st.mu.Unlock()
	r := c.loggedInCustomer(st)
	if r == nil {
		c.page("Please log in.")
		return
	}
	kind := "billing"
	if strings.Contains(c.r.URL.Path, "/edit-address/shipping") {
		kind = "shipping"
	}
	if !has(req, kind+"_country") {
		c.page("")
		return
	}
	if strings.TrimSpace(req[kind+"_first_name"]) == "" {
		c.page("<strong>First name</strong> is a required field.")
		return
	}
	r.Modified = st.tick()
	c.redirect(MyAccountURL + "edit-address/")
}

// checkoutAccount does process_customer's part of a classic checkout
// with a billing email: it creates the account (createaccount=1, nobody
// logged in) and saves the logged-in or new customer. It answers only
// when the account cannot be created (a failed checkout); false lets
// serveCheckout place the order.
func (c *call) checkoutAccount() bool {
	form := phpQuery(string(c.body))
	if form["billing_email"] == "" {
		return false
	}
	st := c.s.resources()
	st.mu.Lock()
	defer st.mu.Unlock()
	r := c.loggedInCustomer(st)
	if r == nil && c.currentLogin() == "" && form["createaccount"] == "1" {
		login := strings.TrimSpace(form["account_username"])
		if login == "" {
			login = st.freeLogin(form["billing_email"])
		}
		var msg string
		if msg, r = st.newUser(login, form["billing_email"], "customer"); r == nil {
			c.sendJSON(map[string]any{"result": "failure", "messages": `<ul class="woocommerce-error" role="alert"><li>` + msg + `</li></ul>`, "refresh": false, "reload": false})
			return true
		}
		c.setAuthCookies(r.Login)
	}
	if r != nil {
		r.Modified = st.tick()
	}
	return false
}

// listCustomers answers GET customers as WooCommerce's customers list
// does for the stand-in's users: role (default "customer", or "all"),
// email (exact), search (the login, email or name containing it; only
// the email when it has an "@"), by id (order asc, the default, or
// desc), page and per_page (default 10). The caller holds st.mu.
func (st *resourceStore) listCustomers(q map[string]string, legacy bool, v int) []any {
	role := q["role"]
	if role == "" {
		role = "customer"
	}
	search := strings.ToLower(q["search"])
	var found []*Resource
	for _, r := range st.items {
		switch {
		case r.Kind != "customer":
		case role != "all" && r.Role != role:
		case q["email"] != "" && !strings.EqualFold(r.Email, q["email"]):
		case search != "" && strings.Contains(search, "@") && !strings.Contains(strings.ToLower(r.Email), search):
		case search != "" && !strings.Contains(search, "@") && !strings.Contains(strings.ToLower(r.Login+"\x00"+r.Email+"\x00"+r.Name), search):
		default:
			found = append(found, r)
		}
	}
	sort.Slice(found, func(i, j int) bool {
		if q["order"] == "desc" {
			return found[i].ID > found[j].ID
		}
		return found[i].ID < found[j].ID
	})
	per, page := int(atoi(q["per_page"])), int(atoi(q["page"]))
	if per <= 0 {
		per = 10
	}
	if page <= 0 {
		page = 1
	}
	out := []any{}
	for i := (page - 1) * per; i >= 0 && i < len(found) && i < page*per; i++ {
		out = append(out, st.render(found[i], legacy, v))
	}
	return out
}
