package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Job kinds.
const (
	JobDelivery = "d" // a webhook delivery (logged, signed, retried)
	JobPing     = "p" // a ping (form POST webhook_id=<id>; not logged, one attempt)
)

// Job is one delivery job of a site (the hash P dq:job:<id>).
type Job struct {
	ID         int64
	Kind       string // JobDelivery or JobPing
	WebhookID  int64
	Topic      string
	ResourceID int64
	Payload    []byte
	EventID    string    // event stream entry id it came from ("" for pings)
	EventTime  time.Time // when the event happened
	MessageID  string    // Standard Webhooks webhook-id, stable across retries and redeliveries
	Attempts   int       // HTTP attempts finished so far
	DeliveryID int64     // delivery log id reserved for the current attempt
	Status     string    // queued, inflight, retry, done, failed, dropped, poison
}

// QueuePolicy holds the limits the job scripts apply.
type QueuePolicy struct {
	KeepDeliveries int           // logged deliveries kept per webhook; <= 0: DefaultKeepDeliveries
	Retention      time.Duration // how long a finished job stays (for redelivery); <= 0: 72 h
	MaxFailures    int           // consecutive failed deliveries that disable a webhook; <= 0: 5
	MaxReceives    int           // receives without a finish before a job is poison; <= 0: 5
}

func (p QueuePolicy) norm() QueuePolicy {
	if p.KeepDeliveries <= 0 {
		p.KeepDeliveries = DefaultKeepDeliveries
	}
	if p.Retention <= 0 {
		p.Retention = 72 * time.Hour
	}
	if p.MaxFailures <= 0 {
		p.MaxFailures = 5
	}
	if p.MaxReceives <= 0 {
		p.MaxReceives = 5
	}
	return p
}

func (p QueuePolicy) ttl() string { return itoa(int64(p.Retention / time.Second)) }

func (st *Site) jobKey(id int64) string { return st.key("dq", "job", itoa(id)) }

// luaJobs holds helpers shared by the job scripts: log a delivery record
// under its reserved id (trimming to keep) and finish a stream entry.
const luaJobs = `
local function logDelivery(p, wid, dl, rec, keep)
  if not dl or dl == '' or dl == '0' or rec == '' then return end
  if redis.call('EXISTS', p .. 'wh:' .. wid) == 0 then return end
  local z = p .. 'dl:' .. wid
  redis.call('ZADD', z, tonumber(dl), dl)
  redis.call('HSET', z .. ':rec', dl, rec)
  local n = redis.call('ZCARD', z)
  if n > keep then
    local old = redis.call('ZPOPMIN', z, n - keep)
    for i = 1, #old, 2 do redis.call('HDEL', z .. ':rec', old[i]) end
  end
end
local function ackdel(k, g, eid)
  redis.call('XACK', k, g, eid)
  redis.call('XDEL', k, eid)
end
local function nowms()
  local t = redis.call('TIME')
  return t[1] * 1000 + math.floor(t[2] / 1000)
end
`

