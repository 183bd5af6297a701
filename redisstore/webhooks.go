package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The per-status index sets: "all" holds every webhook, the others one
// status each.
var indexStatuses = []string{"all", StatusActive, StatusPaused, StatusDisabled}

// luaIndex is shared by the webhook scripts: it adds (op "ZADD") or removes
// (op "ZREM") webhook pid with status st and name member nm to/from the
// "all" and per-status indexes of prefix p.
const luaIndex = `
local function index(p, op, st, pid, c, m, nm)
  for _, s in ipairs({'all', st}) do
    local ix = p .. 'wh:ix:' .. s .. ':'
    if op == 'ZADD' then
      redis.call('ZADD', ix .. 'id', 0, pid)
      redis.call('ZADD', ix .. 'created', c, pid)
      redis.call('ZADD', ix .. 'modified', m, pid)
      redis.call('ZADD', ix .. 'name', 0, nm)
    else
      redis.call('ZREM', ix .. 'id', pid)
      redis.call('ZREM', ix .. 'created', pid)
      redis.call('ZREM', ix .. 'modified', pid)
      redis.call('ZREM', ix .. 'name', nm)
    end
  end
end
`

// createScript: KEYS[1] = wh:seq. ARGV: key prefix, id floor, status,
// created score, modified score, lower-case name, record JSON.
// Returns the new id.
var createScript = redis.NewScript(luaIndex + `
local p = ARGV[1]
local floor = tonumber(ARGV[2])
local id = redis.call('INCR', KEYS[1])
if id <= floor then
  id = floor + 1
  redis.call('SET', KEYS[1], string.format('%d', id))
end
local sid = string.format('%d', id)
local pid = string.format('%019d', id)
local nm = ARGV[6] .. '\0' .. pid
redis.call('HSET', p .. 'wh:' .. sid, 'd', ARGV[7], 's', ARGV[3], 'n', nm, 'ln', ARGV[6])
index(p, 'ZADD', ARGV[3], pid, ARGV[4], ARGV[5], nm)
return id
`)

// saveScript: KEYS[1] = wh:<id>. ARGV: key prefix, padded id, status,
// created score, modified score, lower-case name, record JSON.
// Returns 0 when the webhook is gone, 1 when saved.
var saveScript = redis.NewScript(luaIndex + luaWebhookState + `
local p = ARGV[1]
local old = redis.call('HMGET', KEYS[1], 's', 'n', 'd')
if not old[1] then return 0 end
local st, d = ARGV[3], ARGV[7]
if ARGV[8] ~= '' then
  -- What the dispatcher changed since the caller read the webhook, and
  -- the caller leaves as it read it, stays as the dispatcher left it.
  local readFC, storedFC = tonumber(ARGV[9]), failureCount(old[3])
  if storedFC ~= readFC and failureCount(d) == readFC then
    d = setf(d, 'failure_count', string.format('%d', storedFC))
  end
  if old[1] ~= ARGV[8] and st == ARGV[8] then
    st = old[1]
    d = setf(d, 'status', '"' .. st .. '"')
  end
end
index(p, 'ZREM', old[1], ARGV[2], 0, 0, old[2])
local nm = ARGV[6] .. '\0' .. ARGV[2]
redis.call('HSET', KEYS[1], 'd', d, 's', st, 'n', nm, 'ln', ARGV[6])
index(p, 'ZADD', st, ARGV[2], ARGV[4], ARGV[5], nm)
return 1
`)

// deleteScript: KEYS[1] = wh:<id>, KEYS[2] = dl:<id>, KEYS[3] = dl:<id>:rec.
// ARGV: key prefix, padded id. Returns 0 when absent, 1 when deleted.
var deleteScript = redis.NewScript(luaIndex + `
local old = redis.call('HMGET', KEYS[1], 's', 'n')
if not old[1] then return 0 end
index(ARGV[1], 'ZREM', old[1], ARGV[2], 0, 0, old[2])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return 1
`)

// prepared is a webhook checked and turned into script arguments.
type prepared struct {
	status, created, modified, lname, record string
}

// prepare validates w, normalises its dates (UTC, microseconds) in place and
// encodes the record (without the id, which the key carries).
func prepare(w *Webhook) (prepared, error) {
	if w == nil {
		return prepared{}, errors.New("webhook is nil")
	}
	switch w.Status {
	case StatusActive, StatusPaused, StatusDisabled:
	default:
		return prepared{}, fmt.Errorf("invalid webhook status %q", w.Status)
	}
	w.Created = normTime(w.Created)
	if err := checkScoreTime(w.Created, "created"); err != nil {
		return prepared{}, err
	}
	if w.Modified.IsZero() {
		w.Modified = time.Time{}
	} else {
		w.Modified = normTime(w.Modified)
		if err := checkScoreTime(w.Modified, "modified"); err != nil {
			return prepared{}, err
		}
	}
	rec := *w
	rec.ID = 0
	b, err := json.Marshal(&rec)
	if err != nil {
		return prepared{}, fmt.Errorf("encode webhook: %w", err)
	}
	return prepared{
		status:   w.Status,
		created:  createdScore(w.Created),
		modified: modifiedScore(w.Modified),
		lname:    strings.ToLower(w.Name),
		record:   string(b),
	}, nil
}

