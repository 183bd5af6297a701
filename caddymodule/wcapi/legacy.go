package wcapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// legacyRouteKind names the routes of the legacy webhooks resource.
type legacyRouteKind int

const (
	legacyCollection legacyRouteKind = iota + 1
	legacyCount
	legacyItem
	legacyDeliveries
	legacyDelivery
)

// legacyRoute is a matched legacy route with its captures.
type legacyRoute struct {
	kind       legacyRouteKind
	id         string // {id} or {webhook_id}
	deliveryID string
}

// matchLegacyRoute matches the path below /wc-api/vN. The regexes are
// anchored and case-insensitive; a trailing slash does not match.
func matchLegacyRoute(path string, method string) (legacyRoute, bool) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	head := strings.ToLower(parts[0])
	if !strings.HasPrefix(path, "/") || (head != "webhooks" && head != "webhook") {
		return legacyRoute{}, false
	}
	read := method == http.MethodGet || method == http.MethodHead
	var r legacyRoute
	switch {
	case len(parts) == 1 && head == "webhooks" && (read || method == http.MethodPost):
		r = legacyRoute{kind: legacyCollection}
	case len(parts) == 2 && head == "webhooks" && strings.EqualFold(parts[1], "count") && read:
		r = legacyRoute{kind: legacyCount}
	case len(parts) == 2 && isDigits(parts[1]):
		r = legacyRoute{kind: legacyItem, id: parts[1]}
	case len(parts) == 3 && isDigits(parts[1]) && strings.EqualFold(parts[2], "deliveries") && read:
		r = legacyRoute{kind: legacyDeliveries, id: parts[1]}
	case len(parts) == 4 && isDigits(parts[1]) && strings.EqualFold(parts[2], "deliveries") && isDigits(parts[3]) && read:
		r = legacyRoute{kind: legacyDelivery, id: parts[1], deliveryID: parts[3]}
	default:
		return legacyRoute{}, false
	}
	return r, true
}

func isDigits(s string) bool {
	_, ok := parseDigits(s)
	return ok
}

// legacyMethods are the verbs the legacy server understands.
var legacyMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}

// serveLegacy answers a /wc-api/vN request in the legacy server's order:
// authentication, method, route, arguments, handler. The legacy API always
// requires credentials: the authenticator answers a request without them
// with the legacy error, so a verdict without one has authenticated.
func (a *API) serveLegacy(c *call) {
	if e := c.verdict.Err; e != nil {
		a.writeLegacyError(c, newAuthError(e))
		return
	}
	if !contains(legacyMethods, c.method) {
		a.writeLegacyError(c, newError(http.StatusBadRequest, "woocommerce_api_unsupported_method", "Unsupported request method"))
		return
	}
	route, ok := matchLegacyRoute(c.route, c.method)
	if !ok || c.version < 2 {
		a.writeLegacyError(c, errLegacyNoRoute)
		return
	}
	if id, ok := scalar(c.query, "id"); ok && route.kind == legacyItem {
		route.id = id // query parameters overwrite captures
	}
	if id, ok := scalar(c.query, "webhook_id"); ok && (route.kind == legacyDeliveries || route.kind == legacyDelivery) {
		route.id = id
	}
	status, body, extra, err := a.dispatchLegacy(c, route)
	if err != nil {
		a.opts.Logger.Error("webhook store failed")
		a.writeLegacyError(c, errLegacyServer)
		return
	}
	if e, isErr := body.(*apiError); isErr {
		a.writeLegacyError(c, e)
		return
	}
	a.writeLegacy(c, status, body, extra)
}

func (a *API) dispatchLegacy(c *call, r legacyRoute) (int, any, http.Header, error) {
	switch {
	case r.kind == legacyCollection && c.method == http.MethodPost:
		return a.legacyCreate(c)
	case r.kind == legacyCollection:
		return a.legacyList(c)
	case r.kind == legacyCount:
		return a.legacyCount(c)
	case r.kind == legacyItem && (c.method == http.MethodGet || c.method == http.MethodHead):
		return a.legacyGet(c, r.id)
	case r.kind == legacyItem && c.method == http.MethodDelete:
		return a.legacyDelete(c, r.id)
	case r.kind == legacyItem:
		return a.legacyEdit(c, r.id)
	case r.kind == legacyDeliveries:
		return a.legacyDeliveries(c, r.id)
	}
	return a.legacyDeliveryGet(c, r)
}

// legacyPermission is the message of a missing capability per context.
var legacyPermission = map[string][2]string{
	"read":   {"woocommerce_api_user_cannot_read_webhook", "You do not have permission to read this webhook"},
	"edit":   {"woocommerce_api_user_cannot_edit_webhook", "You do not have permission to edit this webhook"},
	"delete": {"woocommerce_api_user_cannot_delete_webhook", "You do not have permission to delete this webhook"},
}

// validateLegacyID checks an id as the legacy resource's validate_request
// does: a positive integer, an existing webhook, then the capability.
func (a *API) validateLegacyID(c *call, raw, context string) (*redisstore.Webhook, any, error) {
	id, _ := toInteger(strings.TrimSpace(raw))
	if id < 0 {
		id = -id
	}
	if id == 0 {
		return nil, newError(http.StatusNotFound, "woocommerce_api_invalid_webhook_id", "Invalid shop_webhook ID"), nil
	}
	w, found, err := a.loadWebhook(c.r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		return nil, newError(http.StatusNotFound, "woocommerce_api_no_webhook_found",
			"No webhook found with the ID equal to "+strconv.FormatInt(id, 10)), nil
	}
	if !c.verdict.CanManage {
		p := legacyPermission[context]
		return nil, newError(http.StatusUnauthorized, p[0], p[1]), nil
	}
	return w, nil, nil
}

