package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Parking keeps the overflow of a blocked webhook out of the work stream
// (keys per site, P the site prefix):
//
//	P dq:park:<wid>   list  job ids of webhook <wid> parked, oldest first
//	P dq:parked       zset  webhook ids with parked jobs, score = lease end unix ms (server time)
//	<prefix>:parked   set   names of sites that may have parked jobs (not per site)
//
// A dispatcher whose local lane of a webhook is full parks further jobs of
// it (ParkJobs) instead of deferring them one by one, and moves them back
// to the work stream when the lane has room (UnparkJobs). Each park or
// unpark renews the webhook's lease; when the process dies, any dispatcher
// moves the jobs of expired leases back (RecoverParked), so none is
// stranded.

// luaUnpark holds unparkOne: move up to n parked jobs of webhook w back to
// the work stream rk and renew (or drop) the lease in zset zk. Returns
// {moved, remaining}.
const luaUnpark = `
local function unparkOne(p, rk, zk, w, n, lease, now)
  local lk = p .. 'dq:park:' .. w
  local ids = redis.call('LPOP', lk, n)
  local moved = 0
  if ids then
    for _, jid in ipairs(ids) do
      local jk = p .. 'dq:job:' .. jid
      if redis.call('HGET', jk, 'st') == 'parked' then
        redis.call('XADD', rk, '*', 'j', jid, 'w', w)
        redis.call('HSET', jk, 'st', 'queued')
        moved = moved + 1
      end
    end
  end
  local left = redis.call('LLEN', lk)
  if left == 0 then
    redis.call('ZREM', zk, w)
  else
    redis.call('ZADD', zk, now + lease, w)
  end
  return {moved, left}
end
`

// parkScript: KEYS[1] = dq:ready, KEYS[2] = dq:parked. ARGV: prefix, group,
// lease ms, then entry id, job id, webhook id of each job. Returns how many
// were parked (an entry no longer pending is skipped).
var parkScript = redis.NewScript(luaJobs + `
local now = nowms()
local hooks = {}
local n = 0
for i = 4, #ARGV, 3 do
  local eid, jid, w = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('XACK', KEYS[1], ARGV[2], eid) == 1 then
    redis.call('XDEL', KEYS[1], eid)
    local jk = ARGV[1] .. 'dq:job:' .. jid
    if redis.call('EXISTS', jk) == 1 then
      redis.call('RPUSH', ARGV[1] .. 'dq:park:' .. w, jid)
      redis.call('HSET', jk, 'st', 'parked')
      hooks[w] = true
      n = n + 1
    end
  end
end
for w in pairs(hooks) do redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), w) end
return n
`)

// unparkScript: KEYS[1] = dq:ready, KEYS[2] = dq:parked. ARGV: prefix,
// webhook id, count, lease ms. Returns {moved, remaining}.
var unparkScript = redis.NewScript(luaJobs + luaUnpark + `
return unparkOne(ARGV[1], KEYS[1], KEYS[2], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), nowms())
`)

// recoverParkedScript: KEYS[1] = dq:ready, KEYS[2] = dq:parked. ARGV:
// prefix, count per webhook, lease ms, most webhooks. Returns {moved,
// webhooks still parked, then the ids of the expired webhooks that still
// have parked jobs}.
var recoverParkedScript = redis.NewScript(luaJobs + luaUnpark + `
local now = nowms()
local ws = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
local out = {0, 0}
for _, w in ipairs(ws) do
  local r = unparkOne(ARGV[1], KEYS[1], KEYS[2], w, tonumber(ARGV[2]), tonumber(ARGV[3]), now)
  out[1] = out[1] + r[1]
  if r[2] > 0 then out[#out + 1] = tonumber(w) end
end
out[2] = redis.call('ZCARD', KEYS[2])
return out
`)

// requeueScript: KEYS[1] = dq:ready. ARGV: prefix, group, consumer, then
// entry id, job id, webhook id of each job. Returns how many were queued
// again.
var requeueScript = redis.NewScript(luaJobs + `
local n = 0
for i = 4, #ARGV, 3 do
  local eid, jid, w = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local pe = redis.call('XPENDING', KEYS[1], ARGV[2], eid, eid, 1)
  if #pe > 0 and pe[1][2] == ARGV[3] then
    redis.call('XACK', KEYS[1], ARGV[2], eid)
    redis.call('XDEL', KEYS[1], eid)
    local st = redis.call('HGET', ARGV[1] .. 'dq:job:' .. jid, 'st')
    if st == 'queued' or st == 'retry' or st == 'inflight' then
      redis.call('XADD', KEYS[1], '*', 'j', jid, 'w', w)
      n = n + 1
    end
  end
end
return n
`)

func (st *Site) parkedKey() string      { return st.key("dq", "parked") }
func (s *Store) parkedSitesKey() string { return s.prefix + ":parked" }

// jobArgs appends entry id, job id and webhook id of each job to args.
func jobArgs(args []any, qs []QueuedJob) []any {
	for _, q := range qs {
		args = append(args, q.EntryID, itoa(q.JobID), itoa(q.WebhookID))
	}
	return args
}

