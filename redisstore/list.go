package redisstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// listScript selects one page of webhooks from the sorted-set indexes and
// returns {total, pid1, record1, pid2, record2, ...}.
//
// KEYS[1] = the ordering index (wh:ix:<status>:<order>). ARGV: key prefix,
// status set, order, desc ("1"/"0"), offset, limit (-1: all), created
// lo/hi/set, modified lo/hi/set, lower-case search ("" none), then the
// padded ids to exclude.
//
// Without search and exclude, and with no date range or only a range on the
// ordering's own date, the page is addressed by rank: O(log n + page). Any
// other query collects candidates (the whole index, or the members of the
// narrower date range) and walks them: O(n) or O(m log n).
var listScript = redis.NewScript(`
local p, st, ord = ARGV[1], ARGV[2], ARGV[3]
local desc = ARGV[4] == '1'
local offset, limit = tonumber(ARGV[5]), tonumber(ARGV[6])
local ix = p .. 'wh:ix:' .. st .. ':'
local okey = KEYS[1]
local function bound(s)
  if s == '-inf' then return -math.huge end
  if s == '+inf' then return math.huge end
  return tonumber(s)
end
local cr = {set = ARGV[9] == '1', lo = ARGV[7], hi = ARGV[8], key = ix .. 'created'}
local mr = {set = ARGV[12] == '1', lo = ARGV[10], hi = ARGV[11], key = ix .. 'modified'}
local search = ARGV[13]
local excl, nexcl = {}, 0
for i = 14, #ARGV do excl[ARGV[i]] = true; nexcl = nexcl + 1 end

local function rec(pid) return p .. 'wh:' .. (string.gsub(pid, '^0+', '')) end
local function pidOf(m)
  if ord == 'name' then return string.sub(m, -19) end
  return m
end
local function result(total, pids)
  local out = {total}
  for _, pid in ipairs(pids) do
    local d = redis.call('HGET', rec(pid), 'd')
    if d then out[#out + 1] = pid; out[#out + 1] = d end
  end
  return out
end

-- Rank plan: O(log n + page).
local r = nil
local rankable = nexcl == 0 and search == ''
if cr.set and mr.set then rankable = false
elseif cr.set then if ord == 'created' then r = cr else rankable = false end
elseif mr.set then if ord == 'modified' then r = mr else rankable = false end
end
if rankable then
  local total, skip
  if r == nil then
    total, skip = redis.call('ZCARD', okey), 0
  else
    total = redis.call('ZCOUNT', okey, r.lo, r.hi)
    if desc then skip = redis.call('ZCOUNT', okey, '(' .. r.hi, '+inf')
    else skip = redis.call('ZCOUNT', okey, '-inf', '(' .. r.lo) end
  end
  if offset >= total then return {total} end
  local start, stop = skip + offset, skip + total - 1
  if limit >= 0 and start + limit - 1 < stop then stop = start + limit - 1 end
  local ms
  if desc then ms = redis.call('ZREVRANGE', okey, start, stop)
  else ms = redis.call('ZRANGE', okey, start, stop) end
  local pids = {}
  for i, m in ipairs(ms) do pids[i] = pidOf(m) end
  return result(total, pids)
end

-- Candidate plan: collect, order by rank in the ordering index, filter.
local pids = {}
if not cr.set and not mr.set then
  for i, m in ipairs(redis.call('ZRANGE', okey, 0, -1)) do pids[i] = pidOf(m) end
else
  local a, b = cr, nil
  if cr.set and mr.set then
    b = mr
    if redis.call('ZCOUNT', mr.key, mr.lo, mr.hi) < redis.call('ZCOUNT', cr.key, cr.lo, cr.hi) then
      a, b = mr, cr
    end
  elseif mr.set then a = mr end
  local blo, bhi
  if b then blo, bhi = bound(b.lo), bound(b.hi) end
  for _, pid in ipairs(redis.call('ZRANGEBYSCORE', a.key, a.lo, a.hi)) do
    local ok = true
    if b then
      local s = tonumber(redis.call('ZSCORE', b.key, pid))
      ok = s ~= nil and s >= blo and s <= bhi
    end
    if ok then pids[#pids + 1] = pid end
  end
  if a.key ~= okey then
    local rank = {}
    for _, pid in ipairs(pids) do
      local m = pid
      if ord == 'name' then m = redis.call('HGET', rec(pid), 'n') end
      rank[pid] = m and redis.call('ZRANK', okey, m) or -1
    end
    table.sort(pids, function(x, y) return rank[x] < rank[y] end)
  end
end
local total, page, n = 0, {}, #pids
for k = 1, n do
  local pid = pids[k]
  if desc then pid = pids[n - k + 1] end
  local ok = not excl[pid]
  if ok and search ~= '' then
    local ln = redis.call('HGET', rec(pid), 'ln')
    ok = ln and string.find(ln, search, 1, true) ~= nil
  end
  if ok then
    if total >= offset and (limit < 0 or #page < limit) then page[#page + 1] = pid end
    total = total + 1
  end
end
return result(total, page)
`)