// beginScript: KEYS[1] = dq:ready, KEYS[2] = dq:job:<jid>. ARGV: prefix,
// group, consumer, entry id, job id, max receives, ttl seconds.
var beginScript = redis.NewScript(luaJobs + `
local p, g, c, eid, jid = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local maxr, ttl = tonumber(ARGV[6]), tonumber(ARGV[7])
local pe = redis.call('XPENDING', KEYS[1], g, eid, eid, 1)
if #pe == 0 or pe[1][2] ~= c then return {'notmine'} end
local all = redis.call('HGETALL', KEYS[2])
local h = {}
for i = 1, #all, 2 do h[all[i]] = all[i + 1] end
local st = h['st']
if not st or st == 'done' or st == 'failed' or st == 'dropped' or st == 'poison' then
  ackdel(KEYS[1], g, eid)
  return {'gone'}
end
redis.call('XCLAIM', KEYS[1], g, c, 0, eid, 'JUSTID')
local rcv = (tonumber(h['rcv']) or 0) + 1
if rcv > maxr then
  ackdel(KEYS[1], g, eid)
  redis.call('HSET', KEYS[2], 'st', 'poison', 'rcv', rcv)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('XADD', p .. 'dq:dead', 'MAXLEN', '~', 10000, '*', 'j', jid, 'why', 'poison')
  return {'poison'}
end
local wd = redis.call('HGET', p .. 'wh:' .. (h['w'] or ''), 'd')
if not wd then
  ackdel(KEYS[1], g, eid)
  redis.call('HSET', KEYS[2], 'st', 'dropped', 'rcv', rcv)
  redis.call('EXPIRE', KEYS[2], ttl)
  return {'nohook'}
end
local dl = '0'
if h['k'] == 'd' then dl = string.format('%d', redis.call('INCR', p .. 'dl:seq')) end
redis.call('HSET', KEYS[2], 'dl', dl, 'st', 'inflight', 'rcv', rcv)
local out = {'ok', wd}
for i = 1, #all do out[#out + 1] = all[i] end
out[#out + 1] = 'dl'; out[#out + 1] = dl
out[#out + 1] = 'st'; out[#out + 1] = 'inflight'
return out
`)

// Begin outcomes.
const (
	BeginOK      = "ok"      // send it: Job and Webhook are set
	BeginNotMine = "notmine" // another consumer holds the entry now; do nothing
	BeginGone    = "gone"    // the job is finished or missing; entry removed
	BeginPoison  = "poison"  // received too often without a finish; set aside
	BeginNoHook  = "nohook"  // the webhook was deleted; job dropped
)

// BeginJob starts an attempt of the queued job held by consumer, in one
// Lua script: it checks the consumer still holds the entry, resets its
// idle time (the visibility lease), counts the receive (setting the job
// aside as poison past MaxReceives), drops it when the webhook is gone, and
// for deliveries reserves the delivery log id of this attempt.
func (st *Site) BeginJob(ctx context.Context, consumer string, q QueuedJob, pol QueuePolicy) (string, *Job, *Webhook, error) {
	pol = pol.norm()
	res, err := beginScript.Run(ctx, st.store.rdb, []string{st.readyKey(), st.jobKey(q.JobID)},
		st.kp, QueueGroup, consumer, q.EntryID, itoa(q.JobID), pol.MaxReceives, pol.ttl()).Slice()
	if err != nil {
		return "", nil, nil, fmt.Errorf("redisstore: begin job %d: %w", q.JobID, err)
	}
	outcome, _ := res[0].(string)
	if outcome != BeginOK || len(res) < 2 {
		return outcome, nil, nil, nil
	}
	wd, _ := res[1].(string)
	w, err := decodeWebhook(q.WebhookID, wd)
	if err != nil {
		return "", nil, nil, err
	}
	job := decodeJob(q.JobID, res[2:])
	w.ID = job.WebhookID
	return outcome, job, w, nil
}

func decodeJob(id int64, flat []any) *Job {
	m := make(map[string]string, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		k, _ := flat[i].(string)
		v, _ := flat[i+1].(string)
		m[k] = v
	}
	return jobFromMap(id, m)
}

