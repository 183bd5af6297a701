package standin

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

var (
	reWebhooks     = regexp.MustCompile(`(?i)^/wc/v([123])/webhooks$`)
	reBatch        = regexp.MustCompile(`(?i)^/wc/v([123])/webhooks/batch$`)
	reWebhook      = regexp.MustCompile(`(?i)^/wc/v([123])/webhooks/(\d+)$`)
	reDeliveries   = regexp.MustCompile(`(?i)^/wc/v([12])/webhooks/(\d+)/deliveries$`)
	reDelivery     = regexp.MustCompile(`(?i)^/wc/v([12])/webhooks/(\d+)/deliveries/(\d+)$`)
	jsonUTF8       = "application/json; charset=UTF-8"
	restNoRoute    = &apiError{code: "rest_no_route", message: "No route was found matching the URL and request method.", status: 404}
	wcRESTPrefixes = []string{"/wc/", "/wc-"}
)

// writeJSON answers status with v encoded as WordPress does (slashes escaped
// are not needed by any client, so plain encoding/json is used).
func (c *call) writeJSON(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(c.w, "encode", http.StatusInternalServerError)
		return
	}
	c.w.Header().Set("Content-Type", jsonUTF8)
	c.w.WriteHeader(status)
	if c.method() != "HEAD" {
		_, _ = c.w.Write(b)
	}
}

func (c *call) restError(e *apiError) {
	if e.challenge {
		c.w.Header().Set("WWW-Authenticate", basicRealm)
	}
	type data struct {
		Status int `json:"status"`
	}
	c.writeJSON(e.status, struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Data    data   `json:"data"`
	}{e.code, e.message, data{e.status}})
}

// restParams merges the request's parameters as WP_REST_Request does: JSON
// body, then form body, then query string (earlier sources win).
func (c *call) restParams() (map[string]any, *apiError) {
	out := map[string]any{}
	for k, v := range c.query {
		out[k] = v
	}
	ct := strings.ToLower(c.r.Header.Get("Content-Type"))
	switch {
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		for k, v := range phpQuery(string(c.body)) {
			out[k] = v
		}
	case strings.HasPrefix(ct, "application/json") && len(c.body) > 0:
		var body map[string]any
		if err := json.Unmarshal(c.body, &body); err != nil {
			return nil, &apiError{code: "rest_invalid_json", message: "Invalid JSON body passed.", status: 400}
		}
		for k, v := range body {
			out[k] = v
		}
	}
	return out, nil
}

// serveREST answers a WP REST request: WooCommerce authentication for wc/
// namespaces, the key permission check, route match, then the route.
func (c *call) serveREST(route string) {
	wc := false
	for _, p := range wcRESTPrefixes {
		wc = wc || strings.HasPrefix(strings.ToLower(route), p)
	}
	if !wc {
		if route == "/" && c.method() == "GET" {
			c.writeJSON(200, map[string]any{"name": "Stand-in shop", "namespaces": []string{"wc/v1", "wc/v2", "wc/v3"}})
			return
		}
		c.restError(restNoRoute)
		return
	}
	p, authErr := c.authREST()
	if authErr != nil {
		c.restError(authErr)
		return
	}
	if e := c.keyPermission(p, "woocommerce_rest_authentication_error"); e != nil {
		c.restError(e)
		return
	}
	m := c.method()
	switch {
	case reWebhooks.MatchString(route) && (m == "GET" || m == "HEAD"):
		c.restList(p)
	case reWebhooks.MatchString(route) && m == "POST":
		c.restCreate(p)
	case reBatch.MatchString(route) && (m == "POST" || m == "PUT" || m == "PATCH"):
		c.restBatch(p)
	case reWebhook.MatchString(route):
		id, _ := strconv.ParseInt(reWebhook.FindStringSubmatch(route)[2], 10, 64)
		c.restItem(p, m, id)
	case (reDeliveries.MatchString(route) || reDelivery.MatchString(route)) && (m == "GET" || m == "HEAD"):
		if !p.canManage() {
			c.restError(denied(p, "woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."))
			return
		}
		c.restError(&apiError{code: "woocommerce_rest_webhook_invalid_id", message: "Invalid webhook ID.", status: 404})
	case c.serveResource(p, m, route): // orders, products, customers, coupons (resources.go)
	default:
		c.restError(restNoRoute)
	}
}

// denied is WooCommerce's permission failure: 401 when nobody is logged
// in, 403 when a user is.
func denied(p *principal, code, message string) *apiError {
	status := 401
	if p != nil {
		status = 403
	}
	return &apiError{code: code, message: message, status: status}
}

