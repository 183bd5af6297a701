package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

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

// encodeDelivery encodes a delivery record as AppendDelivery stores it:
// the bytes json.Marshal writes for it (without the id), built directly,
// as this runs once per delivery.
func encodeDelivery(d *Delivery) (string, error) {
	if d == nil {
		return "", nil
	}
	if d.Created.IsZero() {
		d.Created = time.Now()
	}
	d.Created = normTime(d.Created)
	created, err := d.Created.MarshalJSON()
	if err != nil {
		return "", fmt.Errorf("encode delivery: %w", err)
	}
	n := 256 + len(d.Duration) + len(d.Summary) + len(d.RequestURL) + len(d.RequestBody) +
		len(d.ResponseMessage) + len(d.ResponseBody) + 64*(len(d.RequestHeaders)+len(d.ResponseHeaders))
	b := make([]byte, 0, n)
	b = append(b, `{"id":0,"webhook_id":`...)
	b = strconv.AppendInt(b, d.WebhookID, 10)
	b = appendField(b, "duration", d.Duration)
	b = appendField(b, "summary", d.Summary)
	b = appendField(b, "request_method", d.RequestMethod)
	b = appendField(b, "request_url", d.RequestURL)
	b = appendMap(append(b, `,"request_headers":`...), d.RequestHeaders)
	b = appendField(b, "request_body", d.RequestBody)
	b = appendField(b, "response_code", d.ResponseCode)
	b = appendField(b, "response_message", d.ResponseMessage)
	b = appendMap(append(b, `,"response_headers":`...), d.ResponseHeaders)
	b = appendField(b, "response_body", d.ResponseBody)
	b = append(append(b, `,"created":`...), created...)
	return string(append(b, '}')), nil
}

// appendField appends `,"name":<v as a JSON string>`.
func appendField(b []byte, name, v string) []byte {
	b = append(append(append(b, ',', '"'), name...), '"', ':')
	return appendJSONString(b, v)
}

// appendMap appends m as encoding/json does: keys sorted, null for nil.
func appendMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}

// appendJSONString appends s quoted exactly as encoding/json does (HTML
// characters escaped, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(append(b, s[start:i]...), `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(append(b, s[start:]...), '"')
}
