package standin

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The stand-in's store of orders, products (with variations), customers
// and coupons, answering WooCommerce's REST (wc/v1-v3) and legacy (wc-api
// v2/v3) routes for them: 201 create with the item, 200 update, DELETE to
// the trash (status "trash") or, with force=true, for good (the item as it
// was), batch / bulk, order refunds and product variations; the lists
// filter and page as WooCommerce's do (rest.go). Every write takes the
// store's clock (the wall clock, at least one second after the previous
// write), so each change has its own date_modified. Items differ per version as WooCommerce's do: v1 dates
// are UTC without _gmt twins, v2/v3 have local (UTC+3) dates plus _gmt,
// links name the version's namespace, legacy items are wrapped and dated
// created_at/updated_at with a Z.

// StoreEpoch is the store clock's start; the clock follows the wall clock
// (see tick).
var StoreEpoch = time.Date(2024, 5, 15, 20, 0, 0, 0, time.UTC)

// storeZone is the shop's timezone for local dates (UTC+3).
var storeZone = time.FixedZone("UTC+3", 3*3600)

// Resource is one stored order, product, customer, coupon or variation.
type Resource struct {
	Kind     string // "order", "product", "customer", "coupon", "refund"
	ID       int64
	Parent   int64 // a variation's product, a refund's order
	Status   string
	Name     string
	Role     string // customers
	Login    string // customers: user_login ("" for those made through the API without a username)
	Email    string // customers: user_email
	Created  time.Time
	Modified time.Time
}

type resourceStore struct {
	mu     sync.Mutex
	nextID int64
	clock  time.Time
	items  map[int64]*Resource
}

var storeOnce sync.Map // *Server -> *resourceStore

func (s *Server) resources() *resourceStore {
	v, _ := storeOnce.LoadOrStore(s, &resourceStore{nextID: 1000, clock: StoreEpoch, items: map[int64]*Resource{}})
	return v.(*resourceStore)
}

// Resource returns a copy of a stored resource.
func (s *Server) Resource(id int64) (Resource, bool) {
	st := s.resources()
	st.mu.Lock()
	defer st.mu.Unlock()
	r, ok := st.items[id]
	if !ok {
		return Resource{}, false
	}
	return *r, true
}

// TouchResource changes a resource behind the proxy's back (as cron or a
// payment callback would): new status, a new modification time.
func (s *Server) TouchResource(id int64, status string) bool {
	st := s.resources()
	st.mu.Lock()
	defer st.mu.Unlock()
	r, ok := st.items[id]
	if !ok {
		return false
	}
	r.Status, r.Modified = status, st.tick()
	return true
}

// CreateResource creates a resource of kind ("order", "product",
// "coupon", "customer") behind the proxy's back, as WooCommerce does for a
// checkout finished by a payment callback or a WP-CLI command: status ""
// takes the kind's default. It returns the new id.
func (s *Server) CreateResource(kind, status string) int64 {
	st := s.resources()
	st.mu.Lock()
	defer st.mu.Unlock()
	fields := map[string]any{}
	if status != "" {
		fields["status"] = status
	}
	return st.create(kind, 0, fields).ID
}

// TrashResource moves a resource to the trash behind the proxy's back
// (wp_trash_post: status "trash", a new date_modified); false when it is
// missing or already there.
func (s *Server) TrashResource(id int64) bool { return s.moveTrash(id, true) }

// RestoreResource takes a resource out of the trash behind the proxy's
// back (wp_untrash_post: its status before the trash, a new
// date_modified); false when it is missing or not in the trash.
func (s *Server) RestoreResource(id int64) bool { return s.moveTrash(id, false) }

func (s *Server) moveTrash(id int64, in bool) bool {
	st := s.resources()
	st.mu.Lock()
	defer st.mu.Unlock()
	r, ok := st.items[id]
	if !ok || r.Kind == "customer" || r.Kind == "refund" {
		return false
	}
	return st.trash(r, in)
}

// DeleteResource deletes a resource for good behind the proxy's back
// (wp_delete_post / wp_delete_user); false when it is missing.
func (s *Server) DeleteResource(id int64) bool {
	st := s.resources()
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.items[id]; !ok {
		return false
	}
	delete(st.items, id)
	return true
}

// tick is the store's clock: the current second, and one second after the
// previous change when that is later, so each change has its own
// date_modified and the dates follow the wall clock (modified_after works
// against real time).
func (st *resourceStore) tick() time.Time {
	now := time.Now().UTC().Truncate(time.Second)
	if st.clock.Add(time.Second).After(now) {
		now = st.clock.Add(time.Second)
	}
	st.clock = now
	return st.clock
}

