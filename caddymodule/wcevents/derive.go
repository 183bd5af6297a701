package wcevents

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Change is one topic event derived from a write.
type Change struct {
	// Topic is the WooCommerce topic, e.g. "order.created".
	Topic string
	// ID is the resource id the event is about (for refunds the order's,
	// for variations the variation's).
	ID int64
	// Item is the resource exactly as the answer carried it (for legacy
	// answers wrapped, e.g. {"order":{...}}), nil when the answer did not
	// carry the resource itself (refunds, variations, an uncaptured body).
	Item []byte
	// ItemVersion is the webhook api_version for which Item is the payload
	// ("wp_api_v3", "legacy_v3", ...), "" when Item is no webhook's payload.
	ItemVersion string
	// Status is the resource's status in the answer, "" when unknown.
	Status string
	// Modified is the resource's modification time in UTC as
	// "YYYY-MM-DDTHH:MM:SS" from the answer, "" when unknown.
	Modified string
	// User names the customer of an account door's change whose answer
	// does not tell the id (ID is 0 until Emitter.ResolveUsers), nil
	// otherwise.
	User *UserRef
	// Saved is, for a wp-admin save whose event (created or updated)
	// depends on the resource's date_created, when WordPress answered the
	// save (see Emitter.ResolveSaves); zero otherwise.
	Saved time.Time
}

// Resource is the topic's resource ("order", ...).
func (c Change) Resource() string {
	r, _, _ := strings.Cut(c.Topic, ".")
	return r
}

// Deleted reports whether the topic's event is "deleted".
func (c Change) Deleted() bool { return strings.HasSuffix(c.Topic, ".deleted") }

// DeletedPayload is the payload of every deleted event, {"id":N}, as
// WooCommerce builds it for every API version.
func DeletedPayload(id int64) []byte {
	return []byte(`{"id":` + strconv.FormatInt(id, 10) + `}`)
}

// Skipped reports whether WooCommerce fires nothing for a resource in this
// status: products and coupons in auto-draft or new, orders in
// checkout-draft, auto-draft or new.
func Skipped(resource, status string) bool {
	switch status {
	case "auto-draft", "new":
		return resource == "order" || resource == "product" || resource == "coupon"
	case "checkout-draft":
		return resource == "order"
	}
	return false
}

// Derive turns the upstream's answer to a watched write into changes: one
// per (topic, id), in the order the answer lists them. Only 2xx answers
// count. body is the decoded answer, nil when it was not captured (too
// large, or an encoding that could not be decoded); then only what the
// route names is derived (updates and deletes of the route's id), with no
// Item. Batch entries with an "error" member are skipped, and so are
// resources in a status WooCommerce fires nothing for (see Skipped). A
// checkout door's answer gives at most one order.created, without Item
// (see checkout).
func Derive(w Watch, status int, header http.Header, body []byte) []Change {
	if w.Door == DoorAdmin {
		return deriveAdmin(w, status, header) // a 302, see admin.go
	}
	if w.Door == DoorAccount {
		return deriveAccount(w, status, header) // a 302, see customer.go
	}
	if w.Door >= DoorAddToCart {
		return deriveCart(w, status, header, body)
	}
	if status < 200 || status > 299 || w.Resource == "" {
		return nil
	}
	if body != nil && !isJSON(header) {
		body = nil
	}
	d := deriver{w: w, seen: map[string]bool{}}
	if w.Door != DoorREST {
		d.checkout(body)
		return append(d.out, checkoutCustomer(w, header, body)...)
	}
	switch w.Sub {
	case SubRefund:
		// The refund is not the order: the order is read for the payload.
		d.add(Change{Topic: "order.updated", ID: w.ID})
		return d.out
	case SubVariation:
		d.variations(body)
		return d.out
	}
	switch w.Op {
	case OpBatch:
		d.batch(body)
	case OpCreate:
		d.item(body, ".created", 0)
	case OpUpdate:
		d.item(body, ".updated", w.ID)
	case OpDelete:
		d.item(body, ".deleted", w.ID)
	}
	return d.out
}

// deriver collects the changes of one answer, one per (topic, id).
type deriver struct {
	w    Watch
	seen map[string]bool
	out  []Change
}

func (d *deriver) add(c Change) {
	if c.ID <= 0 || Skipped(c.Resource(), c.Status) {
		return
	}
	key := c.Topic + "\x00" + strconv.FormatInt(c.ID, 10)
	if d.seen[key] {
		return
	}
	d.seen[key] = true
	d.out = append(d.out, c)
}

