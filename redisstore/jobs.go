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
// under its reserved id (trimming to keep), finish a stream entry, the
// message of an error caught by pcall, and Redis server time in ms.
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
local function perr(e)
  if type(e) == 'table' and e.err then return e.err end
  return tostring(e)
end
local function nowms()
  local t = redis.call('TIME')
  return t[1] * 1000 + math.floor(t[2] / 1000)
end
`

// luaBegin holds beginOne, one job's begin: rk = dq:ready, jk =
// dq:job:<jid>. It returns {'notmine'}, {'gone'}, {'poison'}, {'nohook'}
// or {'ok', webhook record, job fields and values...}.
const luaBegin = `
local function beginOne(p, g, c, rk, jk, eid, jid, maxr, ttl)
  local pe = redis.call('XPENDING', rk, g, eid, eid, 1)
  if #pe == 0 or pe[1][2] ~= c then return {'notmine'} end
  local all = redis.call('HGETALL', jk)
  local h = {}
  for i = 1, #all, 2 do h[all[i]] = all[i + 1] end
  local st = h['st']
  if not st or st == 'done' or st == 'failed' or st == 'dropped' or st == 'poison' then
    ackdel(rk, g, eid)
    return {'gone'}
  end
  redis.call('XCLAIM', rk, g, c, 0, eid, 'JUSTID')
  local rcv = (tonumber(h['rcv']) or 0) + 1
  if rcv > maxr then
    ackdel(rk, g, eid)
    redis.call('HSET', jk, 'st', 'poison', 'rcv', rcv)
    redis.call('EXPIRE', jk, ttl)
    redis.call('XADD', p .. 'dq:dead', 'MAXLEN', '~', 10000, '*', 'j', jid, 'why', 'poison')
    return {'poison'}
  end
  local wd = redis.call('HGET', p .. 'wh:' .. (h['w'] or ''), 'd')
  if not wd then
    ackdel(rk, g, eid)
    redis.call('HSET', jk, 'st', 'dropped', 'rcv', rcv)
    redis.call('EXPIRE', jk, ttl)
    return {'nohook'}
  end
  local dl = '0'
  if h['k'] == 'd' then dl = string.format('%d', redis.call('INCR', p .. 'dl:seq')) end
  redis.call('HSET', jk, 'dl', dl, 'st', 'inflight', 'rcv', rcv)
  local out = {'ok', wd}
  for i = 1, #all do out[#out + 1] = all[i] end
  out[#out + 1] = 'dl'; out[#out + 1] = dl
  out[#out + 1] = 'st'; out[#out + 1] = 'inflight'
  return out
end
`

// beginScript begins many jobs, each on its own exactly as beginOne (an
// error in one is reported for it alone). KEYS[1] = dq:ready, KEYS[1+i] =
// dq:job:<jid of job i>. ARGV: prefix, group, consumer, max receives, ttl
// seconds, then entry id and job id of each job. Returns one reply of
// beginOne per job ({'err', message} on an error).
var beginScript = redis.NewScript(luaJobs + luaBegin + `
local p, g, c = ARGV[1], ARGV[2], ARGV[3]
local maxr, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])
local res = {}
for i = 2, #KEYS do
  local a = 4 + 2 * i
  local ok, r = pcall(beginOne, p, g, c, KEYS[1], KEYS[i], ARGV[a - 2], ARGV[a - 1], maxr, ttl)
  if not ok then r = {'err', perr(r)} end
  res[#res + 1] = r
end
return res
`)

// MaxBatch is the most jobs BeginJobs and FinishJobs handle in one script
// call; larger batches are split, so one call never holds Redis long.
const MaxBatch = 32

// Begin outcomes.
const (
	BeginOK      = "ok"      // send it: Job and Webhook are set
	BeginNotMine = "notmine" // another consumer holds the entry now; do nothing
	BeginGone    = "gone"    // the job is finished or missing; entry removed
	BeginPoison  = "poison"  // received too often without a finish; set aside
	BeginNoHook  = "nohook"  // the webhook was deleted; job dropped
)

// BeginResult is the outcome of beginning one job (see BeginJob).
type BeginResult struct {
	Outcome string   // BeginOK, BeginNotMine, BeginGone, BeginPoison or BeginNoHook
	Job     *Job     // set for BeginOK
	Webhook *Webhook // set for BeginOK
	Err     error    // this job could not be begun; it stays pending
}

// BeginJob starts an attempt of the queued job held by consumer, in one
// Lua script: it checks the consumer still holds the entry, resets its
// idle time (the visibility lease), counts the receive (setting the job
// aside as poison past MaxReceives), drops it when the webhook is gone, and
// for deliveries reserves the delivery log id of this attempt.
func (st *Site) BeginJob(ctx context.Context, consumer string, q QueuedJob, pol QueuePolicy) (string, *Job, *Webhook, error) {
	res, err := st.BeginJobs(ctx, consumer, []QueuedJob{q}, pol)
	if err != nil {
		return "", nil, nil, err
	}
	r := res[0]
	return r.Outcome, r.Job, r.Webhook, r.Err
}

// BeginJobs begins many queued jobs held by consumer, each exactly as
// BeginJob, in one Lua script call per MaxBatch jobs (one round trip): the
// begin of each job stays atomic on its own, and an error in one is
// reported in its result alone. The error returned means none of the
// results is known (the jobs stay pending, or were begun and are
// reclaimed later).
func (st *Site) BeginJobs(ctx context.Context, consumer string, qs []QueuedJob, pol QueuePolicy) ([]BeginResult, error) {
	pol = pol.norm()
	out := make([]BeginResult, 0, len(qs))
	hooks := map[string]*Webhook{} // decoded webhook records of this call
	for len(qs) > 0 {
		part := qs[:min(len(qs), MaxBatch)]
		qs = qs[len(part):]
		keys := make([]string, 0, 1+len(part))
		keys = append(keys, st.readyKey())
		args := make([]any, 0, 5+2*len(part))
		args = append(args, st.kp, QueueGroup, consumer, pol.MaxReceives, pol.ttl())
		for _, q := range part {
			keys = append(keys, st.jobKey(q.JobID))
			args = append(args, q.EntryID, itoa(q.JobID))
		}
		res, err := beginScript.Run(ctx, st.store.rdb, keys, args...).Slice()
		if err != nil {
			return nil, fmt.Errorf("redisstore: begin %d jobs: %w", len(part), err)
		}
		if len(res) != len(part) {
			return nil, fmt.Errorf("redisstore: begin %d jobs: %d replies", len(part), len(res))
		}
		for i, r := range res {
			out = append(out, decodeBegin(part[i], r, hooks))
		}
	}
	return out, nil
}

// decodeBegin decodes the reply of beginOne for q; hooks caches decoded
// webhook records by their JSON (jobs of one webhook share it).
func decodeBegin(q QueuedJob, r any, hooks map[string]*Webhook) BeginResult {
	res, _ := r.([]any)
	if len(res) == 0 {
		return BeginResult{Err: fmt.Errorf("redisstore: begin job %d: empty reply", q.JobID)}
	}
	outcome, _ := res[0].(string)
	if outcome == "err" {
		msg := ""
		if len(res) > 1 {
			msg, _ = res[1].(string)
		}
		return BeginResult{Err: fmt.Errorf("redisstore: begin job %d: %s", q.JobID, msg)}
	}
	if outcome != BeginOK || len(res) < 2 {
		return BeginResult{Outcome: outcome}
	}
	wd, _ := res[1].(string)
	job := decodeJob(q.JobID, res[2:])
	w, ok := hooks[wd]
	if !ok {
		var err error
		if w, err = decodeWebhook(job.WebhookID, wd); err != nil {
			return BeginResult{Err: err}
		}
		hooks[wd] = w
	}
	wc := *w // each result owns its record
	wc.ID = job.WebhookID
	return BeginResult{Outcome: outcome, Job: job, Webhook: &wc}
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

// luaFinish holds completeOne and failOne, one job's outcome: rk =
// dq:ready, jk = dq:job:<jid>; rec is the delivery record (” for none).
const luaFinish = `
local function completeOne(p, g, rk, jk, eid, jid, rec, keep, ttl, ms, sc)
  ackdel(rk, g, eid)
  local h = redis.call('HMGET', jk, 'w', 'dl', 'fin', 'a')
  local w, dl, fin = h[1], h[2], h[3]
  if not w then return 'gone' end
  logDelivery(p, w, dl, rec, keep)
  if dl and dl ~= '0' then redis.call('SET', p .. 'dq:dlj:' .. dl, jid, 'EX', ttl) end
  redis.call('HSET', jk, 'st', 'done', 'rcv', 0, 'fin', 1, 'a', (tonumber(h[4]) or 0) + 1)
  redis.call('EXPIRE', jk, ttl)
  if fin then return 'dup' end
  return whState(p, w, 'reset', 0, '0', ms, sc)
end
local function failOne(p, g, rk, jk, eid, jid, rec, keep, ttl, delay, maxf, ms, sc, why)
  ackdel(rk, g, eid)
  local h = redis.call('HMGET', jk, 'w', 'dl', 'fin', 'a')
  local w, dl, fin = h[1], h[2], h[3]
  if not w then return 'gone' end
  logDelivery(p, w, dl, rec, keep)
  if dl and dl ~= '0' then redis.call('SET', p .. 'dq:dlj:' .. dl, jid, 'EX', ttl) end
  local a = (tonumber(h[4]) or 0) + 1
  if delay >= 0 then
    redis.call('ZADD', p .. 'dq:delayed', nowms() + delay, jid)
    redis.call('HSET', jk, 'st', 'retry', 'rcv', 0, 'a', a)
    return 'retry'
  end
  redis.call('HSET', jk, 'st', 'failed', 'fin', 1, 'rcv', 0, 'a', a)
  redis.call('EXPIRE', jk, ttl)
  if fin then return 'dup' end
  redis.call('XADD', p .. 'dq:dead', 'MAXLEN', '~', 10000, '*', 'j', jid, 'why', why)
  return whState(p, w, 'inc', maxf, '0', ms, sc)
end
`

// finishScript records the outcomes of many attempts, each on its own
// exactly as completeOne or failOne (an error in one is reported for it
// alone). KEYS[1] = dq:ready, KEYS[1+i] = dq:job:<jid of job i>. ARGV:
// prefix, group, keep, ttl, max failures, modified string, modified
// score, then for each job: entry id, job id, record, delay ms (” for a
// success; < 0 a final failure), reason. Returns one word per job
// ({'err', message} on an error).
var finishScript = redis.NewScript(luaWebhookState + luaJobs + luaFinish + `
local p, g, keep, ttl, maxf, ms, sc = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local res = {}
for i = 2, #KEYS do
  local a = 8 + 5 * (i - 2)
  local eid, jid, rec, delay = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local ok, r
  if delay == '' then
    ok, r = pcall(completeOne, p, g, KEYS[1], KEYS[i], eid, jid, rec, keep, ttl, ms, sc)
  else
    ok, r = pcall(failOne, p, g, KEYS[1], KEYS[i], eid, jid, rec, keep, ttl, tonumber(delay), maxf, ms, sc, ARGV[a + 4])
  end
  if not ok then r = {'err', perr(r)} end
  res[#res + 1] = r
end
return res
`)

// Outcome is one finished attempt for FinishJobs.
type Outcome struct {
	Job      QueuedJob
	Delivery *Delivery     // the attempt's log record; nil logs nothing (pings)
	Success  bool          // complete (see CompleteJob); otherwise fail (see FailJob)
	RetryIn  time.Duration // failures: retry due this long from now; < 0 is the final failure
	Reason   string        // failures: why, for the dead-letter entry
}

// FinishResult is what FinishJobs did with one Outcome.
type FinishResult struct {
	Result string // CompleteJob: "ok", "same", "dup", "gone"; FailJob: as its result
	Err    error  // this outcome was not recorded; the job will be redelivered
}

// FinishJobs records many attempts, each exactly as CompleteJob or FailJob
// would, in one Lua script call per MaxBatch outcomes (one round trip):
// each job's change stays atomic on its own, and an error in one is
// reported in its result alone. The error returned means none of the
// results is known (running them again is safe: a finished job is not
// finished twice).
func (st *Site) FinishJobs(ctx context.Context, outs []Outcome, pol QueuePolicy) ([]FinishResult, error) {
	pol = pol.norm()
	ms, sc := modArgs(time.Now())
	res := make([]FinishResult, 0, len(outs))
	for len(outs) > 0 {
		part := outs[:min(len(outs), MaxBatch)]
		outs = outs[len(part):]
		keys := make([]string, 0, 1+len(part))
		keys = append(keys, st.readyKey())
		args := make([]any, 0, 7+5*len(part))
		args = append(args, st.kp, QueueGroup, pol.KeepDeliveries, pol.ttl(), pol.MaxFailures, ms, sc)
		for _, o := range part {
			rec, err := encodeDelivery(o.Delivery)
			if err != nil {
				return nil, fmt.Errorf("redisstore: finish job %d: %w", o.Job.JobID, err)
			}
			delay := ""
			switch {
			case o.Success:
			case o.RetryIn >= 0:
				delay = itoa(o.RetryIn.Milliseconds())
			default:
				delay = "-1"
			}
			keys = append(keys, st.jobKey(o.Job.JobID))
			args = append(args, o.Job.EntryID, itoa(o.Job.JobID), rec, delay, o.Reason)
		}
		r, err := finishScript.Run(ctx, st.store.rdb, keys, args...).Slice()
		if err != nil {
			return nil, fmt.Errorf("redisstore: finish %d jobs: %w", len(part), err)
		}
		if len(r) != len(part) {
			return nil, fmt.Errorf("redisstore: finish %d jobs: %d replies", len(part), len(r))
		}
		for i, x := range r {
			res = append(res, decodeFinish(part[i].Job, x))
		}
	}
	return res, nil
}

func decodeFinish(q QueuedJob, x any) FinishResult {
	if w, ok := x.(string); ok {
		return FinishResult{Result: w}
	}
	msg := "unexpected reply"
	if e, ok := x.([]any); ok && len(e) == 2 {
		msg, _ = e[1].(string)
	}
	return FinishResult{Err: fmt.Errorf("redisstore: finish job %d: %s", q.JobID, msg)}
}

func (st *Site) finishOne(ctx context.Context, o Outcome, pol QueuePolicy) (string, error) {
	res, err := st.FinishJobs(ctx, []Outcome{o}, pol)
	if err != nil {
		return "", err
	}
	return res[0].Result, res[0].Err
}

// CompleteJob records a successful attempt in one Lua script: XACK+XDEL
// of the entry, the delivery log record under the reserved id (d may be nil
// for pings), job done, and the webhook's failure_count reset to 0 (once
// per job).
func (st *Site) CompleteJob(ctx context.Context, q QueuedJob, d *Delivery, pol QueuePolicy) error {
	_, err := st.finishOne(ctx, Outcome{Job: q, Delivery: d, Success: true}, pol)
	return err
}

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
	return st.finishOne(ctx, Outcome{Job: q, Delivery: d, RetryIn: retryIn, Reason: reason}, pol)
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