// orderIndex maps an OrderField to the suffix of its index keys.
func orderIndex(o OrderField) (string, error) {
	switch o {
	case "", OrderByCreated:
		return "created", nil
	case OrderByID:
		return "id", nil
	case OrderByName:
		return "name", nil
	case OrderByModified:
		return "modified", nil
	}
	return "", fmt.Errorf("redisstore: unknown list order %q", string(o))
}

// statusSet maps a status filter to the name of its index set.
func statusSet(s string) (string, error) {
	switch s {
	case "", "all":
		return "all", nil
	case StatusActive, StatusPaused, StatusDisabled:
		return s, nil
	}
	return "", fmt.Errorf("redisstore: unknown status filter %q", s)
}

// ListWebhooks returns one page of the webhooks matching q and the number of
// all matches. The defaults: every status, order by date created, ascending
// unless q.Desc, offset 0, limit 10 (Limit < 0: no limit). Ties are broken by
// id in the same direction; never-modified webhooks sort as modified at 0
// (the Unix epoch) and match modified ranges as such.
//
// Cost, with n the webhooks of the status filter and p the page size:
//   - status filter, any ordering, offset and limit, and optionally a date
//     range on the ordering's own date (created range when ordered by date
//     created, modified range when ordered by date modified):
//     O(log n + p), whatever the offset;
//   - a date range on another date, or both ranges: O(log n + m log n) with
//     m the webhooks inside the (narrower) range;
//   - Search or Exclude: O(n), or O(m log n) with a date range (every
//     candidate is checked);
//   - Include: O(|Include|) lookups, then filtering and sorting in Go.
//
// The whole selection runs in one read-only Lua script, so Total and Items
// come from one snapshot.
func (st *Site) ListWebhooks(ctx context.Context, q ListQuery) (ListResult, error) {
	set, err := statusSet(q.Status)
	if err != nil {
		return ListResult{}, err
	}
	ord, err := orderIndex(q.OrderBy)
	if err != nil {
		return ListResult{}, err
	}
	if q.Offset < 0 {
		q.Offset = 0
	}
	if q.Limit == 0 {
		q.Limit = 10
	}
	if q.Limit < 0 {
		q.Limit = -1
	}
	cr := newScoreRange(q.CreatedAfter, q.CreatedBefore)
	mr := newScoreRange(q.ModifiedAfter, q.ModifiedBefore)
	search := strings.ToLower(q.Search)
	if len(q.Include) > 0 {
		return st.listIncluded(ctx, q, set, ord, cr, mr, search)
	}
	args := []any{st.kp, set, ord, flag(q.Desc), q.Offset, q.Limit,
		cr.lo, cr.hi, flag(cr.set), mr.lo, mr.hi, flag(mr.set), search}
	for _, id := range q.Exclude {
		if id > 0 {
			args = append(args, padID(id))
		}
	}
	res, err := listScript.Run(ctx, st.store.rdb, []string{st.key("wh", "ix", set, ord)}, args...).Slice()
	if err != nil {
		return ListResult{}, fmt.Errorf("redisstore: list webhooks: %w", err)
	}
	return decodeList(res)
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// decodeList reads {total, pid1, record1, ...}.
func decodeList(res []any) (ListResult, error) {
	if len(res) == 0 || len(res)%2 == 0 {
		return ListResult{}, fmt.Errorf("redisstore: list webhooks: malformed reply of %d elements", len(res))
	}
	total, ok := res[0].(int64)
	if !ok {
		return ListResult{}, fmt.Errorf("redisstore: list webhooks: malformed total %T", res[0])
	}
	out := ListResult{Total: int(total), Items: make([]Webhook, 0, len(res)/2)}
	for i := 1; i+1 < len(res); i += 2 {
		pid, _ := res[i].(string)
		d, _ := res[i+1].(string)
		id, err := strconv.ParseInt(strings.TrimLeft(pid, "0"), 10, 64)
		if err != nil {
			return ListResult{}, fmt.Errorf("redisstore: list webhooks: malformed id %q", pid)
		}
		w, err := decodeWebhook(id, d)
		if err != nil {
			return ListResult{}, err
		}
		out.Items = append(out.Items, *w)
	}
	return out, nil
}

// listIncluded serves queries with an Include list: the listed webhooks are
// read directly and filtered, sorted and paged here, O(|Include|).
func (st *Site) listIncluded(ctx context.Context, q ListQuery, set, ord string, cr, mr scoreRange, search string) (ListResult, error) {
	excl := make(map[int64]bool, len(q.Exclude))
	for _, id := range q.Exclude {
		excl[id] = true
	}
	seen := make(map[int64]bool, len(q.Include))
	ids := make([]int64, 0, len(q.Include))
	for _, id := range q.Include {
		if id > 0 && !seen[id] && !excl[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	ws, err := st.GetWebhooks(ctx, ids)
	if err != nil {
		return ListResult{}, err
	}
	match := ws[:0]
	for _, w := range ws {
		switch {
		case set != "all" && w.Status != set:
		case search != "" && !strings.Contains(strings.ToLower(w.Name), search):
		case cr.set && !cr.contains(w.Created.UnixMicro()):
		case mr.set && !mr.contains(modifiedMicro(w.Modified)):
		default:
			match = append(match, w)
		}
	}
	slices.SortFunc(match, func(a, b Webhook) int {
		c := compareBy(ord, &a, &b)
		if q.Desc {
			return -c
		}
		return c
	})
	res := ListResult{Total: len(match), Items: []Webhook{}}
	if q.Offset >= len(match) {
		return res, nil
	}
	end := len(match)
	if q.Limit >= 0 && q.Offset+q.Limit < end {
		end = q.Offset + q.Limit
	}
	res.Items = append(res.Items, match[q.Offset:end]...)
	return res, nil
}

// compareBy orders two webhooks as the index ord does (ties by id).
func compareBy(ord string, a, b *Webhook) int {
	var c int
	switch ord {
	case "created":
		c = cmpInt(a.Created.UnixMicro(), b.Created.UnixMicro())
	case "modified":
		c = cmpInt(modifiedMicro(a.Modified), modifiedMicro(b.Modified))
	case "name":
		c = strings.Compare(nameMember(a.Name, a.ID), nameMember(b.Name, b.ID))
	}
	if c != 0 {
		return c
	}
	return cmpInt(a.ID, b.ID)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// nameMember is a webhook's member in the name indexes: the lower-case name,
// NUL, and the padded id, so that ZRANGE order is name order, ties by id.
func nameMember(name string, id int64) string {
	return strings.ToLower(name) + "\x00" + padID(id)
}