var (
	reResColl    = regexp.MustCompile(`(?i)^/(orders|products|customers|coupons)$`)
	reResItem    = regexp.MustCompile(`(?i)^/(orders|products|customers|coupons)/(\d+)$`)
	reResBatch   = regexp.MustCompile(`(?i)^/(orders|products|customers|coupons)/(batch|bulk)$`)
	reVariations = regexp.MustCompile(`(?i)^/products/(\d+)/variations(?:/(\d+|batch))?$`)
	reRefunds    = regexp.MustCompile(`(?i)^/orders/(\d+)/refunds(?:/(\d+))?$`)
	reRESTNS     = regexp.MustCompile(`(?i)^/wc/v([123])(/.*)$`)
)

// defaultStatus is what a new resource of kind gets.
func defaultStatus(kind string) string {
	switch kind {
	case "order":
		return "pending"
	case "customer", "refund":
		return ""
	}
	return "publish"
}

// render is the item of r for REST version v (1-3) or, legacy, the
// unwrapped legacy item.
func (st *resourceStore) render(r *Resource, legacy bool, v int) map[string]any {
	utc := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }
	local := func(t time.Time) string { return t.In(storeZone).Format("2006-01-02T15:04:05") }
	m := map[string]any{"id": r.ID}
	if r.Kind != "customer" && r.Kind != "refund" {
		m["status"] = r.Status
	}
	if r.Name != "" {
		m["name"] = r.Name
	}
	if r.Kind == "customer" {
		m["role"] = r.Role
		m["username"], m["email"] = r.Login, r.Email
	}
	if r.Parent != 0 {
		m["parent_id"] = r.Parent
	}
	if legacy {
		m["created_at"] = utc(r.Created) + "Z"
		m["updated_at"] = utc(r.Modified) + "Z"
		return m
	}
	m["meta_data"] = []any{}
	m["date_created"], m["date_modified"] = local(r.Created), local(r.Modified)
	if v == 1 {
		m["date_created"], m["date_modified"] = utc(r.Created), utc(r.Modified)
	} else {
		m["date_created_gmt"], m["date_modified_gmt"] = utc(r.Created), utc(r.Modified)
	}
	m["_links"] = map[string]any{"self": []any{map[string]any{"href": fmt.Sprintf("http://standin/wp-json/wc/v%d/%ss/%d", v, r.Kind, r.ID)}}}
	return m
}

// serveResource answers the resource routes of REST namespace wc/vN; false
// when route is not one of them.
func (c *call) serveResource(p *principal, m, fullRoute string) bool {
	sub := reRESTNS.FindStringSubmatch(fullRoute)
	if sub == nil {
		return false
	}
	v, _ := strconv.Atoi(sub[1])
	route := strings.TrimRight(sub[2], "/")
	h := &resHandler{c: c, st: c.s.resources(), v: v}
	return h.serve(p, m, route)
}

// serveLegacyResource answers the legacy resource routes (v2, v3).
func (c *call) serveLegacyResource(p *principal, version int, m, route string) bool {
	h := &resHandler{c: c, st: c.s.resources(), v: version, legacy: true}
	return h.serve(p, m, strings.TrimRight(route, "/"))
}

type resHandler struct {
	c      *call
	st     *resourceStore
	v      int
	legacy bool
}

func (h *resHandler) fail(status int, code, msg string) {
	e := &apiError{code: code, message: msg, status: status}
	if h.legacy {
		h.c.legacyError(e)
		return
	}
	h.c.restError(e)
}

// item renders r as a single answer (wrapped for legacy).
func (h *resHandler) item(r *Resource) any {
	it := h.st.render(r, h.legacy, h.v)
	if h.legacy {
		return map[string]any{r.Kind: it}
	}
	return it
}

