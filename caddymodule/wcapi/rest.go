package wcapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// serveREST answers a /wp-json/wc/vN (or ?rest_route=) request in
// WordPress's order: authentication, route, body, parameters, permission,
// handler.
func (a *API) serveREST(c *call) {
	if e := c.verdict.Err; e != nil {
		a.writeRESTError(c, newAuthError(e), nil)
		return
	}
	route, ok := matchRESTRoute(c.route)
	if ok && (route.kind == routeDeliveries || route.kind == routeDelivery) && c.version > 3 {
		ok = false
	}
	if !ok || (c.method != http.MethodOptions && !route.allows(c.method)) {
		a.writeRESTError(c, errRESTNoRoute, nil)
		return
	}
	allow := http.Header{"Allow": {strings.Join(route.methods(), ", ")}}
	if c.method == http.MethodOptions {
		a.writeREST(c, http.StatusOK, a.describeRoute(c, route), allow)
		return
	}
	if !c.verdict.CanManage {
		allow = nil // WordPress lists only the methods the user may use: none
	}
	p, perr := a.restParams(c, route)
	if perr != nil {
		a.writeRESTError(c, perr, allow)
		return
	}
	if e := validate(p, route.args(c.method)); e != nil {
		a.writeRESTError(c, e, allow)
		return
	}
	if !c.verdict.CanManage {
		a.writeRESTError(c, permissionError(route, c.method, c.verdict.Authenticated), allow)
		return
	}
	status, body, extra, err := a.dispatchREST(c, route, p)
	if err != nil {
		a.opts.Logger.Error("webhook store failed")
		a.writeRESTError(c, errRESTServer, allow)
		return
	}
	if e, isErr := body.(*apiError); isErr {
		a.writeRESTError(c, e, allow)
		return
	}
	if allow == nil {
		allow = http.Header{}
	}
	for k, v := range extra {
		allow[k] = v
	}
	a.writeREST(c, status, body, allow)
}

// args returns the arguments WordPress validates for method on the route.
func (r restRoute) args(method string) []argSpec {
	switch {
	case r.kind == routeCollection && method == http.MethodPost:
		return createArgs
	case r.kind == routeCollection:
		return listArgs
	case r.kind == routeBatch:
		return editArgs
	case r.kind == routeItem && method == http.MethodDelete:
		return deleteArgs
	case r.kind == routeItem && method != http.MethodGet && method != http.MethodHead:
		return editArgs
	}
	return contextArgs
}

// restParams reads the body (capped) and merges the request's parameters.
func (a *API) restParams(c *call, route restRoute) (*restParams, *apiError) {
	p := &restParams{query: c.query, route: map[string]any{}}
	switch route.kind {
	case routeItem:
		p.route["id"] = strconv.FormatInt(route.id, 10)
	case routeDeliveries:
		p.route["webhook_id"] = strconv.FormatInt(route.id, 10)
	case routeDelivery:
		p.route["webhook_id"] = strconv.FormatInt(route.id, 10)
		p.route["id"] = strconv.FormatInt(route.deliveryID, 10)
	}
	body, err := c.readBody(a.opts.MaxBodyBytes)
	if err != nil {
		return nil, bodyTooLarge(a.opts.MaxBodyBytes)
	}
	switch c.mediaType() {
	case "application/json":
		obj, jerr := decodeJSONObject(body)
		if jerr != nil {
			e := newError(http.StatusBadRequest, "rest_invalid_json", "Invalid JSON body passed.")
			e.Data = object{{"json_error_code", jerr.code}, {"json_error_message", jerr.message}}
			return nil, e
		}
		p.json = obj
	case "application/x-www-form-urlencoded":
		if c.method != http.MethodGet && c.method != http.MethodHead {
			form, _ := parseQuery(string(body))
			p.form = form
		}
	}
	return p, nil
}

// bodyTooLarge is the error for a body over the configured cap.
func bodyTooLarge(limit int64) *apiError {
	return newError(http.StatusRequestEntityTooLarge, "woocommerce_rest_request_entity_too_large",
		"Unable to accept a request body larger than "+strconv.FormatInt(limit, 10)+" bytes.")
}

