package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Import outcomes of one webhook, as ImportWebhooks reports them.
const (
	ImportCreated   = "created"   // the id was not stored yet
	ImportUpdated   = "updated"   // the id was stored with other data
	ImportUnchanged = "unchanged" // the id was stored with exactly this data
)

// MaxImport is the largest number of webhooks one ImportWebhooks call
// takes (10,000): the whole import runs as one Lua script.
const MaxImport = 10000

// ImportResult is what an import did (or, dry, would do) to one webhook.
type ImportResult struct {
	ID     int64  `json:"id"`
	Action string `json:"action"` // ImportCreated, ImportUpdated or ImportUnchanged
}

// ImportReport is the outcome of ImportWebhooks: one result per webhook in
// the order given, and the site's id counter afterwards (the next created
// webhook gets an id above both it and the store's IDFloor).
type ImportReport struct {
	Results []ImportResult `json:"results"`
	Counter int64          `json:"counter"`
}

// importScript: KEYS[1] = wh:seq, KEYS[1+i] = wh:<id i>. ARGV[1] key
// prefix, ARGV[2] dry ('1': only compare), ARGV[3] highest id, then 6
// arguments per webhook: padded id, status, created score, modified score,
// lower-case name, record JSON. Returns the actions (1 created, 2 updated,
// 3 unchanged) followed by the counter. Every argument was validated in
// Go, so nothing in the script can fail half-way.
var importScript = redis.NewScript(luaIndex + `
local p, dry = ARGV[1], ARGV[2] == '1'
local out = {}
for i = 2, #KEYS do
  local a = 4 + (i - 2) * 6
  local pid, st, c, m, ln, rec = ARGV[a], ARGV[a+1], ARGV[a+2], ARGV[a+3], ARGV[a+4], ARGV[a+5]
  local nm = ln .. '\0' .. pid
  local old = redis.call('HMGET', KEYS[i], 'd', 's', 'n')
  if old[1] == rec and old[2] == st and old[3] == nm then
    out[#out+1] = 3
  else
    out[#out+1] = old[1] and 2 or 1
    if not dry then
      if old[2] then index(p, 'ZREM', old[2], pid, 0, 0, old[3]) end
      redis.call('HSET', KEYS[i], 'd', rec, 's', st, 'n', nm, 'ln', ln)
      index(p, 'ZADD', st, pid, c, m, nm)
    end
  end
end
local seq = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local top = tonumber(ARGV[3])
if top > seq then
  seq = top
  if not dry then redis.call('SET', KEYS[1], ARGV[3]) end
end
out[#out+1] = seq
return out
`)

// ImportWebhooks stores webhooks copied from WordPress under their own ids,
// all or nothing: every webhook is validated first (an error names its
// index and nothing is written), then one Lua script writes records and
// indexes. A webhook stored with exactly the same data is left alone
// (ImportUnchanged), so importing the same input twice changes nothing; a
// stored one with other data is replaced (ImportUpdated). The site's id
// counter is raised to the highest imported id when below it, so ids the
// API creates later never clash. With dry set nothing is written and the
// report says what would happen. Dates are normalised as SaveWebhook does;
// an empty Status is an error.
func (st *Site) ImportWebhooks(ctx context.Context, hooks []Webhook, dry bool) (ImportReport, error) {
	if len(hooks) > MaxImport {
		return ImportReport{}, fmt.Errorf("redisstore: import: %d webhooks, at most %d per import", len(hooks), MaxImport)
	}
	keys := make([]string, 0, len(hooks)+1)
	keys = append(keys, st.key("wh", "seq"))
	seen := make(map[int64]int, len(hooks))
	var top int64
	args := make([]any, 0, 3+6*len(hooks))
	args = append(args, st.kp, flag(dry), "")
	for i := range hooks {
		w := hooks[i] // a copy: the caller's slice is not normalised
		if w.ID <= 0 {
			return ImportReport{}, fmt.Errorf("redisstore: import: webhook #%d: id %d is not positive", i, w.ID)
		}
		if j, dup := seen[w.ID]; dup {
			return ImportReport{}, fmt.Errorf("redisstore: import: webhook #%d: id %d repeats webhook #%d", i, w.ID, j)
		}
		seen[w.ID] = i
		if w.Created.IsZero() {
			return ImportReport{}, fmt.Errorf("redisstore: import: webhook %d: created date is zero", w.ID)
		}
		p, err := prepare(&w)
		if err != nil {
			return ImportReport{}, fmt.Errorf("redisstore: import: webhook %d: %w", w.ID, err)
		}
		top = max(top, w.ID)
		keys = append(keys, st.whKey(w.ID))
		args = append(args, padID(w.ID), p.status, p.created, p.modified, p.lname, p.record)
	}
	args[2] = itoa(top)
	res, err := importScript.Run(ctx, st.store.rdb, keys, args...).Int64Slice()
	if err != nil {
		return ImportReport{}, fmt.Errorf("redisstore: import webhooks: %w", err)
	}
	if len(res) != len(hooks)+1 {
		return ImportReport{}, errors.New("redisstore: import webhooks: unexpected script answer")
	}
	rep := ImportReport{Results: make([]ImportResult, len(hooks)), Counter: res[len(hooks)]}
	actions := map[int64]string{1: ImportCreated, 2: ImportUpdated, 3: ImportUnchanged}
	for i := range hooks {
		rep.Results[i] = ImportResult{ID: hooks[i].ID, Action: actions[res[i]]}
	}
	return rep, nil
}
