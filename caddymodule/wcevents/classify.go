// Package wcevents turns the WooCommerce writes a proxy sees into the topic
// events WooCommerce itself would fire (order.created, product.updated, ...),
// with the payload each webhook's API version expects. It has no Caddy
// types: Classify looks at a request, Derive at the upstream's answer, and
// Emitter publishes the changes through small interfaces.
//
// Doors built so far: REST writes in every API version (wc/v1, v2, v3, the
// legacy wc-api/v1, v2, v3, the ?rest_route= and ?wc-api-route= forms),
// the classic checkout (?wc-ajax=checkout) and the Store API checkout.
// Other doors (wp-admin's links, bulk actions and saves of admin.go and
// admin_save.go, add to cart, the account doors of customer.go) and the
// reconciliation pass add their own Door values and Derive branches.
package wcevents

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Op is what a watched request does.
type Op uint8

// The operations of a watched write.
const (
	OpCreate Op = iota + 1 // POST to a collection
	OpUpdate               // POST/PUT/PATCH to an item
	OpDelete               // DELETE of an item (trash or force)
	OpBatch                // REST batch or legacy bulk
)

// Sub names a sub-resource route below an item.
type Sub uint8

// The sub-resources whose writes fire events of their parent's resource.
const (
	SubNone      Sub = iota
	SubRefund        // orders/<id>/refunds[/<rid>]: order.updated of the order
	SubVariation     // products/<id>/variations[/<vid>|/batch]: product events of the variation
)

// Watch is a request Classify recognised as a write whose answer may carry
// events.
type Watch struct {
	// Resource is "order", "product", "customer" or "coupon".
	Resource string
	// Legacy is true for the legacy /wc-api/vN API, false for /wc/vN.
	Legacy bool
	// Version is the API version of the request, 1 to 3.
	Version int
	// Op is the operation.
	Op Op
	// ID is the id in the route (the parent's for sub-resources), 0 for
	// collection routes.
	ID int64
	// Sub is the sub-resource route, SubNone for the resource itself.
	Sub Sub
	// SubID is the sub-resource id in the route, 0 for none.
	SubID int64
	// Door is the way the write enters the shop: DoorREST (the zero
	// value) for the REST and legacy APIs, or a checkout door.
	Door Door
	// Cart is what an add-to-cart door's request says, nil for other doors.
	Cart *Cart
	// Account is what an account door's request says (and, for the
	// classic checkout, the logged-in customer), nil otherwise.
	Account *Account
	// Admin is what a wp-admin save or bulk request says (see DoorAdmin),
	// nil for other doors and for post.php's trash and restore links.
	Admin *Admin
	// WantForm is true for doors that need the request's fields before it
	// goes upstream (see NeedsForm and ReadForm).
	WantForm bool
	// Form holds the request's fields as PHP's $_REQUEST has them (the
	// query, an urlencoded body's fields over it), set by ReadForm for
	// doors with WantForm; nil otherwise.
	Form url.Values
	// Plain is true when the answer is the unaltered representation of the
	// request's version (no _fields, _envelope, _embed, _jsonp, _pretty,
	// legacy fields or filter parameters).
	Plain bool
}

// APIVersion is the webhook api_version whose payloads have the
// representation of w's answers: "wp_api_v1|v2|v3", "legacy_v3" for legacy
// v3, "" for legacy v1 and v2 (no webhook uses those).
func (w Watch) APIVersion() string {
	if w.Legacy {
		if w.Version == 3 {
			return APIVersionLegacyV3
		}
		return ""
	}
	return "wp_api_v" + strconv.Itoa(w.Version)
}

// Webhook API versions (the values WooCommerce stores).
const (
	APIVersionLegacyV3 = "legacy_v3"
	APIVersionWPV1     = "wp_api_v1"
	APIVersionWPV2     = "wp_api_v2"
	APIVersionWPV3     = "wp_api_v3"
)

// Classify reports whether r is a watched write and what it addresses. It
// is cheap: GET, HEAD and OPTIONS on paths not ending in ".php" return
// after one suffix check (the wp-admin doors, see DoorAdmin; a .php path
// costs three more), other requests cost a path check, and only paths under /wp-json/, /index.php/wp-json/,
// /wc-api/ or queries naming rest_route, wc-api-route, _method or wc-ajax
// are parsed further. Besides the REST writes it watches the checkout
// doors: POST ?wc-ajax=checkout (on any path, unless the request is a REST
// one) and POST to the Store API's wc/store/v1/checkout or
// wc/store/checkout. It follows WordPress's routing: ?rest_route= wins over
// the path, routes match case-insensitively, a trailing slash is ignored,
// and _method (query) or X-HTTP-Method-Override sets the method. POSTs
// to wp-login.php?action=register, wp-admin/user-new.php, profile.php and
// user-edit.php are account doors (see DoorAccount); My Account's forms
// become one after the add-to-cart door reads them (Watch.ReadForm).
func Classify(r *http.Request) (Watch, bool) {
	if w, ok := adminDoor(r); ok { // GET allowed: wp-admin trash links, bulk actions
		return w, true
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return Watch{}, false
	}
	if w, ok := accountDoor(r); ok { // one suffix check on other paths
		return w, true
	}
	raw := r.URL.RawQuery
	var q url.Values
	if raw != "" && (strings.Contains(raw, "rest_route=") || strings.Contains(raw, "wc-api-route=") || strings.Contains(raw, "_method=") || strings.Contains(raw, "wc-ajax=") || strings.Contains(raw, "add-to-cart=")) {
		q, _ = url.ParseQuery(raw)
	}
	w, ok := target(r.URL.Path, q)
	if !ok {
		if r.Method == http.MethodPost && q != nil && classicCheckout(r.URL.Path, q) {
			return withLogin(checkoutWatch(DoorCheckout), r), true
		}
		return cartWatch(r, q)
	}
	method := r.Method
	if m := q.Get("_method"); m != "" {
		method = strings.ToUpper(m)
	} else if m := r.Header.Get("X-Http-Method-Override"); m != "" {
		method = strings.ToUpper(m)
	}
	if !w.setOp(method) {
		return Watch{}, false
	}
	w.Plain = w.Door == DoorREST && plain(raw, w.Legacy)
	return w, true
}

