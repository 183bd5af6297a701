package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// promoteScript: KEYS[1] = dq:delayed, KEYS[2] = dq:ready. ARGV: prefix,
// limit, group. It also trims what the group has acknowledged from the
// work and event streams (see trimAcked; the job scripts trim in whole
// nodes, this leaves a drained stream empty). Returns {moved, ms until the
// next due job or -1}.
var promoteScript = redis.NewScript(luaJobs + `
pcall(trimAcked, KEYS[2], ARGV[3])
pcall(trimAcked, ARGV[1] .. 'ev', ARGV[3])
local now = nowms()
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, jid in ipairs(ids) do
  local jk = ARGV[1] .. 'dq:job:' .. jid
  local w = redis.call('HGET', jk, 'w')
  if w then
    redis.call('XADD', KEYS[2], '*', 'j', jid, 'w', w)
    redis.call('HSET', jk, 'st', 'queued')
  end
  redis.call('ZREM', KEYS[1], jid)
end
local nx = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #nx == 0 then return {#ids, -1} end
local d = tonumber(nx[2]) - now
if d < 0 then d = 0 end
return {#ids, d}
`)

// PromoteDue moves up to limit due jobs from the delayed set to the work
// stream in one Lua script, judged by Redis server time, and trims the
// acknowledged entries of the work and event streams. It returns how many
// moved and the time until the next one is due (-1: none waiting).
func (st *Site) PromoteDue(ctx context.Context, limit int) (int, time.Duration, error) {
	res, err := promoteScript.Run(ctx, st.store.rdb, []string{st.key("dq", "delayed"), st.readyKey()},
		st.kp, limit, QueueGroup).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("redisstore: promote due jobs: %w", err)
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("redisstore: promote due jobs: unexpected reply of %d elements", len(res))
	}
	next := time.Duration(-1)
	if res[1] >= 0 {
		next = time.Duration(res[1]) * time.Millisecond
	}
	return int(res[0]), next, nil
}

// enqueueScript: KEYS[1] = dq:ready, KEYS[2] = dq:seq. ARGV: prefix,
// webhook id, then field/value pairs. Returns the job id.
var enqueueScript = redis.NewScript(luaJobs + `
local jid = string.format('%d', redis.call('INCR', KEYS[2]))
local jk = ARGV[1] .. 'dq:job:' .. jid
redis.call('HSET', jk, 'w', ARGV[2], 'a', 0, 'rcv', 0, 'st', 'queued', 'c', string.format('%d', nowms()))
for i = 3, #ARGV, 2 do redis.call('HSET', jk, ARGV[i], ARGV[i + 1]) end
local mid = redis.call('HGET', jk, 'mid')
if not mid or mid == '' then redis.call('HSET', jk, 'mid', 'job_' .. jid) end
redis.call('XADD', KEYS[1], '*', 'j', jid, 'w', ARGV[2])
return tonumber(jid)
`)

// EnqueueJob creates a job (a ping, or a redelivery that keeps MessageID;
// an empty MessageID becomes "job_<job id>") and queues it, in one Lua
// script. It returns the job id.
func (st *Site) EnqueueJob(ctx context.Context, j Job) (int64, error) {
	if j.WebhookID <= 0 {
		return 0, errors.New("redisstore: enqueue job: no webhook id")
	}
	if j.Kind != JobDelivery && j.Kind != JobPing {
		return 0, fmt.Errorf("redisstore: enqueue job: unknown kind %q", j.Kind)
	}
	args := []any{st.kp, itoa(j.WebhookID), "k", j.Kind, "t", j.Topic, "r", itoa(j.ResourceID),
		"p", j.Payload, "e", j.EventID, "mid", j.MessageID}
	if !j.EventTime.IsZero() {
		args = append(args, "ts", itoa(j.EventTime.UnixMilli()))
	}
	id, err := enqueueScript.Run(ctx, st.store.rdb, []string{st.readyKey(), st.key("dq", "seq")}, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("redisstore: enqueue job: %w", err)
	}
	return id, nil
}

