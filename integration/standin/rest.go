package standin

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

var (
	reWebhooks     = regexp.MustCompile(`(?i)^/wc/v([123])/webhooks$`)
	reBatch        = regexp.MustCompile(`(?i)^/wc/v([123])/webhooks/batch$`)
	reWebhook      = regexp.MustCompile(`(?i)^/wc/v([123])/webhooks/(\d+)$`)
	reDeliveries   = regexp.MustCompile(`(?i)^/wc/v([12])/webhooks/(\d+)/deliveries$`)
	reDelivery     = regexp.MustCompile(`(?i)^/wc/v([12])/webhooks/(\d+)/deliveries/(\d+)$`)
	reProducts     = regexp.MustCompile(`(?i)^/wc/v([123])/products$`)
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
	case reProducts.MatchString(route) && (m == "GET" || m == "HEAD"):
		if !p.canManage() {
			c.restError(denied(p, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."))
			return
		}
		c.w.Header().Set("X-WP-Total", "1")
		c.w.Header().Set("X-WP-TotalPages", "1")
		c.writeJSON(200, []map[string]any{{"id": 15, "name": "Hoodie", "slug": "hoodie", "price": "45"}})
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