// permissionError is the permission_callback failure of a route: 401 when
// nobody is logged in, 403 otherwise.
func permissionError(r restRoute, method string, authenticated bool) *apiError {
	status := http.StatusUnauthorized
	if authenticated {
		status = http.StatusForbidden
	}
	switch {
	case r.kind == routeCollection && method == http.MethodPost:
		return newError(status, "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.")
	case r.kind == routeCollection || r.kind == routeDeliveries:
		return newError(status, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
	case r.kind == routeBatch:
		return newError(status, "woocommerce_rest_cannot_batch", "Sorry, you are not allowed to batch manipulate this resource.")
	case r.kind == routeItem && method == http.MethodDelete:
		return newError(status, "woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource.")
	case r.kind == routeItem && method != http.MethodGet && method != http.MethodHead:
		return newError(status, "woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource.")
	}
	return newError(status, "woocommerce_rest_cannot_view", "Sorry, you cannot view this resource.")
}

// dispatchREST runs the handler of a route. body is the response body or an
// *apiError; err is a storage failure.
func (a *API) dispatchREST(c *call, r restRoute, p *restParams) (status int, body any, extra http.Header, err error) {
	switch {
	case r.kind == routeCollection && c.method == http.MethodPost:
		return a.restCreate(c, p)
	case r.kind == routeCollection:
		return a.restList(c, p)
	case r.kind == routeBatch:
		return a.restBatch(c, p)
	case r.kind == routeItem && c.method == http.MethodDelete:
		return a.restDelete(c, p)
	case r.kind == routeItem && (c.method == http.MethodGet || c.method == http.MethodHead):
		return a.restGet(c, p)
	case r.kind == routeItem:
		return a.restUpdate(c, p)
	case r.kind == routeDeliveries:
		return a.restDeliveries(c, r)
	}
	return a.restDelivery(c, r)
}

// idParam reads the effective id parameter (a JSON or query id overrides
// the path's, as in WordPress).
func idParam(p paramSource) int64 {
	v, _ := p.get("id")
	s, _ := phpString(v)
	n, _ := toInteger(s)
	return n
}

func (a *API) restGet(c *call, p *restParams) (int, any, http.Header, error) {
	id := idParam(p)
	if id <= 0 {
		return 0, newError(http.StatusNotFound, "woocommerce_rest_shop_webhook_invalid_id", "Invalid ID."), nil, nil
	}
	w, found, err := a.loadWebhook(c.r.Context(), id)
	if err != nil {
		return 0, nil, nil, err
	}
	if !found {
		return 0, newError(http.StatusNotFound, "woocommerce_rest_shop_webhook_invalid_id", "ID is invalid."), nil, nil
	}
	return http.StatusOK, a.renderWebhook(c, w), nil, nil
}

func (a *API) restCreate(c *call, p paramSource) (int, any, http.Header, error) {
	w, e := a.createOne(c, p)
	if e != nil {
		return 0, e, nil, nil
	}
	loc := c.restURL(c.namespace() + "/webhooks/" + strconv.FormatInt(w.ID, 10))
	return http.StatusCreated, a.renderWebhook(c, w), http.Header{"Location": {loc}}, nil
}

// createOne creates a webhook from REST parameters. A storage failure comes
// back as errRESTServer.
func (a *API) createOne(c *call, p paramSource) (*redisstore.Webhook, *apiError) {
	if v, ok := p.get("id"); ok {
		if _, nonEmpty := phpString(v); nonEmpty {
			return nil, newError(http.StatusBadRequest, "woocommerce_rest_shop_webhook_exists", "Cannot create existing shop_webhook.")
		}
	}
	w, e := a.newWebhook(p, "wp_api_v"+strconv.Itoa(c.version), c.verdict.UserID, restWebhookCodes, restWebhookErrors)
	if e != nil {
		return nil, e
	}
	if err := a.opts.Store.CreateWebhook(c.r.Context(), w); err != nil {
		a.opts.Logger.Error("create webhook failed")
		return nil, errRESTServer
	}
	a.pingIfDue(c.r.Context(), w, false)
	return w, nil
}

func (a *API) restUpdate(c *call, p paramSource) (int, any, http.Header, error) {
	w, e := a.updateOne(c, p, false)
	if e != nil {
		return 0, e, nil, nil
	}
	return http.StatusOK, a.renderWebhook(c, w), nil, nil
}

// updateOne updates the webhook the parameters name. checkStatus is set for
// batch items, which WordPress does not enum-validate.
func (a *API) updateOne(c *call, p paramSource, checkStatus bool) (*redisstore.Webhook, *apiError) {
	w, found, err := a.loadWebhook(c.r.Context(), idParam(p))
	if err != nil {
		return nil, errRESTServer
	}
	if !found {
		return nil, newError(http.StatusBadRequest, "woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.")
	}
	before := *w
	if e := a.applyUpdate(w, p, restWebhookCodes, restWebhookErrors, checkStatus); e != nil {
		return nil, e
	}
	if err := a.opts.Store.SaveWebhookEdit(c.r.Context(), &before, w); err != nil {
		return nil, errRESTServer
	}
	a.pingIfDue(c.r.Context(), w, w.DeliveryURL != before.DeliveryURL)
	return w, nil
}

func (a *API) restDelete(c *call, p *restParams) (int, any, http.Header, error) {
	force := false
	if v, ok := p.get("force"); ok {
		force, _ = toBoolean(v)
	}
	w, e := a.deleteOne(c, idParam(p), force)
	if e != nil {
		return 0, e, nil, nil
	}
	return http.StatusOK, a.renderWebhook(c, w), nil, nil
}

// deleteOne deletes a webhook (force is required) and returns it as it was.
func (a *API) deleteOne(c *call, id int64, force bool) (*redisstore.Webhook, *apiError) {
	if !force {
		return nil, newError(http.StatusNotImplemented, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.")
	}
	w, found, err := a.loadWebhook(c.r.Context(), id)
	if err != nil {
		return nil, errRESTServer
	}
	if !found {
		return nil, newError(http.StatusNotFound, "woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.")
	}
	deleted, err := a.opts.Store.DeleteWebhook(c.r.Context(), w.ID)
	if err != nil {
		return nil, errRESTServer
	}
	if !deleted {
		return nil, newError(http.StatusInternalServerError, "woocommerce_rest_cannot_delete", "The shop_webhook cannot be deleted.")
	}
	return w, nil
}

func (a *API) restDeliveries(c *call, r restRoute) (int, any, http.Header, error) {
	_, found, err := a.loadWebhook(c.r.Context(), r.id)
	if err != nil {
		return 0, nil, nil, err
	}
	if !found {
		return 0, newError(http.StatusNotFound, "woocommerce_rest_webhook_invalid_id", "Invalid webhook ID."), nil, nil
	}
	logs, err := a.opts.Store.ListDeliveries(c.r.Context(), r.id)
	if err != nil {
		return 0, nil, nil, err
	}
	items := make([]object, 0, len(logs))
	for i := range logs {
		items = append(items, a.renderDelivery(c, &logs[i]))
	}
	return http.StatusOK, items, nil, nil
}

func (a *API) restDelivery(c *call, r restRoute) (int, any, http.Header, error) {
	_, found, err := a.loadWebhook(c.r.Context(), r.id)
	if err != nil {
		return 0, nil, nil, err
	}
	if !found {
		return 0, newError(http.StatusNotFound, "woocommerce_rest_webhook_invalid_id", "Invalid webhook ID."), nil, nil
	}
	d, err := a.opts.Store.GetDelivery(c.r.Context(), r.id, r.deliveryID)
	if err != nil || r.deliveryID <= 0 {
		if err == nil || isNotFound(err) {
			return 0, newError(http.StatusNotFound, "woocommerce_rest_invalid_id", "Invalid resource ID."), nil, nil
		}
		return 0, nil, nil, err
	}
	return http.StatusOK, a.renderDelivery(c, d), nil, nil
}
