package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultKeepDeliveries is how many deliveries AppendDelivery keeps per
// webhook when keep <= 0, as WooCommerce did before 3.3.
const DefaultKeepDeliveries = 25

// appendDeliveryScript: KEYS[1] = dl:seq, KEYS[2] = wh:<id>, KEYS[3] =
// dl:<id>, KEYS[4] = dl:<id>:rec. ARGV: record JSON, keep.
// Returns the delivery id, or 0 when the webhook does not exist.
var appendDeliveryScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local id = redis.call('INCR', KEYS[1])
local sid = string.format('%d', id)
redis.call('ZADD', KEYS[3], id, sid)
redis.call('HSET', KEYS[4], sid, ARGV[1])
local keep = tonumber(ARGV[2])
local n = redis.call('ZCARD', KEYS[3])
if n > keep then
  local old = redis.call('ZPOPMIN', KEYS[3], n - keep)
  for i = 1, #old, 2 do redis.call('HDEL', KEYS[4], old[i]) end
end
return id
`)

// listDeliveriesScript: KEYS[1] = dl:<id>, KEYS[2] = dl:<id>:rec.
// Returns {id1, record1, ...}, newest first.
var listDeliveriesScript = redis.NewScript(`
local out = {}
for _, sid in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, -1)) do
  local d = redis.call('HGET', KEYS[2], sid)
  if d then out[#out + 1] = sid; out[#out + 1] = d end
end
return out
`)

// AppendDelivery logs a delivery attempt of webhook d.WebhookID. It assigns
// d.ID from the site's delivery counter (ids start at 1 and grow), sets
// d.Created to now when zero (UTC, microseconds), and keeps only the newest
// keep deliveries of the webhook (DefaultKeepDeliveries, 25, when keep <= 0),
// all in one Lua script. ErrNotFound when the webhook does not exist, so a
// deleted webhook never regains a log.
func (st *Site) AppendDelivery(ctx context.Context, d *Delivery, keep int) error {
	if d == nil {
		return errors.New("redisstore: append delivery: delivery is nil")
	}
	if d.WebhookID <= 0 {
		return ErrNotFound
	}
	if keep <= 0 {
		keep = DefaultKeepDeliveries
	}
	rec, err := encodeDelivery(d)
	if err != nil {
		return fmt.Errorf("redisstore: %w", err)
	}
	wid := itoa(d.WebhookID)
	id, err := appendDeliveryScript.Run(ctx, st.store.rdb,
		[]string{st.key("dl", "seq"), st.whKey(d.WebhookID), st.key("dl", wid), st.key("dl", wid, "rec")},
		rec, keep).Int64()
	if err != nil {
		return fmt.Errorf("redisstore: append delivery of webhook %d: %w", d.WebhookID, err)
	}
	if id == 0 {
		return ErrNotFound
	}
	d.ID = id
	return nil
}

// ListDeliveries returns the logged deliveries of the webhook, newest
// first; an empty list when there are none (whether or not the webhook
// exists: callers check the webhook themselves).
func (st *Site) ListDeliveries(ctx context.Context, webhookID int64) ([]Delivery, error) {
	out := []Delivery{}
	if webhookID <= 0 {
		return out, nil
	}
	wid := itoa(webhookID)
	res, err := listDeliveriesScript.Run(ctx, st.store.rdb,
		[]string{st.key("dl", wid), st.key("dl", wid, "rec")}).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redisstore: list deliveries of webhook %d: %w", webhookID, err)
	}
	for i := 0; i+1 < len(res); i += 2 {
		d, err := decodeDelivery(webhookID, res[i], res[i+1])
		if err != nil {
			return nil, err
		}
		out = append(out, *d)
	}
	return out, nil
}

// GetDelivery returns one logged delivery of the webhook; ErrNotFound when
// it does not exist, was trimmed, or belongs to another webhook.
func (st *Site) GetDelivery(ctx context.Context, webhookID, deliveryID int64) (*Delivery, error) {
	if webhookID <= 0 || deliveryID <= 0 {
		return nil, ErrNotFound
	}
	sid := itoa(deliveryID)
	s, err := st.store.rdb.HGet(ctx, st.key("dl", itoa(webhookID), "rec"), sid).Result()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: get delivery %d of webhook %d: %w", deliveryID, webhookID, err)
	}
	return decodeDelivery(webhookID, sid, s)
}

func decodeDelivery(webhookID int64, sid, s string) (*Delivery, error) {
	id, err := strconv.ParseInt(sid, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("redisstore: malformed delivery id %q of webhook %d", sid, webhookID)
	}
	var d Delivery
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return nil, fmt.Errorf("redisstore: decode delivery %d of webhook %d: %w", id, webhookID, err)
	}
	d.ID = id
	d.WebhookID = webhookID
	return &d, nil
}

// encodeDelivery encodes a delivery record as AppendDelivery stores it.
func encodeDelivery(d *Delivery) (string, error) {
	if d == nil {
		return "", nil
	}
	if d.Created.IsZero() {
		d.Created = time.Now()
	}
	d.Created = normTime(d.Created)
	rec := *d
	rec.ID = 0
	b, err := json.Marshal(&rec)
	if err != nil {
		return "", fmt.Errorf("encode delivery: %w", err)
	}
	return string(b), nil
}
