package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// QueueGroup is the consumer group of the event and work streams.
const QueueGroup = "wcwh"

// Event is one entry of a site's event stream.
type Event struct {
	EntryID    string // stream entry id
	Topic      string
	ResourceID int64
	Payload    []byte
	Time       time.Time
	// APIVersion, when set, limits the event to webhooks of that API
	// version (the payload is that version's representation).
	APIVersion string
}

// QueuedJob is one entry of a site's work stream.
type QueuedJob struct {
	EntryID   string
	JobID     int64
	WebhookID int64
}

func (st *Site) evKey() string    { return st.key("ev") }
func (st *Site) readyKey() string { return st.key("dq", "ready") }
func (st *Site) sitesKey() string { return st.store.prefix + ":sites" }

// PublishEvent appends an event for every webhook of its topic to the
// site's event stream with one XADD and returns its entry id. The payload
// is stored as given, byte for byte.
func (st *Site) PublishEvent(ctx context.Context, topic string, resourceID int64, payload []byte, t time.Time) (string, error) {
	return st.PublishEventFor(ctx, topic, resourceID, payload, t, "")
}

// PublishEventFor is PublishEvent for the webhooks of one API version
// (wp_api_v1, wp_api_v2, wp_api_v3, legacy_v3; "" means all).
func (st *Site) PublishEventFor(ctx context.Context, topic string, resourceID int64, payload []byte, t time.Time, apiVersion string) (string, error) {
	if topic == "" {
		return "", errors.New("redisstore: publish event: topic is empty")
	}
	if t.IsZero() {
		t = time.Now()
	}
	values := []any{"t", topic, "r", itoa(resourceID), "p", payload, "ts", itoa(t.UnixMilli())}
	if apiVersion != "" {
		values = append(values, "v", apiVersion)
	}
	id, err := st.store.rdb.XAdd(ctx, &redis.XAddArgs{Stream: st.evKey(), Values: values}).Result()
	if err != nil {
		return "", fmt.Errorf("redisstore: publish event %s: %w", topic, err)
	}
	return id, nil
}

// EnsureQueues creates the consumer groups of the site's event and work
// streams (and the streams) when they are missing, and adds the site to the
// store's set of known sites.
func (st *Site) EnsureQueues(ctx context.Context) error {
	for _, k := range []string{st.evKey(), st.readyKey()} {
		err := st.store.rdb.XGroupCreateMkStream(ctx, k, QueueGroup, "0").Err()
		if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
			return fmt.Errorf("redisstore: create consumer group on %s: %w", k, err)
		}
	}
	if err := st.store.rdb.SAdd(ctx, st.sitesKey(), st.name).Err(); err != nil {
		return fmt.Errorf("redisstore: register site: %w", err)
	}
	return nil
}

// KnownSites returns the names of the sites registered by EnsureQueues.
func (s *Store) KnownSites(ctx context.Context) ([]string, error) {
	names, err := s.rdb.SMembers(ctx, s.prefix+":sites").Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: list known sites: %w", err)
	}
	return names, nil
}

// ReadQueues reads new entries of the site's event and work streams for
// consumer with one XREADGROUP (COUNT count per stream, BLOCK block; a
// negative block reads without blocking, 0 would block forever). A missing
// group is recreated. Nothing read is no error.
func (st *Site) ReadQueues(ctx context.Context, consumer string, count int, block time.Duration) ([]Event, []QueuedJob, error) {
	res, err := st.store.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group:    QueueGroup,
		Consumer: consumer,
		Streams:  []string{st.evKey(), st.readyKey(), ">", ">"},
		Count:    int64(count),
		Block:    block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil, nil
	}
	if err != nil && strings.Contains(err.Error(), "NOGROUP") {
		if eerr := st.EnsureQueues(ctx); eerr != nil {
			return nil, nil, eerr
		}
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("redisstore: read queues of site %s: %w", st.name, err)
	}
	var evs []Event
	var jobs []QueuedJob
	for _, s := range res {
		if s.Stream == st.evKey() {
			evs = append(evs, decodeEvents(s.Messages)...)
		} else {
			jobs = append(jobs, decodeJobs(s.Messages)...)
		}
	}
	return evs, jobs, nil
}