func (a *API) legacyGet(c *call, id string) (int, any, http.Header, error) {
	w, e, err := a.validateLegacyID(c, id, "read")
	if w == nil {
		return 0, e, nil, err
	}
	return http.StatusOK, object{{"webhook", renderLegacyWebhook(w)}}, nil, nil
}

// legacyData decodes the JSON body and returns its "webhook" object; the
// error names what is missing, as the legacy handlers word it.
func (a *API) legacyData(c *call, verb string) (map[string]any, *apiError) {
	body, err := c.readBody(a.opts.MaxBodyBytes)
	if err != nil {
		e := bodyTooLarge(a.opts.MaxBodyBytes)
		e.Code = "woocommerce_api_request_entity_too_large"
		return nil, e
	}
	decoded, ok := decodeJSON(body)
	if !ok || decoded == nil {
		return nil, newError(http.StatusBadRequest, "woocommerce_api_missing_callback_param", "Missing parameter data")
	}
	data, _ := decoded.(map[string]any)
	value, present := data["webhook"]
	if !present || value == nil {
		return nil, newError(http.StatusBadRequest, "woocommerce_api_missing_webhook_data",
			"No webhook data specified to "+verb+" webhook")
	}
	inner, _ := value.(map[string]any) // a list or scalar sets no field, as in PHP
	return inner, nil
}

var legacyWebhookCodes = webhookCodes{
	topic:  "woocommerce_api_invalid_webhook_topic",
	url:    "woocommerce_api_invalid_webhook_delivery_url",
	status: "woocommerce_api_invalid_webhook_status",
}

var legacyWebhookErrors = webhookErrors{
	invalidTopicCreate: "Webhook topic is required and must be valid.",
	invalidTopicEdit:   "Webhook topic must be valid.",
	invalidURL:         "Webhook delivery URL must be a valid URL starting with http:// or https://",
	invalidStatus:      "Webhook status must be valid.",
}

func (a *API) legacyCreate(c *call) (int, any, http.Header, error) {
	data, e := a.legacyData(c, "create")
	if e != nil {
		return 0, e, nil, nil
	}
	if !c.verdict.CanManage {
		return 0, newError(http.StatusUnauthorized, "woocommerce_api_user_cannot_create_webhooks",
			"You do not have permission to create webhooks."), nil, nil
	}
	w, e := a.newWebhook(batchItem{item: data}, redisstore.APIVersionLegacyV3, c.verdict.UserID, legacyWebhookCodes, legacyWebhookErrors)
	if e != nil {
		return 0, e, nil, nil
	}
	if err := a.opts.Store.CreateWebhook(c.r.Context(), w); err != nil {
		return 0, nil, nil, err
	}
	a.pingIfDue(c.r.Context(), w, false)
	return http.StatusCreated, object{{"webhook", renderLegacyWebhook(w)}}, nil, nil
}

func (a *API) legacyEdit(c *call, id string) (int, any, http.Header, error) {
	data, e := a.legacyData(c, "edit")
	if e != nil {
		return 0, e, nil, nil
	}
	w, verr, err := a.validateLegacyID(c, id, "edit")
	if w == nil {
		return 0, verr, nil, err
	}
	before := *w
	if e := a.applyUpdate(w, batchItem{item: data}, legacyWebhookCodes, legacyWebhookErrors, false); e != nil {
		return 0, e, nil, nil
	}
	if err := a.opts.Store.SaveWebhookEdit(c.r.Context(), &before, w); err != nil {
		return 0, nil, nil, err
	}
	a.pingIfDue(c.r.Context(), w, w.DeliveryURL != before.DeliveryURL)
	return http.StatusOK, object{{"webhook", renderLegacyWebhook(w)}}, nil, nil
}

func (a *API) legacyDelete(c *call, id string) (int, any, http.Header, error) {
	w, e, err := a.validateLegacyID(c, id, "delete")
	if w == nil {
		return 0, e, nil, err
	}
	if _, err := a.opts.Store.DeleteWebhook(c.r.Context(), w.ID); err != nil {
		return 0, nil, nil, err
	}
	return http.StatusOK, object{{"message", "Permanently deleted webhook"}}, nil, nil
}

func (a *API) legacyDeliveries(c *call, id string) (int, any, http.Header, error) {
	w, e, err := a.validateLegacyID(c, id, "read")
	if w == nil {
		return 0, e, nil, err
	}
	logs, err := a.opts.Store.ListDeliveries(c.r.Context(), w.ID)
	if err != nil {
		return 0, nil, nil, err
	}
	items := make([]object, 0, len(logs))
	for i := range logs {
		items = append(items, renderLegacyDelivery(&logs[i]))
	}
	return http.StatusOK, object{{"webhook_deliveries", items}}, nil, nil
}

func (a *API) legacyDeliveryGet(c *call, r legacyRoute) (int, any, http.Header, error) {
	w, e, err := a.validateLegacyID(c, r.id, "read")
	if w == nil {
		return 0, e, nil, err
	}
	did, _ := toInteger(r.deliveryID)
	if did == 0 {
		return 0, newError(http.StatusNotFound, "woocommerce_api_invalid_webhook_delivery_id", "Invalid webhook delivery ID."), nil, nil
	}
	d, err := a.opts.Store.GetDelivery(c.r.Context(), w.ID, did)
	if isNotFound(err) {
		return 0, newError(http.StatusBadRequest, "woocommerce_api_invalid_webhook_delivery_id", "Invalid webhook delivery."), nil, nil
	}
	if err != nil {
		return 0, nil, nil, err
	}
	return http.StatusOK, object{{"webhook_delivery", renderLegacyDelivery(d)}}, nil, nil
}
