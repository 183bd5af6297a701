package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// luaFinish holds the phases of finishScript. A job j is a table: k its
// key, eid, jid, rec (the delivery record, empty for none), delay (empty for a
// success, < 0 a final failure), why, n (its place in the reply), and w,
// dl, fin, a as read from the job. A webhook hk collects its jobs in
// order; d and st are its record and status.
//
// logHook logs the deliveries of one webhook's jobs under their reserved
// ids with one ZADD and one HSET (field "j<dl>" keeps the job id of
// delivery dl, for redelivery), then trims the log to keep entries.
// Nothing is logged when the webhook is gone.
//
// jobOutcome records one job's outcome (job hash, retry schedule or dead
// letter) and notes the failure_count change due, fc = 'reset' or 'inc'.
//
// hookState applies the failure_count changes of one webhook's jobs in
// order (a success resets, a final failure adds 1 and disables an active
// webhook at maxf) and writes the record once; it sets each job's result.
const luaFinish = `
local function logHook(p, w, hk, keep)
  local ds = redis.call('HMGET', p .. 'wh:' .. w, 'd', 's')
  hk.d, hk.st = ds[1], ds[2]
  if not hk.d then return end
  local z = p .. 'dl:' .. w
  local zs, hs = {}, {}
  for _, j in ipairs(hk.jobs) do
    if j.dl and j.dl ~= '' and j.dl ~= '0' and j.rec ~= '' then
      zs[#zs + 1] = j.dl; zs[#zs + 1] = j.dl
      hs[#hs + 1] = j.dl; hs[#hs + 1] = j.rec
      hs[#hs + 1] = 'j' .. j.dl; hs[#hs + 1] = j.jid
    end
  end
  if #zs == 0 then return end
  callList('ZADD', z, zs, 512)
  callList('HSET', z .. ':rec', hs, 512)
  local n = redis.call('ZCARD', z)
  if n > keep then
    local old = redis.call('ZPOPMIN', z, n - keep)
    local del = {}
    for i = 1, #old, 2 do del[#del + 1] = old[i]; del[#del + 1] = 'j' .. old[i] end
    callList('HDEL', z .. ':rec', del, 512)
  end
end
local function jobOutcome(p, j, ttl, now)
  local a = string.format('%d', j.a + 1)
  if j.delay == '' then
    redis.call('HSET', j.k, 'st', 'done', 'rcv', '0', 'fin', '1', 'a', a)
    redis.call('EXPIRE', j.k, ttl)
    if j.fin then return 'dup' end
    j.fc = 'reset'
    return nil
  end
  local delay = tonumber(j.delay)
  if delay >= 0 then
    redis.call('ZADD', p .. 'dq:delayed', string.format('%d', now + delay), j.jid)
    redis.call('HSET', j.k, 'st', 'retry', 'rcv', '0', 'a', a)
    return 'retry'
  end
  redis.call('HSET', j.k, 'st', 'failed', 'fin', '1', 'rcv', '0', 'a', a)
  redis.call('EXPIRE', j.k, ttl)
  if j.fin then return 'dup' end
  redis.call('XADD', p .. 'dq:dead', 'MAXLEN', '~', '10000', '*', 'j', j.jid, 'why', j.why)
  j.fc = 'inc'
  return nil
end
local function hookState(p, w, hk, maxf, ms, sc, res)
  if not hk.d then
    for _, j in ipairs(hk.jobs) do
      if j.fc then res[j.n] = 'gone' end
    end
    return
  end
  local d, st = hk.d, hk.st
  local n = failureCount(d)
  local changed, newst = false, nil
  for _, j in ipairs(hk.jobs) do
    if j.fc == 'reset' then
      res[j.n] = 'same'
      if n ~= 0 then n = 0; changed = true; res[j.n] = 'ok' end
    elseif j.fc == 'inc' then
      n = n + 1; changed = true; res[j.n] = 'ok'
      if n >= maxf and st == 'active' and not newst then newst = 'disabled'; res[j.n] = 'disabled' end
    end
  end
  if not changed then return end
  d = setf(d, 'failure_count', string.format('%d', n))
  whWrite(p, w, d, st, newst, ms, sc)
end
`

