package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// Event is one topic event of a site.
type Event struct {
	// Topic is the WooCommerce topic, e.g. "order.created" or
	// "action.woocommerce_add_to_cart" (compared exactly with webhook topics).
	Topic string
	// ResourceID is the id of the resource the event is about (0 for none).
	ResourceID int64
	// Payload is the body to deliver, forwarded byte for byte: the REST
	// resource for created/updated/restored, DeletedPayload for deleted,
	// ActionPayload for action topics.
	Payload []byte
	// Time is when the event happened; zero means now.
	Time time.Time
	// APIVersion, when set, limits the event to the webhooks of that API
	// version (wp_api_v1, wp_api_v2, wp_api_v3 or legacy_v3), whose payload
	// it carries. Default "": every webhook of the topic.
	APIVersion string
}

// ErrRedeliveryUnavailable is returned when a logged delivery can no
// longer be sent again exactly (its job expired and the logged body was
// capped or the secret changed).
var ErrRedeliveryUnavailable = errors.New("delivery can no longer be redelivered")

// Publish appends ev to the site's event stream with one XADD and returns
// its stream id. When it returns the event is in Redis (durable as far as
// Redis's AOF setting makes it). Dispatchers serving the site fan it out.
func Publish(ctx context.Context, site *redisstore.Site, ev Event) (string, error) {
	if site == nil {
		return "", errors.New("dispatcher: publish: no site")
	}
	if ev.Topic == "" || strings.ContainsAny(ev.Topic, " \t\r\n") {
		return "", fmt.Errorf("dispatcher: publish: invalid topic %q", ev.Topic)
	}
	id, err := site.PublishEventFor(ctx, ev.Topic, ev.ResourceID, ev.Payload, ev.Time, ev.APIVersion)
	if err != nil {
		return "", fmt.Errorf("dispatcher: publish: %w", err)
	}
	return id, nil
}

// Ping queues a ping of the webhook (form POST webhook_id=<id>, sent
// asynchronously by a dispatcher; an exact 200 clears pending_delivery).
// It returns the job id.
func Ping(ctx context.Context, site *redisstore.Site, webhookID int64) (int64, error) {
	if site == nil || webhookID <= 0 {
		return 0, errors.New("dispatcher: ping: no site or webhook")
	}
	id, err := site.EnqueueJob(ctx, redisstore.Job{Kind: redisstore.JobPing, WebhookID: webhookID})
	if err != nil {
		return 0, fmt.Errorf("dispatcher: ping webhook %d: %w", webhookID, err)
	}
	return id, nil
}

// Redeliver queues a new delivery of a logged delivery of the webhook,
// with the same body, topic and webhook-id header (a new delivery log
// entry and X-WC-Webhook-Delivery-ID). It uses the job while retained
// (Options.JobRetention), else the log entry when its body is complete
// (its logged signature still verifies with the current secret). Errors:
// redisstore.ErrNotFound, ErrRedeliveryUnavailable.
func Redeliver(ctx context.Context, site *redisstore.Site, webhookID, deliveryID int64) (int64, error) {
	if site == nil {
		return 0, errors.New("dispatcher: redeliver: no site")
	}
	d, err := site.GetDelivery(ctx, webhookID, deliveryID)
	if err != nil {
		return 0, fmt.Errorf("dispatcher: redeliver %d: %w", deliveryID, err)
	}
	job, err := site.JobForDelivery(ctx, webhookID, deliveryID)
	switch {
	case err == nil && job.WebhookID == webhookID && job.Kind == redisstore.JobDelivery:
	case err == nil || errors.Is(err, redisstore.ErrNotFound):
		job, err = jobFromLog(ctx, site, d)
		if err != nil {
			return 0, err
		}
	default:
		return 0, fmt.Errorf("dispatcher: redeliver %d: %w", deliveryID, err)
	}
	id, err := site.EnqueueJob(ctx, redisstore.Job{
		Kind: redisstore.JobDelivery, WebhookID: webhookID, Topic: job.Topic,
		ResourceID: job.ResourceID, Payload: job.Payload, EventID: job.EventID,
		EventTime: job.EventTime, MessageID: job.MessageID,
	})
	if err != nil {
		return 0, fmt.Errorf("dispatcher: redeliver %d: %w", deliveryID, err)
	}
	return id, nil
}

// jobFromLog rebuilds a job from a logged delivery whose body is complete.
func jobFromLog(ctx context.Context, site *redisstore.Site, d *redisstore.Delivery) (*redisstore.Job, error) {
	w, err := site.GetWebhook(ctx, d.WebhookID)
	if err != nil {
		return nil, fmt.Errorf("dispatcher: redeliver %d: %w", d.ID, err)
	}
	body := []byte(d.RequestBody)
	if d.RequestHeaders[hdrSignature] != WooSignature(body, w.Secret) || d.RequestHeaders[hdrStdID] == "" {
		return nil, ErrRedeliveryUnavailable
	}
	return &redisstore.Job{
		Topic: d.RequestHeaders[hdrTopic], Payload: body, MessageID: d.RequestHeaders[hdrStdID],
	}, nil
}

// splitTopic splits a topic as WooCommerce does: resource before the
// first dot, event the part after it up to the next dot.
func splitTopic(topic string) (resource, event string) {
	parts := strings.Split(topic, ".")
	resource = parts[0]
	if len(parts) > 1 {
		event = parts[1]
	}
	return resource, event
}
