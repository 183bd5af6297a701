package wcevents

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
)

// The add-to-cart doors. Their values leave room below for other doors.
const (
	DoorAddToCart      Door = 16 + iota // POST ?wc-ajax=add_to_cart or a form with add-to-cart=<id>
	DoorStoreAddToCart                  // Store API: POST /wc/store[/v1]/cart/add-item
)

// AddToCartTopic is the topic of the add-to-cart doors' events.
const AddToCartTopic = "action.woocommerce_add_to_cart"

// MaxForm is the most of a request body read for a door's fields: 64 KiB.
const MaxForm = 64 << 10

// Cart is what an add-to-cart request says, for deriving its event.
type Cart struct {
	// Ajax is true for ?wc-ajax=add_to_cart (answered with JSON).
	Ajax bool
	// Form holds the query and form fields (set by ReadCartForm).
	Form url.Values
	// Hash is the request's woocommerce_cart_hash cookie, "" for none.
	Hash string
	// Login is the login of the request's wordpress_logged_in_* cookies
	// (see LoggedIn) for the form door, "" for none: the user of a form
	// that turns out to be My Account's (see Watch.ReadForm).
	Login string
}

// NeedsForm reports whether the door needs the request's fields before
// the request goes upstream: true for the add-to-cart doors until
// ReadCartForm, and for doors with WantForm (the wp-admin save and POST
// bulk doors) until ReadForm.
func (w Watch) NeedsForm() bool {
	if w.Door >= DoorAddToCart {
		return w.Cart != nil && w.Cart.Form == nil
	}
	return w.WantForm && w.Form == nil
}

// ReadForm gives a door that NeedsForm the request's fields and reports
// whether the request still is a watched write. body is at most MaxForm
// bytes of the request body; complete is false when the body was longer
// (then the add-to-cart doors are not watched, and other doors get the
// fields before the last '&' of body). Only an urlencoded body is read: a
// multipart body's fields are not (a door whose fields are only there is
// then no watched write). Each door decides on its fields: the add-to-cart
// doors with ReadCartForm (a front-end form that adds nothing to a cart
// may still be one of My Account's: it then becomes a DoorAccount watch,
// see accountForm), the DoorAdmin doors with their action and ids, the
// DoorAccount door of wp-login.php's registration with its user_email.
func (w *Watch) ReadForm(rawQuery, contentType string, body []byte, complete bool) bool {
	switch w.Door {
	case DoorAddToCart, DoorStoreAddToCart:
		if complete && w.ReadCartForm(rawQuery, contentType, body) {
			return true
		}
		if w.Door != DoorAddToCart || w.Cart == nil || w.Cart.Ajax {
			return false
		}
		return w.accountForm(requestForm(rawQuery, contentType, body, complete))
	case DoorAdmin:
		w.Form = requestForm(rawQuery, contentType, body, complete)
		return w.adminForm()
	case DoorAccount:
		w.Form = requestForm(rawQuery, contentType, body, complete)
		if w.Account == nil || w.Account.Kind != AccountWPRegister {
			return true
		}
		return strings.Contains(w.Form.Get("user_email"), "@") // else no user is created

	}
	w.Form = requestForm(rawQuery, contentType, body, complete)
	return true
}

// requestForm is $_REQUEST for flat and [] keys: the query's fields, an
// urlencoded body's over them (first in each list: url.Values.Get gives
// the body's value, as PHP's POST-over-GET). Malformed pairs are skipped.
func requestForm(rawQuery, contentType string, body []byte, complete bool) url.Values {
	form, _ := url.ParseQuery(rawQuery)
	if form == nil {
		form = url.Values{}
	}
	if !urlencoded(contentType) {
		return form
	}
	if !complete {
		i := bytes.LastIndexByte(body, '&')
		if i < 0 {
			return form
		}
		body = body[:i]
	}
	b, _ := url.ParseQuery(string(body))
	for k, v := range b {
		form[k] = append(v, form[k]...)
	}
	return form
}

// Redirect reports whether a 3xx answer to w may carry events: only the
// classic add-to-cart form's (WooCommerce redirects to the cart after
// adding when the shop is set to).
func (w Watch) Redirect(status int) bool {
	return w.Door == DoorAddToCart && w.Cart != nil && !w.Cart.Ajax && status >= 300 && status <= 399
}

