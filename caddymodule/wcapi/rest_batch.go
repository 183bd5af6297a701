package wcapi

import (
	"net/http"
	"strconv"
)

// batchLimit is WooCommerce's default woocommerce_rest_batch_items_limit.
const batchLimit = 100

// restBatch answers POST/PUT/PATCH /webhooks/batch: creates, then updates,
// then deletes, each item answered on its own.
func (a *API) restBatch(c *call, p *restParams) (int, any, http.Header, error) {
	lists := map[string][]any{}
	total := 0
	for _, key := range []string{"create", "update", "delete"} {
		v, ok := p.get(key)
		if !ok {
			continue
		}
		items, _ := v.([]any)
		lists[key] = items
		total += len(items)
	}
	if total > batchLimit {
		return 0, newError(http.StatusRequestEntityTooLarge, "woocommerce_rest_request_entity_too_large",
			"Unable to accept more than "+strconv.Itoa(batchLimit)+" items for this request."), nil, nil
	}
	out := object{}
	if entries := a.batchCreate(c, lists["create"]); len(entries) > 0 {
		out = append(out, field{"create", entries})
	}
	if entries := a.batchUpdate(c, lists["update"]); len(entries) > 0 {
		out = append(out, field{"update", entries})
	}
	if entries := a.batchDelete(c, lists["delete"]); len(entries) > 0 {
		out = append(out, field{"delete", entries})
	}
	if len(out) == 0 {
		return http.StatusOK, []any{}, nil, nil
	}
	return http.StatusOK, out, nil, nil
}

// batchFailure is a batch entry for an item that failed.
func batchFailure(id any, e *apiError) object {
	return object{{"id", id}, {"error", object{
		{"code", e.Code}, {"message", e.Message}, {"data", object{{"status", e.Status}}},
	}}}
}

func (a *API) batchCreate(c *call, items []any) []object {
	var out []object
	for _, raw := range items {
		item, ok := raw.(map[string]any)
		if !ok {
			out = append(out, batchFailure(0, notAnObject("create")))
			continue
		}
		w, e := a.createOne(c, batchItem{item: item, query: c.query})
		if e != nil {
			out = append(out, batchFailure(0, e))
			continue
		}
		out = append(out, a.renderWebhook(c, w))
	}
	return out
}

func (a *API) batchUpdate(c *call, items []any) []object {
	var out []object
	for _, raw := range items {
		item, ok := raw.(map[string]any)
		if !ok {
			out = append(out, batchFailure(nil, notAnObject("update")))
			continue
		}
		w, e := a.updateOne(c, batchItem{item: item}, true)
		if e != nil {
			out = append(out, batchFailure(item["id"], e))
			continue
		}
		out = append(out, a.renderWebhook(c, w))
	}
	return out
}

func (a *API) batchDelete(c *call, ids []any) []object {
	var out []object
	for _, raw := range ids {
		s, _ := phpString(raw)
		id, _ := toInteger(s)
		if id == 0 {
			continue
		}
		w, e := a.deleteOne(c, id, true)
		if e != nil {
			out = append(out, batchFailure(id, e))
			continue
		}
		out = append(out, a.renderWebhook(c, w))
	}
	return out
}

// notAnObject is the error for a batch item that is not a JSON object.
func notAnObject(list string) *apiError {
	return newError(http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): "+list)
}

// describeRoute answers OPTIONS with the route's namespace and methods.
func (a *API) describeRoute(c *call, r restRoute) object {
	var endpoints []object
	for _, m := range r.methods() {
		args := object{}
		for _, s := range r.args(m) {
			args = append(args, field{s.name, object{{"required", s.required}}})
		}
		endpoints = append(endpoints, object{{"methods", []string{m}}, {"args", args}})
	}
	return object{
		{"namespace", "wc/v" + strconv.Itoa(c.version)},
		{"methods", r.methods()},
		{"endpoints", endpoints},
	}
}
