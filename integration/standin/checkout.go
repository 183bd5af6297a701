package standin

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The stand-in's checkout doors, answering like WooCommerce:
//
//   - classic checkout, POST ?wc-ajax=checkout with the checkout form:
//     WC_Checkout::process_checkout. A form without billing_email fails
//     with 200 {"result":"failure","messages":...}. An order that needs
//     payment (payment_method set) is created "pending" and answered
//     {"result":"success","redirect":<order-received URL>,"order_id":N}
//     (process_order_payment); without a payment method the order is
//     completed ("processing") and answered {"result":"success",
//     "redirect":...} without order_id (process_order_without_payment).
//   - Store API checkout, POST /wc/store/v1/checkout or /wc/store/checkout
//     (JSON body): a body without billing_address.email fails with 400
//     rest_invalid_param; otherwise the order is placed ("processing") and
//     answered 200 with the order: order_id, status, order_key,
//     customer_id, ..., payment_result. The customer of a logged-in
//     request (login cookie) is saved with the order (its date_modified
//     moves) and is the answer's customer_id; with "create_account":true
//     and nobody logged in, an account is first made from the billing
//     email (login from its local part) and gets the login cookies
//     (wc_set_customer_auth_cookie); an email already registered fails
//     with 400 registration-error-email-exists. A guest's customer_id is 0.
//
// Orders are created in the resource store, so the REST routes read them.

// CheckoutFailureMessages is the messages member of a failed classic
// checkout's answer.
const CheckoutFailureMessages = `<ul class="woocommerce-error" role="alert"><li><strong>Billing Email address</strong> is a required field.</li></ul>`

// serveCheckout answers the checkout doors; false when the request is
// neither. rest is the REST route when the request is a REST one.
func (c *call) serveCheckout(route string, rest bool) bool {
	if rest {
		r := strings.ToLower(strings.TrimRight(route, "/"))
		if r != "/wc/store/v1/checkout" && r != "/wc/store/checkout" {
			return false
		}
		if c.method() != "POST" {
			c.restError(restNoRoute)
			return true
		}
		c.storeCheckout()
		return true
	}
	if c.query["wc-ajax"] != "checkout" {
		return false
	}
	if c.r.Method != "POST" {
		c.sendJSON(map[string]any{"result": "failure", "messages": "", "refresh": false, "reload": false})
		return true
	}
	c.classicCheckout()
	return true
}

func (c *call) classicCheckout() {
	form := phpQuery(string(c.body))
	if form["billing_email"] == "" {
		c.sendJSON(map[string]any{"result": "failure", "messages": CheckoutFailureMessages, "refresh": false, "reload": false})
		return
	}
	status := "processing"
	if form["payment_method"] != "" {
		status = "pending"
	}
	st := c.s.resources()
	st.mu.Lock()
	order := st.create("order", 0, map[string]any{"status": status, "name": form["billing_email"]})
	st.mu.Unlock()
	received := fmt.Sprintf("https://shop.example/checkout/order-received/%d/?key=wc_order_%d", order.ID, order.ID)
	if form["payment_method"] == "" {
		c.sendJSON(map[string]any{"result": "success", "redirect": received})
		return
	}
	// Key order as WooCommerce's: the gateway's result, then order_id.
	c.sendRaw(fmt.Sprintf(`{"result":"success","redirect":%s,"order_id":%d}`, phpJSON(received), order.ID))
}

func (c *call) storeCheckout() {
	var body struct {
		Billing       map[string]any `json:"billing_address"`
		PaymentMethod string         `json:"payment_method"`
		CreateAccount bool           `json:"create_account"`
	}
	_ = json.Unmarshal(c.body, &body)
	email, _ := body.Billing["email"].(string)
	if email == "" {
		c.restError(&apiError{code: "rest_invalid_param", message: "Invalid parameter(s): billing_address", status: 400})
		return
	}
	st := c.s.resources()
	st.mu.Lock()
	customer := c.loggedInCustomer(st)
	if customer == nil && c.currentLogin() == "" && body.CreateAccount {
		var msg string
		if msg, customer = st.newUser(st.freeLogin(email), email, "customer"); customer == nil {
			st.mu.Unlock()
			c.restError(&apiError{code: "registration-error-email-exists", message: msg, status: 400})
			return
		}
		c.setAuthCookies(customer.Login) // wc_set_customer_auth_cookie
	}
	var customerID int64
	if customer != nil {
		customer.Modified = st.tick() // sync_customer_data_with_order: the customer is saved
		customerID = customer.ID
	}
	order := st.create("order", 0, map[string]any{"status": "processing", "name": email})
	st.mu.Unlock()
	key := fmt.Sprintf("wc_order_%d", order.ID)
	c.writeJSON(200, map[string]any{
		"order_id":         order.ID,
		"status":           order.Status,
		"order_key":        key,
		"order_number":     fmt.Sprint(order.ID),
		"customer_note":    "",
		"customer_id":      customerID,
		"billing_address":  body.Billing,
		"shipping_address": map[string]any{},
		"payment_method":   body.PaymentMethod,
		"payment_result": map[string]any{
			"payment_status":  "success",
			"payment_details": []any{},
			"redirect_url":    fmt.Sprintf("https://shop.example/checkout/order-received/%d/?key=%s", order.ID, key),
		},
		"extensions": map[string]any{},
	})
}

// sendJSON answers as wp_send_json: 200, application/json; charset=UTF-8,
// slashes escaped as PHP's json_encode does.
func (c *call) sendJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.sendRaw(`{"result":"failure"}`)
		return
	}
	c.sendRaw(strings.ReplaceAll(string(b), "/", `\/`))
}

func (c *call) sendRaw(body string) {
	c.w.Header().Set("Content-Type", jsonUTF8)
	c.w.WriteHeader(200)
	_, _ = c.w.Write([]byte(body))
}

// phpJSON encodes a string as PHP's json_encode does (slashes escaped).
func phpJSON(s string) string {
	b, _ := json.Marshal(s)
	return strings.ReplaceAll(string(b), "/", `\/`)
}