// ReadCartForm sets w.Cart.Form from the query and an urlencoded body
// (body is at most MaxForm bytes of it; a multipart body's fields are
// not read), or for the Store API from its JSON body's id. It reports
// false when the request adds nothing to a cart: the form door then is no
// watched write.
func (w *Watch) ReadCartForm(rawQuery, contentType string, body []byte) bool {
	if w.Cart == nil {
		return false
	}
	if w.Door == DoorStoreAddToCart {
		var b struct {
			ID json.RawMessage `json:"id"`
		}
		_ = json.Unmarshal(body, &b)
		w.Cart.Form = url.Values{}
		if id := number(b.ID); id > 0 {
			w.Cart.Form.Set("id", strconv.FormatInt(id, 10))
		}
		return true
	}
	form := requestForm(rawQuery, contentType, body, true)
	w.Cart.Form = form
	if w.Cart.Ajax {
		return true
	}
	return form.Get("add-to-cart") != ""
}

// notCart are the path prefixes (below the root, case-insensitive) whose
// posts are no add to cart.
var notCart = []string{"wp-json/", "wc-api/", "wp-admin/", "wp-login.php", "wp-cron.php", "xmlrpc.php", "wp-comments-post.php", "wp-content/", "wp-includes/"}

// cartWatch classifies the add-to-cart doors outside the REST API: POST
// ?wc-ajax=add_to_cart, and a POST form to a front-end page (the form's
// add-to-cart field may be in the body: ReadCartForm decides). Admin,
// login, cron, XML-RPC and comment posts are not candidates.
func cartWatch(r *http.Request, q url.Values) (Watch, bool) {
	if r.Method != http.MethodPost {
		return Watch{}, false
	}
	if q != nil {
		if _, ok := q["rest_route"]; ok {
			return Watch{}, false
		}
		if _, ok := q["wc-api-route"]; ok {
			return Watch{}, false
		}
	}
	p := strings.TrimPrefix(strings.TrimLeft(r.URL.Path, "/"), "index.php/")
	for _, pre := range notCart {
		if len(p) >= len(pre) && strings.EqualFold(p[:len(pre)], pre) {
			return Watch{}, false
		}
	}
	ajax := false
	switch {
	case q != nil && len(q["wc-ajax"]) > 0:
		if v := q["wc-ajax"]; v[len(v)-1] != "add_to_cart" {
			return Watch{}, false
		}
		ajax = true
	case q != nil && q.Get("add-to-cart") != "":
	case !urlencoded(r.Header.Get("Content-Type")):
		return Watch{}, false
	}
	c := &Cart{Ajax: ajax}
	if ck, err := r.Cookie("woocommerce_cart_hash"); err == nil {
		c.Hash = ck.Value
	}
	if !ajax {
		c.Login = LoggedIn(r.Header)
	}
	return Watch{Door: DoorAddToCart, Cart: c}, true
}

// urlencoded reports whether a Content-Type is an urlencoded form's.
func urlencoded(ct string) bool {
	const form = "application/x-www-form-urlencoded"
	return len(ct) >= len(form) && strings.EqualFold(ct[:len(form)], form)
}

// storeCartRoute reports whether route (below /wp-json/, no leading
// slash) is the Store API's wc/store/v1/cart/add-item or
// wc/store/cart/add-item.
func storeCartRoute(route string) bool {
	route = strings.ToLower(strings.TrimRight(route, "/"))
	return route == "wc/store/v1/cart/add-item" || route == "wc/store/cart/add-item"
}

// deriveCart derives the action.woocommerce_add_to_cart of an add-to-cart
// answer, {"action":"woocommerce_add_to_cart","arg":"<cart item key>"}:
//
//   - Store API (2xx only): the key of the answer's item whose id is the
//     request's product id (the last one when it is not known);
//   - ?wc-ajax=add_to_cart (2xx): success is an answer with cart_hash
//     and no "error"; the key is computed (CartItemKey);
//   - the form: success is a 2xx or 3xx answer that sets a
//     woocommerce_cart_hash cookie different from the request's (a failed
//     add leaves the cart, and so its hash, as it was); the key is
//     computed.
//
// Limits of the computed key: it is WC_Cart::generate_cart_id for the
// posted product_id/add-to-cart, variation_id and attribute_* fields with
// no cart item data. Plugins that add cart item data or filter
// woocommerce_cart_id, and a variation posted by its own id alone (which
// WooCommerce resolves to its parent and attributes), give another key
// than WooCommerce's.
func deriveCart(w Watch, status int, header http.Header, body []byte) []Change {
	var key string
	var id int64
	switch w.Door {
	case DoorStoreAddToCart:
		if status < 200 || status > 299 || !isJSON(header) {
			return nil
		}
		var want int64
		if w.Cart != nil {
			want, _ = digits(w.Cart.Form.Get("id"))
		}
		key, id = storeCartKey(body, want)
	case DoorAddToCart:
		if w.Cart == nil || w.Cart.Form == nil {
			return nil
		}
		if w.Cart.Ajax {
			if status < 200 || status > 299 || !ajaxAdded(body) {
				return nil
			}
		} else if status < 200 || status > 399 || !hashChanged(header, w.Cart.Hash) {
			return nil
		}
		key, id = formCartKey(w.Cart.Form)
	}
	if key == "" || id <= 0 {
		return nil
	}
	p, err := dispatcher.ActionPayload("woocommerce_add_to_cart", key)
	if err != nil {
		return nil
	}
	return []Change{{Topic: AddToCartTopic, ID: id, Item: p}}
}

