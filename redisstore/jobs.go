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
	// LeaseRenewAfter: a job begun after its entry has been idle longer
	// than this gets its lease renewed (idle time reset with XCLAIM);
	// <= 0: 1 s. Keep it below the visibility timeout minus the longest
	// attempt.
	LeaseRenewAfter time.Duration
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
	if p.LeaseRenewAfter <= 0 {
		p.LeaseRenewAfter = time.Second
	}
	return p
}

func (p QueuePolicy) ttl() string { return itoa(int64(p.Retention / time.Second)) }

func (st *Site) jobKey(id int64) string { return st.key("dq", "job", itoa(id)) }

// luaJobs holds helpers shared by the job scripts: call a command with
// the values of a list as its last arguments (in chunks, so no list is
// too long for Lua's stack), finish a stream entry (XACK+XDEL), trim what
// the consumer group has acknowledged from a stream, the message of an
// error caught by pcall, and Redis server time in ms.
//
// trimAcked removes entries below the group's oldest pending entry, in
// whole stream nodes only ("~": cheap, no deleted-entry flags left to
// skip), or, when nothing is pending, every entry the group has read
// (so a drained stream is empty). Entries still pending or not yet read
// are never removed.
const luaJobs = `
local function callList(cmd, key, list, step)
  for i = 1, #list, step do
    redis.call(cmd, key, unpack(list, i, math.min(i + step - 1, #list)))
  end
end
local function ackdel(k, g, eid)
  redis.call('XACK', k, g, eid)
  redis.call('XDEL', k, eid)
end
local function trimAcked(k, g)
  local s = redis.call('XPENDING', k, g)
  if s[2] then
    redis.call('XTRIM', k, 'MINID', '~', s[2])
    return
  end
  local minid
  do
    local last
    for _, gr in ipairs(redis.call('XINFO', 'GROUPS', k)) do
      local f = {}
      for i = 1, #gr, 2 do f[gr[i]] = gr[i + 1] end
      if f['name'] == g then last = f['last-delivered-id'] end
    end
    if not last then return end
    local ms, sq = string.match(last, '^(%d+)%-(%d+)$')
    if not ms or #sq > 15 then return end
    minid = ms .. '-' .. string.format('%d', tonumber(sq) + 1)
  end
  redis.call('XTRIM', k, 'MINID', minid)
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
// dq:job:<jid>; hooks caches the webhook records read by this call. It
// returns {'notmine'}, {'gone'}, {'poison'}, {'nohook'} or {'ok', webhook
// record or "" when an earlier job of this call returned it, webhook id,
// kind, attempts, delivery id}. The job's fixed fields (payload and the
// rest) are not read here: no large value passes through Lua, where
// every byte costs; BeginJobs reads them beside the script. The lease
// (idle time) is renewed with XCLAIM only when the entry has been idle
// longer than renew ms: XREADGROUP has just reset it for entries that did
// not wait.
const luaBegin = `
local function beginOne(p, g, c, rk, jk, eid, jid, maxr, ttl, renew, hooks)
  local pe = redis.call('XPENDING', rk, g, eid, eid, 1)
  if #pe == 0 or pe[1][2] ~= c then return {'notmine'} end
  local h = redis.call('HMGET', jk, 'st', 'rcv', 'w', 'k', 'a')
  local st = h[1]
  if not st or st == 'done' or st == 'failed' or st == 'dropped' or st == 'poison' then
    ackdel(rk, g, eid)
    return {'gone'}
  end
  if tonumber(pe[1][3]) > renew then redis.call('XCLAIM', rk, g, c, 0, eid, 'JUSTID') end
  local rcv = string.format('%d', (tonumber(h[2]) or 0) + 1)
  if tonumber(rcv) > maxr then
    ackdel(rk, g, eid)
    redis.call('HSET', jk, 'st', 'poison', 'rcv', rcv)
    redis.call('EXPIRE', jk, ttl)
    redis.call('XADD', p .. 'dq:dead', 'MAXLEN', '~', '10000', '*', 'j', jid, 'why', 'poison')
    return {'poison'}
  end
  local w = h[3] or ''
  local wd = hooks[w]
  if wd == nil then
    wd = redis.call('HGET', p .. 'wh:' .. w, 'd')
    hooks[w] = wd
    if wd then hooks[w] = true end
  elseif wd == true then
    wd = ''
  end
  if not wd then
    ackdel(rk, g, eid)
    redis.call('HSET', jk, 'st', 'dropped', 'rcv', rcv)
    redis.call('EXPIRE', jk, ttl)
    return {'nohook'}
  end
  local dl = '0'
  if h[4] == 'd' then dl = string.format('%d', redis.call('INCR', p .. 'dl:seq')) end
  redis.call('HSET', jk, 'dl', dl, 'st', 'inflight', 'rcv', rcv)
  return {'ok', wd, w, h[4] or '', h[5] or '0', dl}