// ParkJobs takes jobs the consumer holds off the work stream (XACK+XDEL)
// and appends them to their webhook's parked list, renewing the webhook's
// lease to lease from now, in one script per MaxBatch jobs. The site is
// recorded in the store's parked-sites set first, so RecoverParked finds
// it even if this process dies right after. It returns how many were
// parked; a job whose entry is no longer pending is skipped.
func (st *Site) ParkJobs(ctx context.Context, qs []QueuedJob, lease time.Duration) (int, error) {
	if len(qs) == 0 {
		return 0, nil
	}
	if err := st.store.rdb.SAdd(ctx, st.store.parkedSitesKey(), st.name).Err(); err != nil {
		return 0, fmt.Errorf("redisstore: park jobs: %w", err)
	}
	total := 0
	for len(qs) > 0 {
		part := qs[:min(len(qs), MaxBatch)]
		qs = qs[len(part):]
		args := jobArgs([]any{st.kp, QueueGroup, lease.Milliseconds()}, part)
		n, err := parkScript.Run(ctx, st.store.rdb, []string{st.readyKey(), st.parkedKey()}, args...).Int()
		if err != nil {
			return total, fmt.Errorf("redisstore: park jobs: %w", err)
		}
		total += n
	}
	return total, nil
}

// UnparkJobs moves up to n parked jobs of the webhook (oldest first) back
// to the work stream in one script and renews its lease to lease from now
// while more stay parked. It returns how many moved and how many remain.
func (st *Site) UnparkJobs(ctx context.Context, webhookID int64, n int, lease time.Duration) (moved, remaining int, err error) {
	if n <= 0 {
		return 0, 0, nil
	}
	res, err := unparkScript.Run(ctx, st.store.rdb, []string{st.readyKey(), st.parkedKey()},
		st.kp, itoa(webhookID), n, lease.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("redisstore: unpark jobs of webhook %d: %w", webhookID, err)
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("redisstore: unpark jobs: unexpected reply of %d elements", len(res))
	}
	return int(res[0]), int(res[1]), nil
}

// Recovered is what RecoverParked did.
type Recovered struct {
	Moved       int     // jobs moved back to the work stream
	ParkedHooks int     // webhooks of the site with parked jobs left
	Taken       []int64 // expired webhooks that still have parked jobs; their lease is now the caller's
}

// RecoverParked moves back up to n parked jobs of every webhook of the
// site whose lease has expired (its dispatcher died or stopped), in one
// script, renewing those leases to lease from now: the caller takes them
// over and unparks the rest as its lanes drain.
func (st *Site) RecoverParked(ctx context.Context, n int, lease time.Duration) (Recovered, error) {
	res, err := recoverParkedScript.Run(ctx, st.store.rdb, []string{st.readyKey(), st.parkedKey()},
		st.kp, max(n, 1), lease.Milliseconds(), 100).Int64Slice()
	if err != nil {
		return Recovered{}, fmt.Errorf("redisstore: recover parked jobs: %w", err)
	}
	if len(res) < 2 {
		return Recovered{}, fmt.Errorf("redisstore: recover parked jobs: unexpected reply of %d elements", len(res))
	}
	return Recovered{Moved: int(res[0]), ParkedHooks: int(res[1]), Taken: res[2:]}, nil
}

// ParkedSites returns the sites recorded by ParkJobs that may still have
// parked jobs.
func (s *Store) ParkedSites(ctx context.Context) ([]string, error) {
	names, err := s.rdb.SMembers(ctx, s.parkedSitesKey()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redisstore: list parked sites: %w", err)
	}
	return names, nil
}

// ForgetParkedSite removes the site from the parked-sites set (after
// RecoverParked found no webhook parked). A ParkJobs racing with it adds
// the site again on its next call; a periodic RecoverParked over every
// site covers the rest.
func (s *Store) ForgetParkedSite(ctx context.Context, name string) error {
	if err := s.rdb.SRem(ctx, s.parkedSitesKey(), name).Err(); err != nil {
		return fmt.Errorf("redisstore: forget parked site: %w", err)
	}
	return nil
}

// ParkedCount returns how many jobs of the webhook are parked.
func (st *Site) ParkedCount(ctx context.Context, webhookID int64) (int64, error) {
	n, err := st.store.rdb.LLen(ctx, st.key("dq", "park", itoa(webhookID))).Result()
	if err != nil {
		return 0, fmt.Errorf("redisstore: count parked jobs: %w", err)
	}
	return n, nil
}

// RequeueJobs hands jobs consumer read but never sent back to the work
// stream at once (XACK+XDEL, then XADD of a new entry), in one script per
// MaxBatch jobs, so any dispatcher takes them without waiting for the
// visibility timeout (a stopping dispatcher calls it). A job begun but not
// sent ("inflight") goes back too; an entry no longer pending to consumer
// (finished, or reclaimed by another dispatcher) is left alone, and a
// finished job is not queued again. It returns how many were queued again.
func (st *Site) RequeueJobs(ctx context.Context, consumer string, qs []QueuedJob) (int, error) {
	total := 0
	for len(qs) > 0 {
		part := qs[:min(len(qs), MaxBatch)]
		qs = qs[len(part):]
		args := jobArgs([]any{st.kp, QueueGroup, consumer}, part)
		n, err := requeueScript.Run(ctx, st.store.rdb, []string{st.readyKey()}, args...).Int()
		if err != nil {
			return total, fmt.Errorf("redisstore: requeue jobs: %w", err)
		}
		total += n
	}
	return total, nil
}