// Action reports whether c is an action.* topic event: its Item is the
// payload of every webhook of the topic.
func (c Change) Action() bool { return strings.HasPrefix(c.Topic, "action.") }

// ajaxAdded reports whether a wc-ajax add_to_cart answer is a success:
// {"fragments":...,"cart_hash":...}, not {"error":true,"product_url":...}.
func ajaxAdded(body []byte) bool {
	var a map[string]json.RawMessage
	if json.Unmarshal(body, &a) != nil {
		return false
	}
	if e, ok := a["error"]; ok && string(e) != "false" && string(e) != "null" {
		return false
	}
	_, ok := a["cart_hash"]
	return ok
}

// hashChanged reports whether the answer sets woocommerce_cart_hash to a
// non-empty value other than old.
func hashChanged(h http.Header, old string) bool {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "woocommerce_cart_hash" && c.Value != "" && c.Value != old && c.MaxAge >= 0 {
			return true
		}
	}
	return false
}

// storeCartKey returns the key and id of the Store API cart answer's item
// with id want (or the last item when want is 0 or not found).
func storeCartKey(body []byte, want int64) (string, int64) {
	var cart struct {
		Items []struct {
			Key string          `json:"key"`
			ID  json.RawMessage `json:"id"`
		} `json:"items"`
	}
	if json.Unmarshal(body, &cart) != nil || len(cart.Items) == 0 {
		return "", 0
	}
	last := cart.Items[len(cart.Items)-1]
	for _, it := range cart.Items {
		if want > 0 && number(it.ID) == want {
			last = it
		}
	}
	if !validKey(last.Key) {
		return "", 0
	}
	return last.Key, number(last.ID)
}

// validKey accepts what WooCommerce's keys are, 32 lower-case hex digits.
func validKey(k string) bool {
	if len(k) != 32 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if (k[i] < '0' || k[i] > '9') && (k[i] < 'a' || k[i] > 'f') {
			return false
		}
	}
	return true
}

// formCartKey computes the key of a form or AJAX add: product_id (AJAX)
// or add-to-cart (form), variation_id and the attribute_* fields.
func formCartKey(form url.Values) (string, int64) {
	raw := form.Get("add-to-cart")
	if raw == "" {
		raw = form.Get("product_id")
	}
	id, ok := digits(strings.TrimSpace(raw))
	if !ok || id <= 0 {
		return "", 0
	}
	vid, _ := digits(strings.TrimSpace(form.Get("variation_id")))
	var attrs [][2]string
	if vid > 0 {
		for k, v := range form {
			if strings.HasPrefix(k, "attribute_") && len(v) > 0 {
				attrs = append(attrs, [2]string{k, v[0]}) // the body's, as $_REQUEST
			}
		}
		sortPairs(attrs)
	}
	return CartItemKey(id, vid, attrs), id
}

// CartItemKey is WC_Cart::generate_cart_id without cart item data:
// md5 of the parts joined with "_": the product id, the variation id when
// not 0, and the variation's attributes as key.value concatenated (each
// trimmed) when there are any. A simple product's key is md5("<id>").
func CartItemKey(productID, variationID int64, attributes [][2]string) string {
	s := strconv.FormatInt(productID, 10)
	if variationID != 0 {
		s += "_" + strconv.FormatInt(variationID, 10)
	}
	if len(attributes) > 0 {
		var b strings.Builder
		for _, a := range attributes {
			b.WriteString(strings.TrimSpace(a[0]))
			b.WriteString(strings.TrimSpace(a[1]))
		}
		s += "_" + b.String()
	}
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sortPairs sorts attribute pairs by name (the order of the form cannot
// be known once parsed; WooCommerce keeps the variation's attribute
// order, which usually is the form's).
func sortPairs(p [][2]string) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j][0] < p[j-1][0]; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

// emitAction publishes an action event once, its Item for every webhook
// of the topic (action payloads do not depend on the api_version).
func (e *Emitter) emitAction(ctx context.Context, c Change) (int, error) {
	if len(c.Item) == 0 {
		return 0, nil
	}
	if err := e.Publisher.Publish(ctx, c.Topic, c.ID, "", c.Item); err != nil {
		return 0, fmt.Errorf("publishing %s: %w", c.Topic, err)
	}
	return 1, nil
}