// ClaimStale takes over entries of both streams that another consumer (or
// this one) has held longer than minIdle, with XAUTOCLAIM (at most count
// per stream). Entries deleted meanwhile are dropped by Redis.
func (st *Site) ClaimStale(ctx context.Context, consumer string, minIdle time.Duration, count int) ([]Event, []QueuedJob, error) {
	var evs []Event
	var jobs []QueuedJob
	for _, k := range []string{st.evKey(), st.readyKey()} {
		msgs, _, err := st.store.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: k, Group: QueueGroup, Consumer: consumer,
			MinIdle: minIdle, Start: "0-0", Count: int64(count),
		}).Result()
		if err != nil && strings.Contains(err.Error(), "NOGROUP") {
			return nil, nil, st.EnsureQueues(ctx)
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, nil, fmt.Errorf("redisstore: claim stale entries of %s: %w", k, err)
		}
		if k == st.evKey() {
			evs = append(evs, decodeEvents(msgs)...)
		} else {
			jobs = append(jobs, decodeJobs(msgs)...)
		}
	}
	return evs, jobs, nil
}

func decodeEvents(msgs []redis.XMessage) []Event {
	out := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		ev := Event{EntryID: m.ID}
		ev.Topic, _ = m.Values["t"].(string)
		ev.APIVersion, _ = m.Values["v"].(string)
		if s, ok := m.Values["r"].(string); ok {
			ev.ResourceID, _ = strconv.ParseInt(s, 10, 64)
		}
		if s, ok := m.Values["p"].(string); ok {
			ev.Payload = []byte(s)
		}
		if s, ok := m.Values["ts"].(string); ok {
			if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
				ev.Time = time.UnixMilli(ms).UTC()
			}
		}
		out = append(out, ev)
	}
	return out
}

func decodeJobs(msgs []redis.XMessage) []QueuedJob {
	out := make([]QueuedJob, 0, len(msgs))
	for _, m := range msgs {
		q := QueuedJob{EntryID: m.ID}
		if s, ok := m.Values["j"].(string); ok {
			q.JobID, _ = strconv.ParseInt(s, 10, 64)
		}
		if s, ok := m.Values["w"].(string); ok {
			q.WebhookID, _ = strconv.ParseInt(s, 10, 64)
		}
		out = append(out, q)
	}
	return out
}

// luaFanOut holds fanOutOne: ek = ev, rk = dq:ready, sk = dq:seq, mp the
// message id prefix, ws the webhook ids, now the server time in ms. It
// acks the event and creates one queued job per webhook (ids from one
// INCRBY), and returns the number of jobs, or -1 when the event was no
// longer pending (another consumer fanned it out already). The caller
// trims acknowledged events from the stream.
const luaFanOut = `
local function fanOutOne(p, g, ek, rk, sk, eid, mp, ws, now)
  if redis.call('XACK', ek, g, eid) == 0 then return -1 end
  local e = redis.call('XRANGE', ek, eid, eid)
  if #e == 0 or #ws == 0 then return 0 end
  local h = {}
  local f = e[1][2]
  for i = 1, #f, 2 do h[f[i]] = f[i + 1] end
  local last = redis.call('INCRBY', sk, #ws)
  local t, r, pl, ts = h['t'] or '', h['r'] or '0', h['p'] or '', h['ts'] or now
  for i, w in ipairs(ws) do
    local jid = string.format('%d', last - #ws + i)
    local mid = mp .. eid .. '_' .. w
    redis.call('HSET', p .. 'dq:job:' .. jid, 'k', 'd', 'w', w, 't', t, 'r', r,
      'p', pl, 'e', eid, 'ts', ts, 'mid', mid, 'a', '0', 'rcv', '0', 'st', 'queued', 'c', now)
    redis.call('XADD', rk, '*', 'j', jid, 'w', w)
  end
  return #ws
end
`

// fanOutScript fans out many events, each on its own exactly as
// fanOutOne (an error in one is reported for it alone), then trims the
// acknowledged events from the stream. KEYS[1] = ev, KEYS[2] = dq:ready,
// KEYS[3] = dq:seq. ARGV: key prefix, group, message id prefix, then for
// each event: its entry id, the number of webhooks n and n webhook ids.
// Returns one result per event ({'err', message} on an error).
var fanOutScript = redis.NewScript(luaJobs + luaFanOut + `
local p, g, mp = ARGV[1], ARGV[2], ARGV[3]
local now = string.format('%d', nowms())
local res = {}
local a = 4
while a <= #ARGV do
  local eid, n = ARGV[a], tonumber(ARGV[a + 1])
  local ws = {}
  for i = 1, n do ws[i] = ARGV[a + 1 + i] end
  a = a + 2 + n
  local ok, r = pcall(fanOutOne, p, g, KEYS[1], KEYS[2], KEYS[3], eid, mp, ws, now)
  if not ok then r = {'err', perr(r)} end
  res[#res + 1] = r
end
pcall(trimAcked, KEYS[1], g)
return res
`)

