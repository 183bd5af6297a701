package standin

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The stand-in's add-to-cart doors, answering like WooCommerce (one cart
// per stand-in; only simple products, whose cart item key is
// md5("<product id>") as WC_Cart::generate_cart_id makes it):
//
//   - POST ?wc-ajax=add_to_cart (form product_id, quantity):
//     WC_AJAX::add_to_cart. A product that is not a published product
//     fails with 200 {"error":true,"product_url":...}; a success answers
//     the cart fragments and cart_hash.
//   - the classic form, POST with add-to-cart=<id> in the query or the
//     body: WC_Form_Handler::add_to_cart_action. A success redirects (302)
//     to the cart when the form has redirect=cart, or else answers the
//     page (200) with a woocommerce-message notice; a failure answers the
//     page with a woocommerce-error notice.
//   - Store API, POST /wc/store/v1/cart/add-item or /wc/store/cart/add-item
//     (JSON {"id":N,"quantity":Q}): 201 with the cart (items[].key, id,
//     quantity), or 400 woocommerce_rest_cart_invalid_product.
//
// Every answer sets woocommerce_items_in_cart and woocommerce_cart_hash
// while the cart is not empty (WC_Cart_Session::set_cart_cookies); the
// hash changes only when the cart does.

// cartState is the stand-in's cart: product id → quantity.
type cartState struct {
	mu    sync.Mutex
	items map[int64]int
	order []int64
}

var carts sync.Map // *Server -> *cartState

func (s *Server) cart() *cartState {
	v, _ := carts.LoadOrStore(s, &cartState{items: map[int64]int{}})
	return v.(*cartState)
}

// AddProduct stores a product with status (e.g. "publish" or "draft")
// and returns its id; no event is involved.
func (s *Server) AddProduct(status string) int64 {
	st := s.resources()
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.create("product", 0, map[string]any{"status": status, "name": "Product"}).ID
}

// CartItemKey is the key WooCommerce gives a simple product's cart item:
// md5 of its id.
func CartItemKey(productID int64) string {
	sum := md5.Sum([]byte(strconv.FormatInt(productID, 10)))
	return hex.EncodeToString(sum[:])
}

// serveCart answers the add-to-cart doors; false when the request is
// neither. rest tells whether route is a REST route.
func (c *call) serveCart(route string, rest bool) bool {
	if rest {
		r := strings.ToLower(strings.TrimRight(route, "/"))
		if r != "/wc/store/v1/cart/add-item" && r != "/wc/store/cart/add-item" {
			return false
		}
		if c.method() != "POST" {
			c.restError(restNoRoute)
			return true
		}
		c.storeAddItem()
		return true
	}
	if c.r.Method != "POST" {
		return false
	}
	form := phpQuery(string(c.body))
	if c.query["wc-ajax"] == "add_to_cart" {
		c.ajaxAddToCart(form)
		return true
	}
	if _, ok := c.query["wc-ajax"]; ok {
		return false
	}
	id := form["add-to-cart"]
	if id == "" {
		id = c.query["add-to-cart"]
	}
	if id == "" {
		return false
	}
	c.formAddToCart(atoi(id), form)
	return true
}

// add adds a published product to the cart; false when it cannot be.
func (c *call) add(id int64, qty string) bool {
	q := 1
	if n, err := strconv.Atoi(qty); err == nil {
		q = n
	}
	st := c.s.resources()
	st.mu.Lock()
	p := st.get("product", id)
	ok := p != nil && p.Status == "publish" && q > 0
	st.mu.Unlock()
	if !ok {
		return false
	}
	cs := c.s.cart()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, in := cs.items[id]; !in {
		cs.order = append(cs.order, id)
	}
	cs.items[id] += q
	return true
}

// cartCookies sets the cart cookies while the cart is not empty and
// returns the cart hash ("" for an empty cart).
func (c *call) cartCookies() string {
	cs := c.s.cart()
	cs.mu.Lock()
	ids := append([]int64(nil), cs.order...)
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var b strings.Builder
	count := 0
	for _, id := range ids {
		fmt.Fprintf(&b, "%d:%d;", id, cs.items[id])
		count += cs.items[id]
	}
	cs.mu.Unlock()
	if count == 0 {
		return ""
	}
	sum := md5.Sum([]byte(b.String()))
	hash := hex.EncodeToString(sum[:])
	h := c.w.Header()
	h.Add("Set-Cookie", "woocommerce_items_in_cart=1; path=/; secure; HttpOnly")
	h.Add("Set-Cookie", "woocommerce_cart_hash="+hash+"; path=/; secure; HttpOnly")
	return hash
}

func (c *call) ajaxAddToCart(form map[string]string) {
	id := atoi(form["product_id"])
	if !c.add(id, form["quantity"]) {
		c.cartCookies()
		c.sendRaw(fmt.Sprintf(`{"error":true,"product_url":%s}`, phpJSON(fmt.Sprintf("https://shop.example/?p=%d", id))))
		return
	}
	hash := c.cartCookies()
	c.sendRaw(fmt.Sprintf(`{"fragments":{"div.widget_shopping_cart_content":%s},"cart_hash":%s}`,
		phpJSON(`<div class="widget_shopping_cart_content"><ul class="woocommerce-mini-cart cart_list product_list_widget"></ul></div>`), phpJSON(hash)))
}

func (c *call) formAddToCart(id int64, form map[string]string) {
	ok := c.add(id, form["quantity"])
	c.cartCookies()
	if ok && form["redirect"] == "cart" {
		c.w.Header().Set("Location", "https://shop.example/cart/")
		c.w.WriteHeader(http.StatusFound)
		return
	}
	notice := `<ul class="woocommerce-error" role="alert"><li>Sorry, this product cannot be purchased.</li></ul>`
	if ok {
		notice = `<div class="woocommerce-message" role="alert">&ldquo;Product&rdquo; has been added to your cart.</div>`
	}
	c.w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	c.w.WriteHeader(200)
	_, _ = fmt.Fprintf(c.w, "<!DOCTYPE html><html><body>%s</body></html>", notice)
}

func (c *call) storeAddItem() {
	var body struct {
		ID       json.RawMessage `json:"id"`
		Quantity json.RawMessage `json:"quantity"`
	}
	_ = json.Unmarshal(c.body, &body)
	id := atoi(strings.Trim(string(body.ID), `"`))
	qty := strings.Trim(string(body.Quantity), `"`)
	if id <= 0 {
		c.restError(&apiError{code: "woocommerce_rest_cart_invalid_product", message: "No product ID was provided.", status: 400})
		return
	}
	if !c.add(id, qty) {
		c.restError(&apiError{code: "woocommerce_rest_cart_invalid_product", message: "This product cannot be added to the cart.", status: 400})
		return
	}
	c.cartCookies()
	cs := c.s.cart()
	cs.mu.Lock()
	items := make([]map[string]any, 0, len(cs.order))
	count := 0
	for _, pid := range cs.order {
		items = append(items, map[string]any{"key": CartItemKey(pid), "id": pid, "quantity": cs.items[pid], "type": "simple", "name": "Product"})
		count += cs.items[pid]
	}
	cs.mu.Unlock()
	c.writeJSON(201, map[string]any{"items": items, "items_count": count, "coupons": []any{}, "needs_payment": true, "needs_shipping": true, "errors": []any{}})
}
