package standin

import (
	"encoding/json"
	"regexp"
	"strconv"
)

var (
	reLegacyWebhooks   = regexp.MustCompile(`(?i)^/webhooks$`)
	reLegacyCount      = regexp.MustCompile(`(?i)^/webhooks/count$`)
	reLegacyWebhook    = regexp.MustCompile(`(?i)^/webhooks/([^/]+)$`)
	reLegacyDeliveries = regexp.MustCompile(`(?i)^/webhooks/([^/]+)/deliveries(/[^/]+)?$`)
	legacyNoRoute      = &apiError{code: "woocommerce_api_no_route", message: "No route was found matching the URL and request method", status: 404}
)

func (c *call) legacyError(e *apiError) {
	if e.challenge {
		c.w.Header().Set("WWW-Authenticate", basicRealm)
	}
	type item struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	c.writeJSON(e.status, map[string][]item{"errors": {{e.code, e.message}}})
}

// serveLegacy answers /wc-api/vN: the index without authentication,
// everything else after mandatory authentication (§8.2, §8.3).
func (c *call) serveLegacy(version int, route string) {
	m := c.method()
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
	default:
		c.legacyError(&apiError{code: "woocommerce_api_unsupported_method", message: "Unsupported request method", status: 400})
		return
	}
	if route == "/" {
		c.writeJSON(200, map[string]any{"store": map[string]any{"name": "Stand-in shop", "wc_version": "8.9.0"}})
		return
	}
	p, e := c.authLegacy(version)
	if e != nil {
		c.legacyError(e)
		return
	}
	if version == 1 {
		c.legacyError(legacyNoRoute)
		return
	}
	cannot := func(code, msg string) { c.legacyError(&apiError{code: code, message: msg, status: 401}) }
	switch {
	case reLegacyWebhooks.MatchString(route) && (m == "GET" || m == "HEAD"):
		// WooCommerce ≥ 3.3 checks no capability on an empty list.
		c.writeJSON(200, map[string]any{"webhooks": []any{}})
	case reLegacyWebhooks.MatchString(route) && m == "POST":
		data, ok := c.legacyData()
		if !ok {
			c.legacyError(&apiError{code: "woocommerce_api_missing_webhook_data", message: "No webhook data specified to create webhook", status: 400})
			return
		}
		if !p.canManage() {
			cannot("woocommerce_api_user_cannot_create_webhooks", "You do not have permission to create webhooks.")
			return
		}
		_ = data // the stand-in stores nothing: every topic is refused
		c.legacyError(&apiError{code: "woocommerce_api_invalid_webhook_topic", message: "Webhook topic is required and must be valid.", status: 400})
	case reLegacyCount.MatchString(route) && (m == "GET" || m == "HEAD"):
		if !p.canManage() {
			cannot("woocommerce_api_user_cannot_read_webhooks_count", "You do not have permission to read the webhooks count")
			return
		}
		c.writeJSON(200, map[string]any{"count": 0})
	case reLegacyDeliveries.MatchString(route) && (m == "GET" || m == "HEAD"):
		if !p.canManage() {
			cannot("woocommerce_api_user_cannot_read_webhook", "You do not have permission to read this webhook")
			return
		}
		c.legacyNotFound(reLegacyDeliveries.FindStringSubmatch(route)[1])
	case reLegacyWebhook.MatchString(route):
		id := reLegacyWebhook.FindStringSubmatch(route)[1]
		if v, ok := c.query["id"]; ok {
			id = v // query parameters overwrite route captures
		}
		c.legacyItem(p, m, id)
	case c.serveLegacyResource(p, version, m, route): // orders, products, customers, coupons (resources.go)
	default:
		c.legacyError(legacyNoRoute)
	}
}

func (c *call) legacyItem(p *principal, m, id string) {
	cannot := func(code, msg string) { c.legacyError(&apiError{code: code, message: msg, status: 401}) }
	switch m {
	case "GET", "HEAD":
		if !p.canManage() {
			cannot("woocommerce_api_user_cannot_read_webhook", "You do not have permission to read this webhook")
			return
		}
	case "POST", "PUT", "PATCH":
		if _, ok := c.legacyData(); !ok {
			c.legacyError(&apiError{code: "woocommerce_api_missing_webhook_data", message: "No webhook data specified to edit webhook", status: 400})
			return
		}
		if !p.canManage() {
			cannot("woocommerce_api_user_cannot_edit_webhook", "You do not have permission to edit this webhook")
			return
		}
	case "DELETE":
		if !p.canManage() {
			cannot("woocommerce_api_user_cannot_delete_webhook", "You do not have permission to delete this webhook")
			return
		}
	default:
		c.legacyError(legacyNoRoute)
		return
	}
	c.legacyNotFound(id)
}

// legacyNotFound answers the errors for a webhook id that names nothing.
func (c *call) legacyNotFound(id string) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		c.legacyError(&apiError{code: "woocommerce_api_invalid_webhook_id", message: "Invalid shop_webhook ID", status: 404})
		return
	}
	c.legacyError(&apiError{code: "woocommerce_api_no_webhook_found", message: "No webhook found with the ID equal to " + strconv.FormatInt(n, 10), status: 404})
}

// legacyData returns the body's "webhook" object; ok is false when the
// wrapper is missing.
func (c *call) legacyData() (map[string]any, bool) {
	var body map[string]any
	if err := json.Unmarshal(c.body, &body); err != nil {
		return nil, false
	}
	data, ok := body["webhook"]
	if !ok {
		return nil, false
	}
	m, _ := data.(map[string]any)
	return m, true
}