func (c *call) restList(p *principal) {
	if v, ok := c.query["per_page"]; ok {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 100 {
			c.restError(&apiError{code: "rest_invalid_param", message: "Invalid parameter(s): per_page", status: 400})
			return
		}
	}
	if !p.canManage() {
		c.restError(denied(p, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."))
		return
	}
	c.w.Header().Set("X-WP-Total", "0")
	c.w.Header().Set("X-WP-TotalPages", "0")
	c.writeJSON(200, []any{})
}

func (c *call) restCreate(p *principal) {
	params, e := c.restParams()
	if e != nil {
		c.restError(e)
		return
	}
	var missing []string
	for _, name := range []string{"topic", "delivery_url"} {
		if _, ok := params[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		c.restError(&apiError{code: "rest_missing_callback_param", message: "Missing parameter(s): " + strings.Join(missing, ", "), status: 400})
		return
	}
	if !p.canManage() {
		c.restError(denied(p, "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."))
		return
	}
	if !phpEmpty(params["id"]) {
		c.restError(&apiError{code: "woocommerce_rest_shop_webhook_exists", message: "Cannot create existing shop_webhook.", status: 400})
		return
	}
	// The stand-in never stores webhooks: a real create is answered with an
	// invalid-topic error so that nothing can appear to have been created.
	c.restError(&apiError{code: "woocommerce_rest_shop_webhook_invalid_topic", message: "Webhook topic is required and must be valid.", status: 400})
}

func (c *call) restBatch(p *principal) {
	if !p.canManage() {
		c.restError(denied(p, "woocommerce_rest_cannot_batch", "Sorry, you are not allowed to batch manipulate this resource."))
		return
	}
	params, e := c.restParams()
	if e != nil {
		c.restError(e)
		return
	}
	out := map[string]any{}
	notFound := func(id any, msg string, status int) map[string]any {
		return map[string]any{"id": id, "error": map[string]any{"code": "woocommerce_rest_shop_webhook_invalid_id", "message": msg, "data": map[string]any{"status": status}}}
	}
	if items, ok := params["update"].([]any); ok && len(items) > 0 {
		var res []any
		for _, it := range items {
			m, _ := it.(map[string]any)
			res = append(res, notFound(m["id"], "ID is invalid.", 400))
		}
		out["update"] = res
	}
	if items, ok := params["delete"].([]any); ok && len(items) > 0 {
		var res []any
		for _, it := range items {
			res = append(res, notFound(it, "Invalid ID.", 404))
		}
		out["delete"] = res
	}
	if len(out) == 0 {
		c.writeJSON(200, []any{})
		return
	}
	c.writeJSON(200, out)
}

func (c *call) restItem(p *principal, m string, routeID int64) {
	switch m {
	case "GET", "HEAD":
		if !p.canManage() {
			c.restError(denied(p, "woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."))
			return
		}
		msg := "ID is invalid."
		if routeID == 0 {
			msg = "Invalid ID."
		}
		c.restError(&apiError{code: "woocommerce_rest_shop_webhook_invalid_id", message: msg, status: 404})
	case "POST", "PUT", "PATCH":
		params, e := c.restParams()
		if e != nil {
			c.restError(e)
			return
		}
		if !p.canManage() {
			c.restError(denied(p, "woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."))
			return
		}
		_ = params // any id (route or body) names no webhook here
		c.restError(&apiError{code: "woocommerce_rest_shop_webhook_invalid_id", message: "ID is invalid.", status: 400})
	case "DELETE":
		params, e := c.restParams()
		if e != nil {
			c.restError(e)
			return
		}
		if !p.canManage() {
			c.restError(denied(p, "woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."))
			return
		}
		if !phpTrue(params["force"]) {
			c.restError(&apiError{code: "woocommerce_rest_trash_not_supported", message: "Webhooks do not support trashing.", status: 501})
			return
		}
		c.restError(&apiError{code: "woocommerce_rest_shop_webhook_invalid_id", message: "Invalid ID.", status: 404})
	default:
		c.restError(restNoRoute)
	}
}

// phpEmpty is PHP's empty() for decoded JSON / query values.
func phpEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case float64:
		return x == 0
	case string:
		return x == "" || x == "0"
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// phpTrue is WordPress's boolean parameter sanitising (rest_sanitize_boolean).
func phpTrue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		s := strings.ToLower(x)
		return s != "" && s != "0" && s != "false"
	}
	return false
}

// restListParams are the list parameters of the resource collections.
var restListParams = []string{"modified_after", "modified_before", "after", "before"}

// serveList answers GET /wc/vN/<kind>s as WooCommerce's CRUD controllers
// do: status ("any" by default, which leaves out the trash and
// auto-drafts; "trash"; or a comma-separated list), after/before on the
// creation date and modified_after/modified_before on the modification
// date (exclusive; in the shop's timezone unless dates_are_gmt is true or
// the date has an offset), orderby date|id|modified|title|include|slug
// (customers: id|name|registered_date|include) with the id as tie-breaker,
// order (desc by default; asc for customers), per_page (10, at most 100),
// page, _fields, and the X-WP-Total / X-WP-TotalPages headers. Products
// leave out variations, orders their refunds. The caller holds st.mu.
func (h *resHandler) serveList(kind string) {
	q := h.c.query
	per, page := 10, 1
	if v, ok := q["per_page"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			h.c.restError(&apiError{code: "rest_invalid_param", message: "Invalid parameter(s): per_page", status: 400})
			return
		}
		per = n
	}
	if v, ok := q["page"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			h.c.restError(&apiError{code: "rest_invalid_param", message: "Invalid parameter(s): page", status: 400})
			return
		}
		page = n
	}
	bounds := map[string]time.Time{}
	for _, name := range restListParams {
		v, ok := q[name]
		if !ok {
			continue
		}
		t, ok := parseListDate(v, phpTrue(q["dates_are_gmt"]))
		if !ok {
			h.c.restError(&apiError{code: "rest_invalid_param", message: "Invalid parameter(s): " + name, status: 400})
			return
		}
		bounds[name] = t
	}
	found := h.st.filter(kind, q, bounds)
	sortResources(found, kind, q)
	total := len(found)
	out := []any{}
	for i := (page - 1) * per; i < total && i < page*per; i++ {
		out = append(out, pickFields(h.st.render(found[i], false, h.v), q["_fields"]))
	}
	h.c.w.Header().Set("X-WP-Total", strconv.Itoa(total))
	h.c.w.Header().Set("X-WP-TotalPages", strconv.Itoa((total+per-1)/per))
	h.c.writeJSON(200, out)
}