// messagePrefix starts the Standard Webhooks message ids of the site's
// events: "msg_" and 12 hex digits of SHA-256 of the site name, so ids of
// different sites never collide at a shared receiver.
func (st *Site) messagePrefix() string {
	h := sha256.Sum256([]byte(st.name))
	return "msg_" + hex.EncodeToString(h[:6]) + "_"
}

// FanOut turns the event entry into one delivery job per webhook id, and
// acks the event (and trims acknowledged events from the stream), in one
// Lua script. Each job's MessageID is
// "msg_<site hash>_<event entry id>_<webhook id>". It returns the number of
// jobs created, or -1 when the event was already fanned out (never twice).
func (st *Site) FanOut(ctx context.Context, eventEntryID string, webhookIDs []int64) (int, error) {
	res, err := st.FanOutBatch(ctx, []FanOutRequest{{EventEntryID: eventEntryID, WebhookIDs: webhookIDs}})
	if err != nil {
		return 0, err
	}
	return res[0], nil
}

// pruneScript: KEYS[1], KEYS[2] = ev, dq:ready. ARGV: group, own consumer
// name, min idle ms. Deletes consumers of both groups that hold no pending
// entries and have been idle at least min idle ms; returns how many.
var pruneScript = redis.NewScript(`
local n = 0
for _, k in ipairs(KEYS) do
  if redis.call('EXISTS', k) == 1 then
    local ok, cs = pcall(redis.call, 'XINFO', 'CONSUMERS', k, ARGV[1])
    if ok then
      for _, c in ipairs(cs) do
        local f = {}
        for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
        if f['name'] ~= ARGV[2] and tonumber(f['pending']) == 0 and tonumber(f['idle']) >= tonumber(ARGV[3]) then
          redis.call('XGROUP', 'DELCONSUMER', k, ARGV[1], f['name'])
          n = n + 1
        end
      end
    end
  end
end
return n
`)

// PruneConsumers deletes the consumers of the site's groups, other than
// self, that hold no pending entries and have been idle at least minIdle
// (processes that are gone), in one Lua script so no entry is claimed in
// between. A consumer with pending entries is never deleted (its entries
// would become unclaimable); reclaim empties it first.
func (st *Site) PruneConsumers(ctx context.Context, self string, minIdle time.Duration) (int, error) {
	n, err := pruneScript.Run(ctx, st.store.rdb, []string{st.evKey(), st.readyKey()},
		QueueGroup, self, minIdle.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("redisstore: prune consumers: %w", err)
	}
	return n, nil
}

// FanOutRequest is one event to fan out to the given webhooks.
type FanOutRequest struct {
	EventEntryID string
	WebhookIDs   []int64
}

// fanOutChunk bounds the events of one fan-out script call.
const fanOutChunk = 64

// FanOutBatch runs FanOut for many events in one script call per 64
// events (one round trip; each event is still fanned out atomically on
// its own). It returns the result of each, in order (-1: already fanned
// out); on error, none or some may have run, and running them again is
// safe.
func (st *Site) FanOutBatch(ctx context.Context, reqs []FanOutRequest) ([]int, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	keys := []string{st.evKey(), st.readyKey(), st.key("dq", "seq")}
	mp := st.messagePrefix()
	out := make([]int, 0, len(reqs))
	for len(reqs) > 0 {
		part := reqs[:min(len(reqs), fanOutChunk)]
		reqs = reqs[len(part):]
		args := []any{st.kp, QueueGroup, mp}
		for _, r := range part {
			args = append(args, r.EventEntryID, len(r.WebhookIDs))
			for _, id := range r.WebhookIDs {
				args = append(args, itoa(id))
			}
		}
		res, err := fanOutScript.Run(ctx, st.store.rdb, keys, args...).Slice()
		if err != nil {
			return nil, fmt.Errorf("redisstore: fan out %d events: %w", len(part), err)
		}
		if len(res) != len(part) {
			return nil, fmt.Errorf("redisstore: fan out %d events: %d replies", len(part), len(res))
		}
		for i, r := range res {
			n, ok := r.(int64)
			if !ok {
				msg := "unexpected reply"
				if e, ok := r.([]any); ok && len(e) == 2 {
					msg, _ = e[1].(string)
				}
				return nil, fmt.Errorf("redisstore: fan out event %s: %s", part[i].EventEntryID, msg)
			}
			out = append(out, int(n))
		}
	}
	return out, nil
}
