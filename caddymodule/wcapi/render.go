package wcapi

import (
	"slices"
	"strconv"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

const (
	restDateLayout   = "2006-01-02T15:04:05"
	legacyDateLayout = "2006-01-02T15:04:05Z"
)

// itemMethods are the methods a manager may use on one webhook, as
// WordPress ≥ 6.7 advertises them in targetHints.
var itemMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// restURL returns the REST URL of route ("/wc/v3/webhooks/5") in the form
// the request used: pretty /wp-json/ links, or ?rest_route= links.
func (c *call) restURL(route string) string {
	if c.viaQuery {
		return c.home + "/?rest_route=" + route
	}
	return c.home + "/wp-json" + route
}

// namespace returns "/wc/vN".
func (c *call) namespace() string {
	return "/wc/v" + strconv.Itoa(c.version)
}

// restDate renders a time as WordPress does: "null" for a zero time.
func restDate(t time.Time, loc *time.Location) any {
	if t.IsZero() {
		return nil
	}
	return t.In(loc).Format(restDateLayout)
}

// renderWebhook renders a webhook as the REST API of c's version does.
func (a *API) renderWebhook(c *call, w *redisstore.Webhook) object {
	o := webhookFields(w)
	if c.version == 1 {
		o = append(o,
			field{"date_created", restDate(w.Created, time.UTC)},
			field{"date_modified", restDate(w.Modified, time.UTC)})
	} else {
		o = append(o,
			field{"date_created", restDate(w.Created, a.opts.Location)},
			field{"date_created_gmt", restDate(w.Created, time.UTC)},
			field{"date_modified", restDate(w.Modified, a.opts.Location)},
			field{"date_modified_gmt", restDate(w.Modified, time.UTC)})
	}
	collection := c.namespace() + "/webhooks"
	self := object{{"href", c.restURL(collection + "/" + strconv.FormatInt(w.ID, 10))}}
	self = append(self, field{"targetHints", object{{"allow", itemMethods}}})
	return append(o, field{"_links", object{
		{"self", []object{self}},
		{"collection", []object{{{"href", c.restURL(collection)}}}},
	}})
}

// renderDelivery renders a logged delivery for the REST API of c's version.
func (a *API) renderDelivery(c *call, d *redisstore.Delivery) object {
	o := deliveryFields(d)
	if c.version == 1 {
		o = append(o, field{"date_created", restDate(d.Created, time.UTC)})
	} else {
		o = append(o,
			field{"date_created", restDate(d.Created, a.opts.Location)},
			field{"date_created_gmt", restDate(d.Created, time.UTC)})
	}
	webhook := c.namespace() + "/webhooks/" + strconv.FormatInt(d.WebhookID, 10)
	return append(o, field{"_links", object{
		{"self", []object{{{"href", c.restURL(webhook + "/deliveries/" + strconv.FormatInt(d.ID, 10))}}}},
		{"collection", []object{{{"href", c.restURL(webhook + "/deliveries")}}}},
		{"up", []object{{{"href", c.restURL(webhook)}}}},
	}})
}

// deliveryFields are the members every API version shares.
func deliveryFields(d *redisstore.Delivery) object {
	return object{
		{"id", d.ID},
		{"duration", d.Duration},
		{"summary", d.Summary},
		{"request_method", d.RequestMethod},
		{"request_url", d.RequestURL},
		{"request_headers", headerObject(d.RequestHeaders)},
		{"request_body", d.RequestBody},
		{"response_code", d.ResponseCode},
		{"response_message", d.ResponseMessage},
		{"response_headers", headerObject(d.ResponseHeaders)},
		{"response_body", d.ResponseBody},
	}
}

// requestHeaderOrder is the order WooCommerce sends delivery headers in;
// other headers follow in name order.
var requestHeaderOrder = []string{
	"User-Agent", "Content-Type", "X-WC-Webhook-Source", "X-WC-Webhook-Topic",
	"X-WC-Webhook-Resource", "X-WC-Webhook-Event", "X-WC-Webhook-Signature",
	"X-WC-Webhook-ID", "X-WC-Webhook-Delivery-ID",
}

// headerObject renders logged headers; the two id headers are numbers, as
// in WooCommerce's documented examples.
func headerObject(h map[string]string) object {
	o := object{}
	done := map[string]bool{}
	add := func(k string) {
		v := h[k]
		done[k] = true
		if k == "X-WC-Webhook-ID" || k == "X-WC-Webhook-Delivery-ID" {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				o = append(o, field{k, n})
				return
			}
		}
		o = append(o, field{k, v})
	}
	for _, k := range requestHeaderOrder {
		if _, ok := h[k]; ok {
			add(k)
		}
	}
	rest := make([]string, 0, len(h))
	for k := range h {
		if !done[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		add(k)
	}
	return o
}

// renderLegacyWebhook renders a webhook as the legacy v2/v3 API does
// (without the {"webhook":…} wrapper).
func renderLegacyWebhook(w *redisstore.Webhook) object {
	return append(webhookFields(w),
		field{"created_at", legacyDate(w.Created)},
		field{"updated_at", legacyDate(w.Modified)})
}

// webhookFields are the members every API version starts a webhook with.
func webhookFields(w *redisstore.Webhook) object {
	resource, event := SplitTopic(w.Topic)
	return object{
		{"id", w.ID},
		{"name", w.Name},
		{"status", w.Status},
		{"topic", w.Topic},
		{"resource", resource},
		{"event", event},
		{"hooks", TopicHooks(w.Topic)},
		{"delivery_url", w.DeliveryURL},
	}
}

// legacyDate renders UTC with Z; a zero time is the epoch, as WooCommerce
// renders an unset date.
func legacyDate(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return t.UTC().Format(legacyDateLayout)
}

// renderLegacyDelivery renders a logged delivery for the legacy API.
func renderLegacyDelivery(d *redisstore.Delivery) object {
	return append(deliveryFields(d), field{"created_at", legacyDate(d.Created)})
}
