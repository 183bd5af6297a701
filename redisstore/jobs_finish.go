package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

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