end
`

// beginScript begins many jobs, each on its own exactly as beginOne (an
// error in one is reported for it alone). KEYS[1] = dq:ready, KEYS[1+i] =
// dq:job:<jid of job i>. ARGV: prefix, group, consumer, max receives, ttl
// seconds, lease renewal idle ms, then entry id and job id of each job.
// Returns one reply of beginOne per job ({'err', message} on an error).
var beginScript = redis.NewScript(luaJobs + luaBegin + `
local p, g, c = ARGV[1], ARGV[2], ARGV[3]
local maxr, ttl, renew = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local hooks = {}
local res = {}
for i = 2, #KEYS do
  local a = 5 + 2 * i
  local ok, r = pcall(beginOne, p, g, c, KEYS[1], KEYS[i], ARGV[a - 2], ARGV[a - 1], maxr, ttl, renew, hooks)
  if not ok then r = {'err', perr(r)} end
  res[#res + 1] = r
end
return res
`)

// jobFixed are the fields of a job hash that never change after it is
// created; BeginJobs reads them outside the script.
var jobFixed = []string{"t", "r", "p", "e", "ts", "mid"}

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
// idle time (the visibility lease) when the entry has been idle longer
// than QueuePolicy.LeaseRenewAfter, counts the receive (setting the job
// aside as poison past MaxReceives), drops it when the webhook is gone, and
// for deliveries reserves the delivery log id of this attempt. The job's
// fixed fields are read in the same round trip, outside the script.
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
	for len(qs) > 0 {
		part := qs[:min(len(qs), MaxBatch)]
		qs = qs[len(part):]
		keys := make([]string, 0, 1+len(part))
		keys = append(keys, st.readyKey())
		args := make([]any, 0, 6+2*len(part))
		args = append(args, st.kp, QueueGroup, consumer, pol.MaxReceives, pol.ttl(), pol.LeaseRenewAfter.Milliseconds())
		for _, q := range part {
			keys = append(keys, st.jobKey(q.JobID))
			args = append(args, q.EntryID, itoa(q.JobID))
		}
		res, fixed, err := st.runBegin(ctx, keys, args)
		if err != nil {
			return nil, fmt.Errorf("redisstore: begin %d jobs: %w", len(part), err)
		}
		if len(res) != len(part) {
			return nil, fmt.Errorf("redisstore: begin %d jobs: %d replies", len(part), len(res))
		}
		hooks := map[int64]*Webhook{} // webhook records decoded from this reply
		for i, r := range res {
			out = append(out, decodeBegin(part[i], r, fixed[i], hooks))
		}
	}
	return out, nil
}

// runBegin runs beginScript and reads the fixed fields of each job
// (keys[1:]) in one pipeline (one round trip); the script is loaded when
// Redis does not have it.
func (st *Site) runBegin(ctx context.Context, keys []string, args []any) ([]any, [][]any, error) {
	for try := 0; ; try++ {
		var script *redis.Cmd
		fixed := make([]*redis.SliceCmd, len(keys)-1)
		_, err := st.store.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			if try == 0 {
				script = beginScript.EvalSha(ctx, pipe, keys, args...)
			} else {
				script = beginScript.Eval(ctx, pipe, keys, args...)
			}
			for i, k := range keys[1:] {
				fixed[i] = pipe.HMGet(ctx, k, jobFixed...)
			}
			return nil
		})
		if err != nil && try == 0 && redis.HasErrorPrefix(script.Err(), "NOSCRIPT") {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		res, err := script.Slice()
		if err != nil {
			return nil, nil, err
		}
		vals := make([][]any, len(fixed))
		for i, c := range fixed {
			vals[i] = c.Val()
		}
		return res, vals, nil
	}
}

// decodeBegin decodes the reply of beginOne for q, with the job's fixed
// fields; hooks holds the webhook records decoded from earlier jobs of the
// same reply, which carries each record once.
func decodeBegin(q QueuedJob, r any, fixed []any, hooks map[int64]*Webhook) BeginResult {
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
	if outcome != BeginOK || len(res) < 6 || len(fixed) != len(jobFixed) {
		return BeginResult{Outcome: outcome}
	}
	wd, _ := res[1].(string)
	m := make(map[string]string, len(jobFixed)+5)
	for i, k := range jobFixed {
		m[k], _ = fixed[i].(string)
	}
	for i, k := range []string{"w", "k", "a", "dl"} {
		m[k], _ = res[2+i].(string)
	}
	m["st"] = "inflight"
	job := jobFromMap(q.JobID, m)
	w, ok := hooks[job.WebhookID]
	if !ok {
		if wd == "" {
			return BeginResult{Err: fmt.Errorf("redisstore: begin job %d: no webhook record in the reply", q.JobID)}
		}
		var err error
		if w, err = decodeWebhook(job.WebhookID, wd); err != nil {
			return BeginResult{Err: err}
		}
		hooks[job.WebhookID] = w
	}
	wc := *w // each result owns its record
	wc.ID = job.WebhookID
	return BeginResult{Outcome: outcome, Job: job, Webhook: &wc}
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
