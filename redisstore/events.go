package redisstore

// Event stream and work queues of the dispatcher. Per-site keys (P is the
// site prefix, "wcwh:{shop}:"):
//
//	P ev              stream  events: t topic, r resource id, p payload, ts unix ms
//	P dq:ready        stream  delivery work: j job id, w webhook id (never trimmed)
//	P dq:delayed      zset    job ids waiting for a retry, score = due unix ms (server time)
//	P dq:seq          string  last job id (INCR)
//	P dq:job:<jid>    hash    one job (see Job); expires QueuePolicy.Retention after it ends
//	P dq:dlj:<dlid>   string  job id of logged delivery <dlid> (for redelivery); same expiry
//	P dq:dead         stream  jobs that failed or were set aside as poison (MAXLEN ~ 10000)
//	<prefix>:sites    set     names of sites the dispatcher serves (not per site)
//
// Both streams have the consumer group "wcwh", created from id 0 so events
// appended before the group existed are not skipped.

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

// PublishEvent appends an event to the site's event stream with one XADD
// and returns its entry id. The payload is stored as given, byte for byte.
func (st *Site) PublishEvent(ctx context.Context, topic string, resourceID int64, payload []byte, t time.Time) (string, error) {
	if topic == "" {
		return "", errors.New("redisstore: publish event: topic is empty")
	}
	if t.IsZero() {
		t = time.Now()
	}
	id, err := st.store.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: st.evKey(),
		Values: []any{"t", topic, "r", itoa(resourceID), "p", payload, "ts", itoa(t.UnixMilli())},
	}).Result()
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
// consumer with one XREADGROUP (COUNT count per stream, BLOCK block; block
// must be > 0). A missing group is recreated. Nothing read is no error.
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

// fanOutScript: KEYS[1] = ev, KEYS[2] = dq:ready, KEYS[3] = dq:seq.
// ARGV: key prefix, group, event entry id, message id prefix, then
// webhook ids. Acks and
// deletes the event and creates one queued job per webhook, atomically.
// Returns the number of jobs, or -1 when the event was no longer pending
// (another consumer fanned it out already).
var fanOutScript = redis.NewScript(`
local p, g, eid = ARGV[1], ARGV[2], ARGV[3]
if redis.call('XACK', KEYS[1], g, eid) == 0 then return -1 end
local e = redis.call('XRANGE', KEYS[1], eid, eid)
redis.call('XDEL', KEYS[1], eid)
if #e == 0 then return 0 end
local h = {}
local f = e[1][2]
for i = 1, #f, 2 do h[f[i]] = f[i + 1] end
local t = redis.call('TIME')
local now = string.format('%d', t[1] * 1000 + math.floor(t[2] / 1000))
local n = 0
for i = 5, #ARGV do
  local w = ARGV[i]
  local jid = string.format('%d', redis.call('INCR', KEYS[3]))
  redis.call('HSET', p .. 'dq:job:' .. jid, 'k', 'd', 'w', w, 't', h['t'] or '', 'r', h['r'] or '0',
    'p', h['p'] or '', 'e', eid, 'ts', h['ts'] or now, 'mid', ARGV[4] .. eid .. '_' .. w,
    'a', 0, 'rcv', 0, 'st', 'queued', 'c', now)
  redis.call('XADD', KEYS[2], '*', 'j', jid, 'w', w)
  n = n + 1
end
return n
`)

// messagePrefix starts the Standard Webhooks message ids of the site's
// events: "msg_" and 12 hex digits of SHA-256 of the site name, so ids of
// different sites never collide at a shared receiver.
func (st *Site) messagePrefix() string {
	h := sha256.Sum256([]byte(st.name))
	return "msg_" + hex.EncodeToString(h[:6]) + "_"
}

// FanOut turns the event entry into one delivery job per webhook id, and
// acks and deletes the event, in one Lua script. Each job's MessageID is
// "msg_<site hash>_<event entry id>_<webhook id>". It returns the number of
// jobs created, or -1 when the event was already fanned out (never twice).
func (st *Site) FanOut(ctx context.Context, eventEntryID string, webhookIDs []int64) (int, error) {
	args := make([]any, 0, 4+len(webhookIDs))
	args = append(args, st.kp, QueueGroup, eventEntryID, st.messagePrefix())
	for _, id := range webhookIDs {
		args = append(args, itoa(id))
	}
	n, err := fanOutScript.Run(ctx, st.store.rdb,
		[]string{st.evKey(), st.readyKey(), st.key("dq", "seq")}, args...).Int()
	if err != nil {
		return 0, fmt.Errorf("redisstore: fan out event %s: %w", eventEntryID, err)
	}
	return n, nil
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

// FanOutBatch runs FanOut for many events in one pipelined round trip
// (each event still one atomic script). It returns the result of each, in
// order (-1: already fanned out); on error, none or some may have run,
// and running them again is safe.
func (st *Site) FanOutBatch(ctx context.Context, reqs []FanOutRequest) ([]int, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	keys := []string{st.evKey(), st.readyKey(), st.key("dq", "seq")}
	run := func() ([]*redis.Cmd, error) {
		cmds := make([]*redis.Cmd, len(reqs))
		_, err := st.store.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, r := range reqs {
				args := make([]any, 0, 4+len(r.WebhookIDs))
				args = append(args, st.kp, QueueGroup, r.EventEntryID, st.messagePrefix())
				for _, id := range r.WebhookIDs {
					args = append(args, itoa(id))
				}
				cmds[i] = fanOutScript.EvalSha(ctx, p, keys, args...)
			}
			return nil
		})
		return cmds, err
	}
	cmds, err := run()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		if lerr := fanOutScript.Load(ctx, st.store.rdb).Err(); lerr != nil {
			return nil, fmt.Errorf("redisstore: fan out: load script: %w", lerr)
		}
		cmds, err = run()
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: fan out %d events: %w", len(reqs), err)
	}
	out := make([]int, len(cmds))
	for i, c := range cmds {
		n, err := c.Int()
		if err != nil {
			return nil, fmt.Errorf("redisstore: fan out event %s: %w", reqs[i].EventEntryID, err)
		}
		out[i] = n
	}
	return out, nil
}