// filter selects the listed resources of kind.
func (st *resourceStore) filter(kind string, q map[string]string, bounds map[string]time.Time) []*Resource {
	status := q["status"]
	role := q["role"]
	if role == "" {
		role = "customer"
	}
	var found []*Resource
	for _, r := range st.items {
		if r.Kind != kind || (kind == "product" && r.Parent != 0) {
			continue
		}
		if kind == "customer" && role != "all" && r.Role != role {
			continue
		}
		if kind != "customer" && !statusMatches(r.Status, status) {
			continue
		}
		if t, ok := bounds["after"]; ok && !r.Created.After(t) {
			continue
		}
		if t, ok := bounds["before"]; ok && !r.Created.Before(t) {
			continue
		}
		if t, ok := bounds["modified_after"]; ok && !r.Modified.After(t) {
			continue
		}
		if t, ok := bounds["modified_before"]; ok && !r.Modified.Before(t) {
			continue
		}
		found = append(found, r)
	}
	return found
}

// statusMatches applies the status parameter ("" and "any" leave out the
// trash and auto-drafts, as post_status=any does).
func statusMatches(have, want string) bool {
	if want == "" || want == "any" || want == "all" {
		return have != "trash" && have != "auto-draft"
	}
	for _, s := range strings.Split(want, ",") {
		if strings.TrimPrefix(strings.TrimSpace(s), "wc-") == have {
			return true
		}
	}
	return false
}

// sortResources orders by orderby and order, ties by id in the same
// direction.
func sortResources(rs []*Resource, kind string, q map[string]string) {
	by, desc := q["orderby"], q["order"] != "asc"
	if kind == "customer" {
		desc = q["order"] == "desc"
	}
	key := func(r *Resource) (time.Time, string) {
		switch by {
		case "modified":
			return r.Modified, ""
		case "title", "name", "slug":
			return time.Time{}, r.Name
		case "id", "include":
			return time.Time{}, ""
		}
		if kind == "customer" && by != "registered_date" {
			return time.Time{}, ""
		}
		return r.Created, "" // date, registered_date
	}
	sort.SliceStable(rs, func(i, j int) bool {
		ti, si := key(rs[i])
		tj, sj := key(rs[j])
		less, more := false, false
		switch {
		case !ti.Equal(tj):
			less, more = ti.Before(tj), ti.After(tj)
		case si != sj:
			less, more = si < sj, si > sj
		default:
			less, more = rs[i].ID < rs[j].ID, rs[i].ID > rs[j].ID
		}
		if desc {
			return more
		}
		return less
	})
}

// parseListDate reads a list date: RFC 3339, or without an offset in the
// shop's timezone (UTC with dates_are_gmt).
func parseListDate(v string, gmt bool) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	loc := storeZone
	if gmt {
		loc = time.UTC
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05", v, loc)
	return t, err == nil
}

// pickFields keeps the top-level members named by _fields (all when empty).
func pickFields(m map[string]any, fields string) map[string]any {
	if fields == "" {
		return m
	}
	out := map[string]any{}
	for _, f := range strings.Split(fields, ",") {
		if v, ok := m[strings.TrimSpace(f)]; ok {
			out[strings.TrimSpace(f)] = v
		}
	}
	return out
}

// dateListing reports whether a customers list asks for what serveList
// answers (registered_date order, _fields); other customer lists
// (search, email) are answered by listCustomers.
func dateListing(q map[string]string) bool {
	return q["orderby"] == "registered_date" || q["_fields"] != ""
}