func jobFromMap(id int64, m map[string]string) *Job {
	num := func(k string) int64 { n, _ := strconv.ParseInt(m[k], 10, 64); return n }
	j := &Job{
		ID: id, Kind: m["k"], WebhookID: num("w"), Topic: m["t"], ResourceID: num("r"),
		Payload: []byte(m["p"]), EventID: m["e"], MessageID: m["mid"], Attempts: int(num("a")),
		DeliveryID: num("dl"), Status: m["st"],
	}
	if ts := num("ts"); ts > 0 {
		j.EventTime = time.UnixMilli(ts).UTC()
	}
	return j
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

// completeScript: KEYS[1] = dq:ready, KEYS[2] = dq:job:<jid>. ARGV: prefix,
// group, entry id, job id, delivery record, keep, ttl, modified string,
// modified score.
var completeScript = redis.NewScript(luaWebhookState + luaJobs + `
local p, g, eid, jid = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
ackdel(KEYS[1], g, eid)
local h = redis.call('HMGET', KEYS[2], 'w', 'dl', 'fin', 'a')
local w, dl, fin = h[1], h[2], h[3]
if not w then return 'gone' end
logDelivery(p, w, dl, ARGV[5], tonumber(ARGV[6]))
if dl and dl ~= '0' then redis.call('SET', p .. 'dq:dlj:' .. dl, jid, 'EX', ARGV[7]) end
redis.call('HSET', KEYS[2], 'st', 'done', 'rcv', 0, 'fin', 1, 'a', (tonumber(h[4]) or 0) + 1)
redis.call('EXPIRE', KEYS[2], ARGV[7])
if fin then return 'dup' end
return whState(p, w, 'reset', 0, '0', ARGV[8], ARGV[9])
`)

// CompleteJob records a successful attempt in one Lua script: XACK+XDEL
// of the entry, the delivery log record under the reserved id (d may be nil
// for pings), job done, and the webhook's failure_count reset to 0 (once
// per job).
func (st *Site) CompleteJob(ctx context.Context, q QueuedJob, d *Delivery, pol QueuePolicy) error {
	pol = pol.norm()
	rec, err := encodeDelivery(d)
	if err != nil {
		return fmt.Errorf("redisstore: complete job %d: %w", q.JobID, err)
	}
	ms, sc := modArgs(time.Now())
	err = completeScript.Run(ctx, st.store.rdb, []string{st.readyKey(), st.jobKey(q.JobID)},
		st.kp, QueueGroup, q.EntryID, itoa(q.JobID), rec, pol.KeepDeliveries, pol.ttl(), ms, sc).Err()
	if err != nil {
		return fmt.Errorf("redisstore: complete job %d: %w", q.JobID, err)
	}
	return nil
}

// failScript: KEYS as completeScript. ARGV: prefix, group, entry id, job
// id, record, keep, ttl, delay ms (< 0: final), max failures, modified
// string, modified score, reason.
var failScript = redis.NewScript(luaWebhookState + luaJobs + `
local p, g, eid, jid = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
ackdel(KEYS[1], g, eid)
local h = redis.call('HMGET', KEYS[2], 'w', 'dl', 'fin', 'a')
local w, dl, fin = h[1], h[2], h[3]
if not w then return 'gone' end
logDelivery(p, w, dl, ARGV[5], tonumber(ARGV[6]))
if dl and dl ~= '0' then redis.call('SET', p .. 'dq:dlj:' .. dl, jid, 'EX', ARGV[7]) end
local a = (tonumber(h[4]) or 0) + 1
local delay = tonumber(ARGV[8])
if delay >= 0 then
  redis.call('ZADD', p .. 'dq:delayed', nowms() + delay, jid)
  redis.call('HSET', KEYS[2], 'st', 'retry', 'rcv', 0, 'a', a)
  return 'retry'
end
redis.call('HSET', KEYS[2], 'st', 'failed', 'fin', 1, 'rcv', 0, 'a', a)
redis.call('EXPIRE', KEYS[2], ARGV[7])
if fin then return 'dup' end
redis.call('XADD', p .. 'dq:dead', 'MAXLEN', '~', 10000, '*', 'j', jid, 'why', ARGV[12])
return whState(p, w, 'inc', ARGV[9], '0', ARGV[10], ARGV[11])
`)

// Fail outcomes.
const (
	FailRetry    = "retry"    // scheduled again
	FailFailed   = "ok"       // the delivery failed; failure_count raised
	FailDisabled = "disabled" // the delivery failed and the webhook is now disabled
)

// FailJob records a failed attempt in one Lua script: XACK+XDEL, the
// delivery log record, attempts+1, and either a retry due retryIn from now
// (Redis server time) when retryIn >= 0, or the delivery's final failure:
// job failed, a dead-letter entry, and failure_count+1 on the webhook
// (once per job), disabling it when the count reaches MaxFailures. It
// returns FailRetry, FailFailed, FailDisabled, or another word when
// nothing changed ("gone", "dup", "same").
func (st *Site) FailJob(ctx context.Context, q QueuedJob, d *Delivery, retryIn time.Duration, reason string, pol QueuePolicy) (string, error) {
	pol = pol.norm()
	rec, err := encodeDelivery(d)
	if err != nil {
		return "", fmt.Errorf("redisstore: fail job %d: %w", q.JobID, err)
	}
	delay := int64(-1)
	if retryIn >= 0 {
		delay = retryIn.Milliseconds()
	}
	ms, sc := modArgs(time.Now())
	r, err := failScript.Run(ctx, st.store.rdb, []string{st.readyKey(), st.jobKey(q.JobID)},
		st.kp, QueueGroup, q.EntryID, itoa(q.JobID), rec, pol.KeepDeliveries, pol.ttl(),
		delay, pol.MaxFailures, ms, sc, reason).Text()
	if err != nil {
		return "", fmt.Errorf("redisstore: fail job %d: %w", q.JobID, err)
	}
	return r, nil
}

// dropScript: KEYS as completeScript. ARGV: prefix, group, entry id, ttl,
// status, clear pending ('1'), modified string, modified score.
var dropScript = redis.NewScript(luaWebhookState + luaJobs + `
ackdel(KEYS[1], ARGV[2], ARGV[3])
if redis.call('EXISTS', KEYS[2]) == 0 then return 'gone' end
redis.call('HSET', KEYS[2], 'st', ARGV[5], 'fin', 1)
redis.call('EXPIRE', KEYS[2], ARGV[4])
if ARGV[6] ~= '1' then return 'ok' end
local w = redis.call('HGET', KEYS[2], 'w')
return whState(ARGV[1], w, '', 0, '1', ARGV[7], ARGV[8])
`)

// DropJob ends the job without a delivery (webhook paused or disabled, a
// ping sent): XACK+XDEL and job status set to status, in one Lua script.
// With clearPending the webhook's pending_delivery is cleared in the same
// script (a ping answered 200).
func (st *Site) DropJob(ctx context.Context, q QueuedJob, status string, clearPending bool, pol QueuePolicy) error {
	pol = pol.norm()
	ms, sc := modArgs(time.Now())
	cp := "0"
	if clearPending {
		cp = "1"
	}
	err := dropScript.Run(ctx, st.store.rdb, []string{st.readyKey(), st.jobKey(q.JobID)},
		st.kp, QueueGroup, q.EntryID, pol.ttl(), status, cp, ms, sc).Err()
	if err != nil {
		return fmt.Errorf("redisstore: drop job %d: %w", q.JobID, err)
	}
	return nil
}

// deferScript: KEYS[1] = dq:ready, KEYS[2] = dq:job:<jid>. ARGV: prefix,
// group, entry id, job id, delay ms.
var deferScript = redis.NewScript(luaJobs + `
if redis.call('XACK', KEYS[1], ARGV[2], ARGV[3]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[3])
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('ZADD', ARGV[1] .. 'dq:delayed', nowms() + tonumber(ARGV[5]), ARGV[4])
redis.call('HSET', KEYS[2], 'st', 'retry')
return 1
`)

// DeferJob puts a queued job back for later without counting an attempt
// (the local lane of its webhook is full): XACK+XDEL and ZADD to the
// delayed set, in one script.
func (st *Site) DeferJob(ctx context.Context, q QueuedJob, delay time.Duration) error {
	err := deferScript.Run(ctx, st.store.rdb, []string{st.readyKey(), st.jobKey(q.JobID)},
		st.kp, QueueGroup, q.EntryID, itoa(q.JobID), delay.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("redisstore: defer job %d: %w", q.JobID, err)
	}
	return nil
}