// finishScript records the outcomes of many attempts, each as CompleteJob
// or FailJob describe (an error in one is reported for it alone and leaves
// it pending). KEYS[1] = dq:ready, KEYS[1+i] = dq:job:<jid of job i>.
// ARGV: prefix, group, keep, ttl, max failures, modified string, modified
// score, then for each job: entry id, job id, record, delay ms (” for a
// success; < 0 a final failure), reason. It reads the jobs, logs the
// deliveries per webhook, records each outcome, applies the failure_count
// changes per webhook, then acknowledges the entries with one XACK and
// trims what the group has acknowledged from the stream. Returns one word
// per job ({'err', message} on an error).
var finishScript = redis.NewScript(luaWebhookState + luaJobs + luaFinish + `
local p, g, keep, ttl, maxf, ms, sc = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7]
local rk = KEYS[1]
local res, jobs, hooks, order = {}, {}, {}, {}
for i = 2, #KEYS do
  local a = 8 + 5 * (i - 2)
  local j = {k = KEYS[i], eid = ARGV[a], jid = ARGV[a + 1], rec = ARGV[a + 2], delay = ARGV[a + 3], why = ARGV[a + 4], n = i - 1}
  jobs[#jobs + 1] = j
  local ok, h = pcall(redis.call, 'HMGET', j.k, 'w', 'dl', 'fin', 'a')
  if not ok then
    res[j.n] = {'err', perr(h)}
  elseif not h[1] then
    res[j.n] = 'gone'
  else
    j.w, j.dl, j.fin, j.a = h[1], h[2], h[3], tonumber(h[4]) or 0
    local hk = hooks[j.w]
    if not hk then hk = {jobs = {}}; hooks[j.w] = hk; order[#order + 1] = j.w end
    hk.jobs[#hk.jobs + 1] = j
  end
end
for _, w in ipairs(order) do
  local hk = hooks[w]
  local ok, e = pcall(logHook, p, w, hk, keep)
  if not ok then
    hk.failed = true
    for _, j in ipairs(hk.jobs) do res[j.n] = {'err', perr(e)} end
  end
end
local now = nowms()
for _, j in ipairs(jobs) do
  if j.w and not res[j.n] then
    local ok, r = pcall(jobOutcome, p, j, ttl, now)
    if not ok then r = {'err', perr(r)} end
    res[j.n] = r
  end
end
for _, w in ipairs(order) do
  local hk = hooks[w]
  if not hk.failed then
    local ok, e = pcall(hookState, p, w, hk, maxf, ms, sc, res)
    if not ok then
      for _, j in ipairs(hk.jobs) do
        if j.fc then res[j.n] = {'err', perr(e)} end
      end
    end
  end
end
local acked = {}
for _, j in ipairs(jobs) do
  if res[j.n] == nil then res[j.n] = {'err', 'no outcome recorded'} end
  if type(res[j.n]) ~= 'table' then acked[#acked + 1] = j.eid end
end
if #acked > 0 then
  table.insert(acked, 1, g)
  redis.call('XACK', rk, unpack(acked))
  pcall(trimAcked, rk, g)
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

// CompleteJob records a successful attempt in one Lua script: XACK of
// the entry (the stream is trimmed below its oldest pending entry), the delivery log record under the reserved id (d may be nil
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

// FailJob records a failed attempt in one Lua script: XACK, the
// delivery log record, attempts+1, and either a retry due retryIn from now
// (Redis server time) when retryIn >= 0, or the delivery's final failure:
// job failed, a dead-letter entry, and failure_count+1 on the webhook
// (once per job), disabling it when the count reaches MaxFailures. It
// returns FailRetry, FailFailed, FailDisabled, or another word when
// nothing changed ("gone", "dup", "same").
func (st *Site) FailJob(ctx context.Context, q QueuedJob, d *Delivery, retryIn time.Duration, reason string, pol QueuePolicy) (string, error) {
	return st.finishOne(ctx, Outcome{Job: q, Delivery: d, RetryIn: retryIn, Reason: reason}, pol)
}

// dropScript: KEYS[1] = dq:ready, KEYS[2] = dq:job:<jid>. ARGV: prefix,
// group, entry id, ttl, status, clear pending ('1'), modified string,
// modified score.
var dropScript = redis.NewScript(luaWebhookState + luaJobs + `
ackdel(KEYS[1], ARGV[2], ARGV[3])
pcall(trimAcked, KEYS[1], ARGV[2])
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

// DeferJob puts a queued job back for later without counting an attempt:
// XACK+XDEL and ZADD to the delayed set, in one script. (The dispatcher
// parks a full lane's jobs instead, see ParkJobs.)
func (st *Site) DeferJob(ctx context.Context, q QueuedJob, delay time.Duration) error {
	err := deferScript.Run(ctx, st.store.rdb, []string{st.readyKey(), st.jobKey(q.JobID)},
		st.kp, QueueGroup, q.EntryID, itoa(q.JobID), delay.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("redisstore: defer job %d: %w", q.JobID, err)
	}
	return nil
}
