package wcapi

import (
	"context"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// Dispatch hands work to the webhook dispatcher of one site. Every method
// only enqueues: nothing waits for a receiver.
type Dispatch interface {
	// Publish appends a topic event whose payload bytes are sent as they are.
	Publish(ctx context.Context, topic string, resourceID int64, payload []byte) (eventID string, err error)
	// Ping queues the creation ping of a webhook.
	Ping(ctx context.Context, webhookID int64) error
	// Redeliver queues a logged delivery again, with its webhook-id. It
	// returns redisstore.ErrNotFound or dispatcher.ErrRedeliveryUnavailable
	// (wrapped) when the delivery cannot be sent again.
	// The job id it returns names the queued delivery job (its attempts get
	// delivery log ids of their own).
	Redeliver(ctx context.Context, webhookID, deliveryID int64) (jobID int64, err error)
}

// pingIfDue queues a ping as WooCommerce's data store does on every save:
// when the webhook is active and still awaits its first successful ping,
// or when its delivery URL has just changed. A failure to queue is logged,
// never answered: the API response does not depend on the ping.
func (a *API) pingIfDue(ctx context.Context, w *redisstore.Webhook, urlChanged bool) {
	if a.opts.Dispatch == nil || w.Status != redisstore.StatusActive || !(w.PendingDelivery || urlChanged) {
		return
	}
	if err := a.opts.Dispatch.Ping(ctx, w.ID); err != nil {
		a.opts.Logger.Error("queue ping failed")
	}
}