func (h *resHandler) serve(p *principal, m, route string) bool {
	var kind string
	var id, subID int64
	sub := ""
	switch {
	case reResColl.MatchString(route):
		kind = singular(reResColl.FindStringSubmatch(route)[1])
	case reResItem.MatchString(route):
		g := reResItem.FindStringSubmatch(route)
		kind, id = singular(g[1]), atoi(g[2])
	case reResBatch.MatchString(route):
		g := reResBatch.FindStringSubmatch(route)
		if (g[2] == "bulk") != h.legacy {
			return false
		}
		kind, sub = singular(g[1]), "batch"
	case !h.legacy && reVariations.MatchString(route):
		g := reVariations.FindStringSubmatch(route)
		kind, id, sub = "product", atoi(g[1]), "variation"
		if g[2] == "batch" {
			sub = "variation-batch"
		} else {
			subID = atoi(g[2])
		}
	case reRefunds.MatchString(route):
		g := reRefunds.FindStringSubmatch(route)
		kind, id, sub, subID = "order", atoi(g[1]), "refund", atoi(g[2])
	default:
		return false
	}
	if !p.canManage() {
		status := 403
		if p == nil {
			status = 401 // rest_authorization_required_code(): nobody is logged in
		}
		h.fail(status, "woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource.")
		return true
	}
	params := h.params(kind)
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	editable := m == "POST" || m == "PUT" || m == "PATCH"
	switch {
	case sub == "" && id == 0 && m == "POST":
		h.c.writeJSON(201, h.item(h.st.create(kind, 0, params)))
	case sub == "" && id == 0 && (m == "GET" || m == "HEAD") && !h.legacy && (kind != "customer" || dateListing(h.c.query)):
		h.serveList(kind) // rest.go
	case sub == "" && id == 0 && (m == "GET" || m == "HEAD") && kind == "customer" && !h.legacy:
		h.c.writeJSON(200, h.st.listCustomers(h.c.query, false, h.v)) // account.go
	case sub == "" && id == 0 && (m == "GET" || m == "HEAD"):
		h.c.writeJSON(200, []any{})
	case sub == "" && m == "GET":
		if r := h.st.get(kind, id); r != nil {
			h.c.writeJSON(200, h.item(r))
			return true
		}
		h.fail(404, "woocommerce_rest_invalid_id", "Invalid ID.")
	case sub == "" && editable:
		if r := h.st.update(kind, id, params); r != nil {
			h.c.writeJSON(200, h.item(r))
			return true
		}
		h.fail(400, "woocommerce_rest_invalid_id", "ID is invalid.")
	case sub == "" && m == "DELETE":
		h.delete(kind, id, phpTrue(h.c.query["force"]))
	case sub == "batch" && editable:
		h.batch(kind, 0, params)
	case sub == "variation" && subID == 0 && m == "POST" && h.st.get("product", id) != nil:
		h.c.writeJSON(201, h.st.render(h.st.create("product", id, params), false, h.v))
	case sub == "variation" && subID > 0 && editable:
		if r := h.st.update("product", subID, params); r != nil {
			h.c.writeJSON(200, h.st.render(r, false, h.v))
			return true
		}
		h.fail(400, "woocommerce_rest_invalid_id", "ID is invalid.")
	case sub == "variation" && subID > 0 && m == "DELETE":
		h.delete("product", subID, true)
	case sub == "variation-batch" && editable:
		h.batch("product", id, params)
	case sub == "refund" && subID == 0 && m == "POST":
		order := h.st.get("order", id)
		if order == nil {
			h.fail(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
			return true
		}
		refund := h.st.create("refund", id, nil)
		order.Modified = refund.Modified
		h.c.writeJSON(201, h.st.render(refund, false, h.v))
	case sub == "refund" && subID > 0 && m == "DELETE":
		refund, order := h.st.get("refund", subID), h.st.get("order", id)
		if refund == nil || order == nil || refund.Parent != id {
			h.fail(404, "woocommerce_rest_invalid_id", "Invalid ID.")
			return true
		}
		delete(h.st.items, subID)
		order.Modified = h.st.tick()
		h.c.writeJSON(200, h.st.render(refund, false, h.v))
	default:
		h.c.restError(restNoRoute)
	}
	return true
}

// params reads the body's fields (legacy: inside {"<kind>": {...}}).
func (h *resHandler) params(kind string) map[string]any {
	var body map[string]any
	_ = json.Unmarshal(h.c.body, &body)
	if h.legacy {
		if inner, ok := body[kind].(map[string]any); ok {
			return inner
		}
		if _, ok := body[kind+"s"]; ok {
			return body
		}
		return map[string]any{}
	}
	if body == nil {
		body = map[string]any{}
	}
	return body
}

func (h *resHandler) delete(kind string, id int64, force bool) {
	r := h.st.get(kind, id)
	if r == nil {
		h.fail(404, "woocommerce_rest_invalid_id", "Invalid ID.")
		return
	}
	if !force && kind == "customer" {
		h.fail(501, "woocommerce_rest_trash_not_supported", "Customers do not support trashing.")
		return
	}
	before := *r
	if force {
		delete(h.st.items, id)
	} else {
		r.Status, r.Modified = "trash", h.st.tick()
	}
	if h.legacy {
		msg := "Deleted " + kind
		if force {
			msg = "Permanently deleted " + kind
		}
		h.c.writeJSON(200, map[string]any{"message": msg})
		return
	}
	if force {
		h.c.writeJSON(200, h.item(&before))
		return
	}
	h.c.writeJSON(200, h.item(r))
}

// batch answers a REST batch ({"create","update","delete"}) or a legacy
// bulk ({"<kind>s":[...]}, items with an id are updates).
func (h *resHandler) batch(kind string, parent int64, params map[string]any) {
	errItem := func(id any, code, msg string, status int) map[string]any {
		return map[string]any{"id": id, "error": map[string]any{"code": code, "message": msg, "data": map[string]any{"status": status}}}
	}
	render := func(r *Resource) any { return h.st.render(r, h.legacy, h.v) }
	if h.legacy {
		var out []any
		list, _ := params[kind+"s"].([]any)
		for _, it := range list {
			fields, _ := it.(map[string]any)
			if id := int64(num(fields["id"])); id > 0 {
				if r := h.st.update(kind, id, fields); r != nil {
					out = append(out, render(r))
				} else {
					out = append(out, map[string]any{"id": id, "error": map[string]any{"code": "woocommerce_api_invalid_" + kind + "_id", "message": "Invalid " + kind + " ID"}})
				}
				continue
			}
			out = append(out, render(h.st.create(kind, 0, fields)))
		}
		h.c.writeJSON(200, map[string]any{kind + "s": out})
		return
	}
	out := map[string]any{}
	if list, ok := params["create"].([]any); ok && len(list) > 0 {
		var res []any
		for _, it := range list {
			fields, _ := it.(map[string]any)
			res = append(res, render(h.st.create(kind, parent, fields)))
		}
		out["create"] = res
	}
	if list, ok := params["update"].([]any); ok && len(list) > 0 {
		var res []any
		for _, it := range list {
			fields, _ := it.(map[string]any)
			id := int64(num(fields["id"]))
			if r := h.st.update(kind, id, fields); r != nil {
				res = append(res, render(r))
			} else {
				res = append(res, errItem(fields["id"], "woocommerce_rest_invalid_id", "ID is invalid.", 400))
			}
		}
		out["update"] = res
	}
	if list, ok := params["delete"].([]any); ok && len(list) > 0 {
		var res []any
		for _, it := range list {
			id := int64(num(it))
			r := h.st.get(kind, id)
			if r == nil {
				res = append(res, errItem(id, "woocommerce_rest_invalid_id", "Invalid ID.", 404))
				continue
			}
			delete(h.st.items, id)
			res = append(res, render(r))
		}
		out["delete"] = res
	}
	if len(out) == 0 {
		h.c.writeJSON(200, []any{})
		return
	}
	h.c.writeJSON(200, out)
}

func (st *resourceStore) get(kind string, id int64) *Resource {
	r, ok := st.items[id]
	if !ok || r.Kind != kind {
		return nil
	}
	return r
}

func (st *resourceStore) create(kind string, parent int64, fields map[string]any) *Resource {
	st.nextID++
	now := st.tick()
	r := &Resource{Kind: kind, ID: st.nextID, Parent: parent, Status: defaultStatus(kind), Created: now, Modified: now}
	if kind == "customer" {
		r.Role = "customer"
	}
	st.apply(r, fields)
	st.items[r.ID] = r
	return r
}

func (st *resourceStore) update(kind string, id int64, fields map[string]any) *Resource {
	r := st.get(kind, id)
	if r == nil {
		return nil
	}
	st.apply(r, fields)
	r.Modified = st.tick()
	return r
}

func (st *resourceStore) apply(r *Resource, fields map[string]any) {
	if s, ok := fields["status"].(string); ok && s != "" {
		r.Status = s
	}
	if s, ok := fields["name"].(string); ok {
		r.Name = s
	}
	if s, ok := fields["role"].(string); ok && r.Kind == "customer" {
		r.Role = s
	}
	if s, ok := fields["email"].(string); ok && r.Kind == "customer" {
		r.Email = s
	}
	if s, ok := fields["username"].(string); ok && r.Kind == "customer" && r.Login == "" {
		r.Login = s
	}
}

func singular(s string) string { return strings.TrimSuffix(strings.ToLower(s), "s") }

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		n, _ := strconv.ParseFloat(x, 64)
		return n
	}
	return 0
}
