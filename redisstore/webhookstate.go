package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// luaWebhookState changes only failure_count, status, pending_delivery and
// modified of a stored webhook, in place, so it never races a concurrent
// SaveWebhook on the other fields. The stored record is Go's encoding of
// Webhook; a pattern such as `"status":` can never match inside a JSON
// string (a quote there is always preceded by a backslash), so the
// substitutions touch only the fields named. A status change moves the
// webhook between the per-status indexes; every change moves the modified
// score.
//
// whWrite(p, wid, d, st, newst, modStr, modScore) stores record d of
// webhook wid with status st, setting modified, and moves it to status
// newst when set. failureCount(d) reads failure_count from a record.
//
// whState(p, wid, fc, maxf, clear, modStr, modScore): fc is 'reset',
// 'inc' or empty; maxf the failure count that disables an active webhook;
// clear '1' clears pending_delivery. Returns 'gone', 'same', 'ok' or
// 'disabled'.
const luaWebhookState = `
local function setf(d, name, v)
  return (string.gsub(d, '"' .. name .. '":[^,}]*', function() return '"' .. name .. '":' .. v end, 1))
end
local function failureCount(d)
  return tonumber(string.match(d, '"failure_count":(%-?%d+)')) or 0
end
local function whWrite(p, wid, d, st, newst, modStr, modScore)
  local key = p .. 'wh:' .. wid
  d = setf(d, 'modified', '"' .. modStr .. '"')
  local pid = string.format('%019d', tonumber(wid))
  local ix = p .. 'wh:ix:'
  redis.call('ZADD', ix .. 'all:modified', modScore, pid)
  if newst then
    local nm = redis.call('HGET', key, 'n')
    local c = redis.call('ZSCORE', ix .. 'all:created', pid) or 0
    redis.call('ZREM', ix .. st .. ':id', pid)
    redis.call('ZREM', ix .. st .. ':created', pid)
    redis.call('ZREM', ix .. st .. ':modified', pid)
    redis.call('ZREM', ix .. st .. ':name', nm)
    redis.call('ZADD', ix .. newst .. ':id', 0, pid)
    redis.call('ZADD', ix .. newst .. ':created', c, pid)
    redis.call('ZADD', ix .. newst .. ':modified', modScore, pid)
    redis.call('ZADD', ix .. newst .. ':name', 0, nm)
    d = setf(d, 'status', '"' .. newst .. '"')
    redis.call('HSET', key, 'd', d, 's', newst)
    return
  end
  redis.call('ZADD', ix .. st .. ':modified', modScore, pid)
  redis.call('HSET', key, 'd', d)
end
local function whState(p, wid, fc, maxf, clear, modStr, modScore)
  local ds = redis.call('HMGET', p .. 'wh:' .. wid, 'd', 's')
  local d, st = ds[1], ds[2]
  if not d then return 'gone' end
  local n = failureCount(d)
  local changed, newst = false, nil
  if fc == 'reset' and n ~= 0 then
    d = setf(d, 'failure_count', '0'); changed = true
  elseif fc == 'inc' then
    n = n + 1
    d = setf(d, 'failure_count', string.format('%d', n)); changed = true
    if n >= tonumber(maxf) and st == 'active' then newst = 'disabled' end
  end
  if clear == '1' and string.find(d, '"pending_delivery":true', 1, true) then
    d = setf(d, 'pending_delivery', 'false'); changed = true
  end
  if not changed then return 'same' end
  whWrite(p, wid, d, st, newst, modStr, modScore)
  if newst then return 'disabled' end
  return 'ok'
end
`

// modArgs returns the modified date as Go encodes it in a record and as
// its index score.
func modArgs(now time.Time) (string, string) {
	t := normTime(now)
	return t.Format(time.RFC3339Nano), itoa(t.UnixMicro())
}

var clearPendingScript = redis.NewScript(luaWebhookState + `
return whState(ARGV[1], ARGV[2], '', 0, '1', ARGV[3], ARGV[4])
`)

// ClearPendingDelivery sets pending_delivery false (and Modified to now)
// on the stored webhook when it is true, touching no other field. It
// reports whether the webhook exists.
func (st *Site) ClearPendingDelivery(ctx context.Context, webhookID int64) (bool, error) {
	ms, sc := modArgs(time.Now())
	r, err := clearPendingScript.Run(ctx, st.store.rdb, []string{st.whKey(webhookID)},
		st.kp, itoa(webhookID), ms, sc).Text()
	if err != nil {
		return false, fmt.Errorf("redisstore: clear pending delivery of webhook %d: %w", webhookID, err)
	}
	return r != "gone", nil
}
