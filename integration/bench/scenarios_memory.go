package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// memResult is Redis memory per logged delivery.
type memResult struct {
	Deliveries       int     // deliveries appended
	Webhooks         int     // spread over this many webhooks (keep_deliveries each)
	RequestBodyBytes int     // size of the logged request body (a real order.created payload)
	RecordBytes      int     // size of the whole logged record as JSON
	BytesPerDelivery float64 // used_memory growth / Deliveries
}

// runMemory copies a real logged delivery (the newest of the shop's
// order.created webhook, an order payload from the watched writes) into a
// scratch site: Deliveries/25 webhooks, 25 logged deliveries each (the
// default keep_deliveries), and divides the used_memory growth by the
// deliveries appended.
func runMemory(e *env, sz sizes, orderHook int64) (memResult, error) {
	var mr memResult
	ctx := context.Background()
	shop, err := e.store.Site(siteName)
	if err != nil {
		return mr, err
	}
	logged, err := shop.ListDeliveries(ctx, orderHook)
	if err != nil {
		return mr, err
	}
	if len(logged) == 0 {
		return mr, fmt.Errorf("the order.created webhook %d has no logged delivery", orderHook)
	}
	model := logged[0]
	mr.RequestBodyBytes = len(model.RequestBody)
	site, err := e.store.Site("memory-scratch")
	if err != nil {
		return mr, err
	}
	const keep = redisstore.DefaultKeepDeliveries
	mr.Webhooks = (sz.MemDeliveries + keep - 1) / keep
	mr.Deliveries = mr.Webhooks * keep
	if err := seedWebhooks(ctx, site, mr.Webhooks, "order.updated", "https://hooks.example.com/wc"); err != nil {
		return mr, err
	}
	before, err := usedMemory(ctx, e.rdb)
	if err != nil {
		return mr, err
	}
	res, err := site.ListWebhooks(ctx, redisstore.ListQuery{Limit: -1, OrderBy: redisstore.OrderByID})
	if err != nil {
		return mr, err
	}
	for _, w := range res.Items {
		for i := 0; i < keep; i++ {
			d := model
			d.ID, d.WebhookID, d.Created = 0, w.ID, time.Now()
			if err := site.AppendDelivery(ctx, &d, keep); err != nil {
				return mr, fmt.Errorf("append delivery to webhook %d: %w", w.ID, err)
			}
		}
	}
	after, err := usedMemory(ctx, e.rdb)
	if err != nil {
		return mr, err
	}
	mr.BytesPerDelivery = float64(after-before) / float64(mr.Deliveries)
	if b, err := json.Marshal(model); err == nil {
		mr.RecordBytes = len(b)
	}
	return mr, nil
}
