package wcapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
)

// serveOwn answers this module's own routes in the wc-webhooks/v1
// namespace, authenticated like the webhooks routes (write permission and
// manage_woocommerce):
//
//	POST /wp-json/wc-webhooks/v1/events
//	POST /wp-json/wc-webhooks/v1/webhooks/<id>/deliveries/<delivery_id>/redeliver
func (a *API) serveOwn(c *call) {
	if e := c.verdict.Err; e != nil {
		a.writeRESTError(c, newAuthError(e), nil)
		return
	}
	parts := strings.Split(strings.Trim(c.route, "/"), "/")
	events := len(parts) == 1 && strings.EqualFold(parts[0], "events")
	redeliver := len(parts) == 5 && strings.EqualFold(parts[0], "webhooks") && isDigits(parts[1]) &&
		strings.EqualFold(parts[2], "deliveries") && isDigits(parts[3]) && strings.EqualFold(parts[4], "redeliver")
	if (!events && !redeliver) || c.method != http.MethodPost {
		a.writeRESTError(c, errRESTNoRoute, nil)
		return
	}
	allow := http.Header{"Allow": {"POST"}}
	body, err := c.readBody(a.opts.MaxBodyBytes)
	if err != nil {
		a.writeRESTError(c, bodyTooLarge(a.opts.MaxBodyBytes), allow)
		return
	}
	if !c.verdict.CanManage {
		status := http.StatusUnauthorized
		if c.verdict.Authenticated {
			status = http.StatusForbidden
		}
		a.writeRESTError(c, newError(status, "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."), allow)
		return
	}
	if a.opts.Dispatch == nil {
		a.writeRESTError(c, newError(http.StatusNotImplemented, "wc_webhooks_dispatch_disabled",
			"Webhook delivery is not enabled on this server."), allow)
		return
	}
	if events {
		a.publishEvent(c, body, allow)
		return
	}
	id, _ := parseDigits(parts[1])
	did, _ := parseDigits(parts[3])
	a.redeliver(c, id, did, allow)
}

// eventRequest is the body of POST /events; raw members keep their bytes.
type eventRequest struct {
	Topic      json.RawMessage `json:"topic"`
	ResourceID json.RawMessage `json:"resource_id"`
	Payload    json.RawMessage `json:"payload"`
	Arg        json.RawMessage `json:"arg"`
}

// publishEvent checks an event and appends it. The payload member is sent
// byte for byte; `*.deleted` topics default to {"id":N} and action topics
// to {"action":…,"arg":…}, as WooCommerce builds them.
func (a *API) publishEvent(c *call, body []byte, allow http.Header) {
	var req eventRequest
	if _, jerr := decodeJSONObject(body); jerr != nil || json.Unmarshal(body, &req) != nil {
		e := newError(http.StatusBadRequest, "rest_invalid_json", "Invalid JSON body passed.")
		a.writeRESTError(c, e, allow)
		return
	}
	var topic string
	if len(req.Topic) == 0 || string(req.Topic) == "null" {
		e := newError(http.StatusBadRequest, "rest_missing_callback_param", "Missing parameter(s): topic")
		e.Data = object{{"params", []string{"topic"}}}
		a.writeRESTError(c, e, allow)
		return
	}
	if json.Unmarshal(req.Topic, &topic) != nil || !ValidTopic(strings.ToLower(topic)) {
		a.writeRESTError(c, newError(http.StatusBadRequest, "wc_webhooks_invalid_topic", "Event topic must be a valid webhook topic."), allow)
		return
	}
	topic = strings.ToLower(topic)
	var resourceID int64
	if len(req.ResourceID) > 0 {
		n, ok := toInteger(json.Number(bytes.TrimSpace(req.ResourceID)))
		if !ok || n < 0 {
			a.writeRESTError(c, newError(http.StatusBadRequest, "wc_webhooks_invalid_resource_id", "resource_id must be a non-negative integer."), allow)
			return
		}
		resourceID = n
	}
	payload, e := eventPayload(topic, resourceID, req)
	if e != nil {
		a.writeRESTError(c, e, allow)
		return
	}
	id, err := a.opts.Dispatch.Publish(c.r.Context(), topic, resourceID, payload)
	if err != nil {
		a.opts.Logger.Error("publish event failed")
		a.writeRESTError(c, errRESTServer, allow)
		return
	}
	a.writeREST(c, http.StatusAccepted, object{{"id", id}, {"topic", topic}, {"resource_id", resourceID}}, allow)
}

// eventPayload returns the bytes a receiver gets for the event.
func eventPayload(topic string, resourceID int64, req eventRequest) ([]byte, *apiError) {
	if len(req.Payload) > 0 {
		return []byte(req.Payload), nil
	}
	resource, event := SplitTopic(topic)
	switch {
	case resource == "action":
		var arg any
		if len(req.Arg) > 0 {
			dec := json.NewDecoder(bytes.NewReader(req.Arg))
			dec.UseNumber()
			_ = dec.Decode(&arg)
		}
		data, err := encodePHP(object{{"action", event}, {"arg", arg}})
		if err != nil {
			return nil, newError(http.StatusBadRequest, "wc_webhooks_invalid_payload", "arg cannot be encoded.")
		}
		return data, nil
	case event == "deleted":
		return []byte(`{"id":` + strconv.FormatInt(resourceID, 10) + `}`), nil
	}
	e := newError(http.StatusBadRequest, "rest_missing_callback_param", "Missing parameter(s): payload")
	e.Data = object{{"params", []string{"payload"}}}
	return nil, e
}

// redeliver queues a logged delivery again.
func (a *API) redeliver(c *call, webhookID, deliveryID int64, allow http.Header) {
	ctx := c.r.Context()
	_, found, err := a.loadWebhook(ctx, webhookID)
	if err != nil {
		a.writeRESTError(c, errRESTServer, allow)
		return
	}
	if !found {
		a.writeRESTError(c, newError(http.StatusNotFound, "woocommerce_rest_webhook_invalid_id", "Invalid webhook ID."), allow)
		return
	}
	jobID, err := a.opts.Dispatch.Redeliver(ctx, webhookID, deliveryID)
	switch {
	case isNotFound(err):
		a.writeRESTError(c, newError(http.StatusNotFound, "woocommerce_rest_invalid_id", "Invalid resource ID."), allow)
	case errors.Is(err, dispatcher.ErrRedeliveryUnavailable):
		a.writeRESTError(c, newError(http.StatusConflict, "wc_webhooks_redelivery_unavailable",
			"This delivery can no longer be sent again exactly: its stored request has expired."), allow)
	case err != nil:
		a.opts.Logger.Error("redeliver failed")
		a.writeRESTError(c, errRESTServer, allow)
	default:
		a.writeREST(c, http.StatusAccepted, object{
			{"webhook_id", webhookID}, {"delivery_id", deliveryID}, {"job_id", jobID},
		}, allow)
	}
}