// item derives the change of a single-item answer (event ".created" etc.);
// routeID is used when the answer carries no usable item.
func (d *deriver) item(body []byte, event string, routeID int64) {
	topic := d.w.Resource + event
	raw := bytes.TrimSpace(body)
	inner := raw
	if d.w.Legacy && len(raw) > 0 {
		inner = unwrap(raw, d.w.Resource)
	}
	m, ok := parseMeta(inner)
	if !ok || m.id <= 0 || (routeID > 0 && m.id != routeID) {
		d.add(Change{Topic: topic, ID: routeID})
		return
	}
	if topic == "customer.deleted" && m.role != "" && m.role != "customer" {
		return // delete_user fires customer.deleted for customers only
	}
	c := Change{Topic: topic, ID: m.id, Status: m.status, Modified: m.modified}
	if d.w.Plain {
		c.Item = append([]byte(nil), raw...)
		c.ItemVersion = d.w.APIVersion()
	}
	d.add(c)
}

// batch derives the changes of a REST batch answer
// {"create":[...],"update":[...],"delete":[...]} or a legacy bulk answer
// {"orders":[...]} (an item counts as created when its created_at equals
// its updated_at, as a new legacy item's do).
func (d *deriver) batch(body []byte) {
	if d.w.Legacy {
		var lists map[string][]json.RawMessage
		if json.Unmarshal(body, &lists) != nil {
			return
		}
		for _, raw := range lists[d.w.Resource+"s"] {
			m, ok := parseMeta(raw)
			if !ok || m.failed {
				continue
			}
			event := ".updated"
			if m.created != "" && m.created == m.updatedAt {
				event = ".created"
			}
			c := Change{Topic: d.w.Resource + event, ID: m.id, Status: m.status, Modified: m.modified}
			if d.w.Plain {
				// The legacy single-item representation is wrapped.
				c.Item = wrap(d.w.Resource, raw)
				c.ItemVersion = d.w.APIVersion()
			}
			d.add(c)
		}
		return
	}
	var lists struct {
		Create []json.RawMessage `json:"create"`
		Update []json.RawMessage `json:"update"`
		Delete []json.RawMessage `json:"delete"`
	}
	if json.Unmarshal(body, &lists) != nil {
		return
	}
	for _, l := range []struct {
		items []json.RawMessage
		event string
	}{{lists.Create, ".created"}, {lists.Update, ".updated"}, {lists.Delete, ".deleted"}} {
		for _, raw := range l.items {
			m, ok := parseMeta(raw)
			if !ok || m.failed {
				continue
			}
			if l.event == ".deleted" && d.w.Resource == "customer" && m.role != "" && m.role != "customer" {
				continue
			}
			c := Change{Topic: d.w.Resource + l.event, ID: m.id, Status: m.status, Modified: m.modified}
			if d.w.Plain {
				c.Item = append([]byte(nil), bytes.TrimSpace(raw)...)
				c.ItemVersion = d.w.APIVersion()
			}
			d.add(c)
		}
	}
}

// variations derives product events of variations: WooCommerce fires
// product.created (woocommerce_new_product_variation), product.updated
// (woocommerce_update_product_variation) and product.deleted with the
// variation's id. The answer is a variation, not the product
// representation, so there is no Item.
func (d *deriver) variations(body []byte) {
	if d.w.Op != OpBatch {
		event := map[Op]string{OpCreate: ".created", OpUpdate: ".updated", OpDelete: ".deleted"}[d.w.Op]
		m, ok := parseMeta(body)
		if !ok || m.id <= 0 || (d.w.SubID > 0 && m.id != d.w.SubID) {
			d.add(Change{Topic: "product" + event, ID: d.w.SubID})
			return
		}
		d.add(Change{Topic: "product" + event, ID: m.id, Status: m.status, Modified: m.modified})
		return
	}
	w := d.w
	w.Sub, w.Plain = SubNone, false
	inner := deriver{w: w, seen: d.seen}
	inner.batch(body)
	d.out = append(d.out, inner.out...)
}

// isJSON reports whether the answer is JSON (not JSONP or HTML).
func isJSON(h http.Header) bool {
	ct := h.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// unwrap returns the member named resource of a legacy answer
// {"order":{...}}, or nil.
func unwrap(raw []byte, resource string) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m[resource]
}

// wrap builds the legacy single-item form {"<resource>":<item>}.
func wrap(resource string, item []byte) []byte {
	out := make([]byte, 0, len(item)+len(resource)+5)
	out = append(out, `{"`...)
	out = append(out, resource...)
	out = append(out, `":`...)
	out = append(out, bytes.TrimSpace(item)...)
	return append(out, '}')
}