// target resolves the API, version and route of a request.
func target(path string, q url.Values) (Watch, bool) {
	if q != nil {
		if v, ok := q["rest_route"]; ok && len(v) > 0 {
			return restRoute(v[len(v)-1])
		}
		if v, ok := q["wc-api-route"]; ok && len(v) > 0 {
			n, err := strconv.Atoi(q.Get("wc-api-version"))
			if err != nil || n < 1 || n > 3 {
				return Watch{}, false
			}
			return routeOf(v[len(v)-1], true, n)
		}
	}
	if len(path) < 2 || path[0] != '/' || (path[1] != 'w' && path[1] != 'i' && path[1] != '/') {
		return Watch{}, false
	}
	path = strings.TrimLeft(path, "/")
	path = strings.TrimPrefix(path, "index.php/")
	if rest, ok := strings.CutPrefix(path, "wp-json/"); ok {
		return restRoute(rest)
	}
	if rest, ok := strings.CutPrefix(path, "wc-api/v"); ok && len(rest) > 1 && rest[0] >= '1' && rest[0] <= '3' && rest[1] == '/' {
		return routeOf(rest[1:], true, int(rest[0]-'0'))
	}
	return Watch{}, false
}

// restRoute accepts "/wc/vN/<route>".
func restRoute(route string) (Watch, bool) {
	route = strings.TrimLeft(route, "/")
	if storeCartRoute(route) {
		return Watch{Door: DoorStoreAddToCart, Cart: &Cart{}}, true
	}
	if storeCheckoutRoute(route) {
		return checkoutWatch(DoorStoreCheckout), true
	}
	if len(route) < len("wc/v1/") || !strings.EqualFold(route[:len("wc/v")], "wc/v") {
		return Watch{}, false
	}
	n := route[len("wc/v")]
	if n < '1' || n > '3' || route[len("wc/v1")] != '/' {
		return Watch{}, false
	}
	return routeOf(route[len("wc/v1"):], false, int(n-'0'))
}

// resources maps route collections to resources.
var resources = map[string]string{"orders": "order", "products": "product", "customers": "customer", "coupons": "coupon"}

// routeOf parses the route below the namespace:
// <res>, <res>/<id>, <res>/batch (REST) or <res>/bulk (legacy),
// products/<id>/variations[/<vid>|/batch], orders/<id>/refunds[/<rid>].
// An op is not set yet: Watch.Op holds 0 for a collection, OpUpdate for an
// item and OpBatch for a batch route until setOp decides.
func routeOf(route string, legacy bool, version int) (Watch, bool) {
	route = strings.Trim(route, "/")
	seg := strings.Split(route, "/")
	if len(seg) == 0 || len(seg) > 4 {
		return Watch{}, false
	}
	res, ok := resources[strings.ToLower(seg[0])]
	if !ok {
		return Watch{}, false
	}
	w := Watch{Resource: res, Legacy: legacy, Version: version}
	batchWord := "batch"
	if legacy {
		batchWord = "bulk"
	}
	if len(seg) == 1 {
		return w, true
	}
	if strings.EqualFold(seg[1], batchWord) {
		w.Op = OpBatch
		return w, len(seg) == 2
	}
	if w.ID, ok = digits(seg[1]); !ok {
		return Watch{}, false
	}
	if len(seg) == 2 {
		w.Op = OpUpdate
		return w, true
	}
	switch {
	case res == "order" && strings.EqualFold(seg[2], "refunds"):
		w.Sub = SubRefund
	case res == "product" && !legacy && strings.EqualFold(seg[2], "variations"):
		w.Sub = SubVariation
	default:
		return Watch{}, false
	}
	if len(seg) == 3 {
		return w, true
	}
	if w.Sub == SubVariation && strings.EqualFold(seg[3], "batch") {
		w.Op = OpBatch
		return w, true
	}
	if w.SubID, ok = digits(seg[3]); !ok {
		return Watch{}, false
	}
	w.Op = OpUpdate
	return w, true
}

// setOp turns the route kind into the operation for method; false when the
// route has no write for it.
func (w *Watch) setOp(method string) bool {
	editable := method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
	switch w.Op {
	case 0: // collection
		if method != http.MethodPost {
			return false
		}
		w.Op = OpCreate
	case OpBatch:
		return editable
	case OpUpdate: // item
		switch {
		case method == http.MethodDelete:
			w.Op = OpDelete
		case editable && w.Sub != SubRefund:
		default:
			return false
		}
	}
	return true
}

// plain reports whether the query leaves the answer's representation as
// it is (the parameters that trim, wrap or extend it are absent).
func plain(raw string, legacy bool) bool {
	if raw == "" {
		return true
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return false
	}
	for k := range q {
		switch {
		case k == "_jsonp", k == "_fields", k == "_envelope", k == "_embed", k == "_pretty":
			return false
		case legacy && (k == "fields" || strings.HasPrefix(k, "filter[")):
			return false
		}
	}
	return true
}

// digits parses a route id ([0-9]+) that fits an int64.
func digits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