// CreateWebhook stores a new webhook. It assigns w.ID from the site's
// counter (never at or below the store's IDFloor), sets w.Created to now
// when zero, normalises the dates to UTC microseconds and defaults an empty
// Status to active. Record and indexes are written by one Lua script.
func (st *Site) CreateWebhook(ctx context.Context, w *Webhook) error {
	if w == nil {
		return errors.New("redisstore: create webhook: webhook is nil")
	}
	if w.Status == "" {
		w.Status = StatusActive
	}
	if w.Created.IsZero() {
		w.Created = time.Now()
	}
	p, err := prepare(w)
	if err != nil {
		return fmt.Errorf("redisstore: create webhook: %w", err)
	}
	id, err := createScript.Run(ctx, st.store.rdb, []string{st.key("wh", "seq")},
		st.kp, st.store.floor, p.status, p.created, p.modified, p.lname, p.record).Int64()
	if err != nil {
		return fmt.Errorf("redisstore: create webhook: %w", err)
	}
	w.ID = id
	return nil
}

// SaveWebhook replaces the stored webhook w.ID with w and moves its indexes,
// in one Lua script. Dates are normalised to UTC microseconds; Modified is
// stored as the caller set it. ErrNotFound when the webhook is gone.
func (st *Site) SaveWebhook(ctx context.Context, w *Webhook) error {
	return st.saveWebhook(ctx, w, nil)
}

// SaveWebhookEdit saves w, an edit of before (the webhook as the caller
// read it), like SaveWebhook, except that the failure_count and status the
// dispatcher changed since before was read are kept where the edit leaves
// them as they were in before: a read-modify-write of the API never undoes
// a failure or an auto-disable that happened meanwhile.
func (st *Site) SaveWebhookEdit(ctx context.Context, before, w *Webhook) error {
	if before == nil {
		return errors.New("redisstore: save webhook: before is nil")
	}
	return st.saveWebhook(ctx, w, before)
}

func (st *Site) saveWebhook(ctx context.Context, w, before *Webhook) error {
	if w == nil {
		return errors.New("redisstore: save webhook: webhook is nil")
	}
	if w.ID <= 0 {
		return ErrNotFound
	}
	if w.Created.IsZero() {
		return errors.New("redisstore: save webhook: created date is zero")
	}
	p, err := prepare(w)
	if err != nil {
		return fmt.Errorf("redisstore: save webhook %d: %w", w.ID, err)
	}
	readStatus, readFC := "", "0"
	if before != nil {
		readStatus, readFC = before.Status, strconv.Itoa(before.FailureCount)
	}
	n, err := saveScript.Run(ctx, st.store.rdb, []string{st.whKey(w.ID)},
		st.kp, padID(w.ID), p.status, p.created, p.modified, p.lname, p.record, readStatus, readFC).Int()
	if err != nil {
		return fmt.Errorf("redisstore: save webhook %d: %w", w.ID, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteWebhook removes the webhook, its index entries and its delivery log
// in one Lua script. It reports whether the webhook existed.
func (st *Site) DeleteWebhook(ctx context.Context, id int64) (bool, error) {
	if id <= 0 {
		return false, nil
	}
	sid := itoa(id)
	n, err := deleteScript.Run(ctx, st.store.rdb,
		[]string{st.whKey(id), st.key("dl", sid), st.key("dl", sid, "rec")},
		st.kp, padID(id)).Int()
	if err != nil {
		return false, fmt.Errorf("redisstore: delete webhook %d: %w", id, err)
	}
	return n == 1, nil
}

// GetWebhook returns the webhook, secret included; ErrNotFound when absent.
func (st *Site) GetWebhook(ctx context.Context, id int64) (*Webhook, error) {
	if id <= 0 {
		return nil, ErrNotFound
	}
	s, err := st.store.rdb.HGet(ctx, st.whKey(id), "d").Result()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: get webhook %d: %w", id, err)
	}
	return decodeWebhook(id, s)
}

// GetWebhooks returns the webhooks with the given ids in the order given,
// skipping missing ones. One pipelined round trip.
func (st *Site) GetWebhooks(ctx context.Context, ids []int64) ([]Webhook, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringCmd, len(ids))
	_, err := st.store.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = pipe.HGet(ctx, st.whKey(id), "d")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redisstore: get webhooks: %w", err)
	}
	out := make([]Webhook, 0, len(ids))
	for i, cmd := range cmds {
		s, err := cmd.Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("redisstore: get webhook %d: %w", ids[i], err)
		}
		w, err := decodeWebhook(ids[i], s)
		if err != nil {
			return nil, err
		}
		out = append(out, *w)
	}
	return out, nil
}

func (st *Site) whKey(id int64) string { return st.key("wh", itoa(id)) }

func decodeWebhook(id int64, s string) (*Webhook, error) {
	var w Webhook
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		return nil, fmt.Errorf("redisstore: decode webhook %d: %w", id, err)
	}
	w.ID = id
	return &w, nil
}
