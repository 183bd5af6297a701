package redisstore

import (
	"context"
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
