package wcevents

import (
	"encoding/json"
	"net/url"
	"strings"
)

// Door is the way a watched write enters the shop.
type Door uint8

// The doors whose answers are derived into events.
const (
	DoorREST          Door = iota // the REST and legacy APIs (default)
	DoorCheckout                  // classic checkout: POST ?wc-ajax=checkout
	DoorStoreCheckout             // Store API checkout: POST /wc/store[/v1]/checkout
)

// checkoutWatch is the Watch of a checkout door: an order created (the
// Store API's route is a collection until setOp sees the method), its
// answer no REST representation (the order is read for every version).
func checkoutWatch(d Door) Watch {
	w := Watch{Door: d, Resource: "order"}
	if d == DoorCheckout {
		w.Op = OpCreate
	}
	return w
}

// classicCheckout reports whether a request names the classic checkout's
// AJAX endpoint: wc-ajax=checkout, which WC_AJAX answers on any front-end
// path, but not on REST or legacy API requests (WordPress answers those
// earlier, while parsing the request).
func classicCheckout(path string, q url.Values) bool {
	v, ok := q["wc-ajax"]
	if !ok || len(v) == 0 || v[len(v)-1] != "checkout" {
		return false
	}
	if _, rest := q["rest_route"]; rest {
		return false
	}
	if _, legacy := q["wc-api-route"]; legacy {
		return false
	}
	p := strings.TrimPrefix(strings.TrimLeft(path, "/"), "index.php/")
	return !strings.HasPrefix(p, "wp-json/") && !strings.HasPrefix(p, "wc-api/")
}

// storeCheckoutRoute reports whether route (below /wp-json/, without its
// leading slash) is the Store API checkout collection, wc/store/v1/checkout
// or the unversioned wc/store/checkout; routes match case-insensitively and
// a trailing slash is ignored. The pay-for-order route checkout/<id>
// updates an existing order and is not watched.
func storeCheckoutRoute(route string) bool {
	route = strings.ToLower(strings.TrimRight(route, "/"))
	return route == "wc/store/v1/checkout" || route == "wc/store/checkout"
}

// checkout derives the order.created of a checkout's answer. The classic
// checkout answers {"result":"success","order_id":N,"redirect":...} when
// the order needed payment, {"result":"success","redirect":<order
// received URL>} when it did not, and {"result":"failure",...} (also 200)
// when it failed: no event. The Store API answers the order with order_id
// and status; an order still in checkout-draft fires nothing.
func (d *deriver) checkout(body []byte) {
	var a struct {
		Result   string          `json:"result"`
		OrderID  json.RawMessage `json:"order_id"`
		Status   json.RawMessage `json:"status"`
		Redirect json.RawMessage `json:"redirect"`
	}
	if json.Unmarshal(body, &a) != nil {
		return
	}
	id := number(a.OrderID)
	switch d.w.Door {
	case DoorCheckout:
		if a.Result != "success" {
			return
		}
		if id <= 0 {
			id = receivedOrder(text(a.Redirect))
		}
		d.add(Change{Topic: "order.created", ID: id})
	case DoorStoreCheckout:
		status := text(a.Status)
		if status == "" {
			status = "checkout-draft" // not an order answer: nothing is known to be placed
		}
		d.add(Change{Topic: "order.created", ID: id, Status: status})
	}
}

// receivedOrder reads the order id of an order-received URL, pretty
// (.../order-received/<id>/?key=...) or plain (?order-received=<id>&...);
// 0 when there is none.
func receivedOrder(raw string) int64 {
	u, err := url.Parse(raw)
	if err != nil {
		return 0
	}
	v := u.Query().Get("order-received")
	if v == "" {
		seg := strings.Split(strings.Trim(u.Path, "/"), "/")
		for i := 0; i+1 < len(seg); i++ {
			if seg[i] == "order-received" {
				v = seg[i+1]
				break
			}
		}
	}
	n, ok := digits(v)
	if !ok {
		return 0
	}
	return n
}