// JobForDelivery returns the job that logged delivery deliveryID of the
// webhook belonged to, while both are kept (the log entry, and the job for
// QueuePolicy.Retention); ErrNotFound otherwise. The job id is kept beside
// the log entry (field "j<delivery id>" of dl:<webhook id>:rec); logs
// written before that kept it in dq:dlj:<delivery id>, still read.
func (st *Site) JobForDelivery(ctx context.Context, webhookID, deliveryID int64) (*Job, error) {
	if webhookID <= 0 || deliveryID <= 0 {
		return nil, ErrNotFound
	}
	jid, err := st.store.rdb.HGet(ctx, st.key("dl", itoa(webhookID), "rec"), "j"+itoa(deliveryID)).Int64()
	if errors.Is(err, redis.Nil) {
		jid, err = st.store.rdb.Get(ctx, st.key("dq", "dlj", itoa(deliveryID))).Int64()
	}
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: job of delivery %d: %w", deliveryID, err)
	}
	m, err := st.store.rdb.HGetAll(ctx, st.jobKey(jid)).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: job of delivery %d: %w", deliveryID, err)
	}
	if len(m) == 0 {
		return nil, ErrNotFound
	}
	return jobFromMap(jid, m), nil
}

// GetJob returns a job by id; ErrNotFound when it is gone.
func (st *Site) GetJob(ctx context.Context, id int64) (*Job, error) {
	m, err := st.store.rdb.HGetAll(ctx, st.jobKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: get job %d: %w", id, err)
	}
	if len(m) == 0 {
		return nil, ErrNotFound
	}
	return jobFromMap(id, m), nil
}

// QueueStats are the sizes of a site's queues.
type QueueStats struct {
	Events        int64 // events not yet fanned out (in the stream)
	EventsPending int64 // of which read but not yet fanned out
	Ready         int64 // jobs in the work stream
	ReadyPending  int64 // of which read and not finished (in flight or lost with a consumer)
	Delayed       int64 // jobs waiting for a retry
	Parked        int64 // jobs parked while their webhook's lane is full
}

// QueueStats returns the sizes of the site's queues in one pipeline.
func (st *Site) QueueStats(ctx context.Context) (QueueStats, error) {
	var qs QueueStats
	var el, rl, dc *redis.IntCmd
	var ep, rp *redis.XPendingCmd
	var parked *redis.StringSliceCmd
	_, err := st.store.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		el = p.XLen(ctx, st.evKey())
		rl = p.XLen(ctx, st.readyKey())
		dc = p.ZCard(ctx, st.key("dq", "delayed"))
		parked = p.ZRange(ctx, st.parkedKey(), 0, -1)
		ep = p.XPending(ctx, st.evKey(), QueueGroup)
		rp = p.XPending(ctx, st.readyKey(), QueueGroup)
		return nil
	})
	if err != nil && !isNoGroup(err) {
		return qs, fmt.Errorf("redisstore: queue stats: %w", err)
	}
	qs.Events, qs.Ready, qs.Delayed = el.Val(), rl.Val(), dc.Val()
	if v := ep.Val(); v != nil {
		qs.EventsPending = v.Count
	}
	if v := rp.Val(); v != nil {
		qs.ReadyPending = v.Count
	}
	if hooks := parked.Val(); len(hooks) > 0 {
		lens := make([]*redis.IntCmd, len(hooks))
		if _, err := st.store.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, w := range hooks {
				lens[i] = p.LLen(ctx, st.key("dq", "park", w))
			}
			return nil
		}); err != nil {
			return qs, fmt.Errorf("redisstore: queue stats: %w", err)
		}
		for _, n := range lens {
			qs.Parked += n.Val()
		}
	}
	return qs, nil
}

func isNoGroup(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && len(rerr.Error()) >= 7 && rerr.Error()[:7] == "NOGROUP"
}
