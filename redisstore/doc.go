// Package redisstore keeps WooCommerce webhooks, their delivery logs and
// WooCommerce REST API keys in Redis, for many sites sharing one Redis (or
// one Redis Cluster). It holds no HTTP and no Caddy types.
//
// A Store wraps a redis.UniversalClient; Store.Site returns the handle of
// one site, on which all data methods live. Tests start a throwaway
// redis-server with the redistest sub-package.
//
// # Keys
//
// Every key of a site starts with "<prefix>:{<site>}:" (prefix "wcwh" by
// default). The braces are the Redis Cluster hash tag: all keys of one site
// live in one slot, so each Lua script below touches one slot only. Scripts
// declare their first key for routing and build the site's other keys from
// the site prefix, which the hash tag keeps in the same slot. Sites never
// read each other's keys. In the table, P stands for that prefix ("P wh:seq"
// is "wcwh:{shop}:wh:seq"), <id> is a decimal id, <pid> the id zero-padded
// to 19 digits (so lexicographic order of padded ids is numeric order), and
// <st> one of all, active, paused, disabled.
//
//	key                          type    holds                                          written by
//	P wh:seq                     string  last webhook id (INCR; jumps to IDFloor+1)     create
//	P wh:<id>                    hash    d: webhook JSON (id omitted, the key has it),  create, save, delete
//	                                     s: status, n: name-index member,
//	                                     ln: lower-case name (for Search)
//	P wh:ix:<st>:id              zset    members <pid>, all scores 0 (lex = id order)   create, save, delete
//	P wh:ix:<st>:created         zset    members <pid>, score = created, unix µs        create, save, delete
//	P wh:ix:<st>:modified        zset    members <pid>, score = modified, unix µs       create, save, delete
//	                                     (0 for never modified)
//	P wh:ix:<st>:name            zset    members lower(name) NUL <pid>, scores 0        create, save, delete
//	P dl:seq                     string  last delivery id of the site (INCR, from 1)    append delivery
//	P dl:<id>                    zset    delivery ids of webhook <id>, score = id       append delivery, delete
//	P dl:<id>:rec                hash    delivery id -> delivery JSON, and              append delivery, delete
//	                                     j<delivery id> -> job id (dispatcher logs)     finish jobs
//	P key:seq                    string  last API key id (INCR; above IDFloor)          add/import key
//	P key:ids                    zset    API key ids, score = id                        add/import/delete key
//	P key:<keyid>                hash    d: API key JSON (secret included, key id       add/import/delete key
//	                                     omitted), h: consumer key hash
//	P key:byhash                 hash    consumer key hash -> key id                    add/import/delete key
//	P nonce:<keyid>:<sha256hex>  string  OAuth timestamp of a used nonce; expires       UseNonce (SET NX PX)
//
// Each webhook is in the four indexes of "all" and the four of its status.
// Index dates are unix microseconds: dates are stored in UTC truncated to
// the microsecond, and a float64 score holds such integers exactly for the
// years ~1685 to ~2255 (the store refuses dates outside).
//
// # Scripts
//
// Every change is one Lua script, so records and indexes never disagree:
//   - create: INCR wh:seq (jumping to IDFloor+1 if below), HSET the record,
//     ZADD to 8 indexes. O(log n).
//   - save: read the old status and name member, ZREM from the old
//     indexes, HSET, ZADD to the new ones; nothing when the webhook is gone.
//     O(log n).
//   - delete: ZREM from the indexes, DEL the record and its delivery log.
//     O(log n + k), k the logged deliveries.
//   - list (read-only): see below.
//   - append delivery: check the webhook exists, INCR dl:seq, ZADD + HSET,
//     ZPOPMIN + HDEL what exceeds keep. O(log keep).
//   - add/import key, delete key, look up key, list keys.
//
// # List queries
//
// ListWebhooks picks the index wh:ix:<status>:<order>, with n the webhooks
// of that status and p the page size:
//   - no date range, or a range on the ordering's own date (created range
//     with order by date created, modified range with order by date
//     modified): Total from ZCARD or ZCOUNT, the start rank from ZCOUNT, the
//     page from ZRANGE/ZREVRANGE by rank: O(log n + p) at any offset.
//     Ties have equal scores, so Redis orders them by member, the padded
//     id; ZREVRANGE reverses them, which breaks ties by id in the
//     direction of the sort. Name order uses the name index the same way.
//   - a range on the other date, or both ranges: the members of the
//     narrower range (m) are collected with ZRANGEBYSCORE, checked against
//     the other range with ZSCORE and ordered by ZRANK in the ordering
//     index: O(log n + m log n).
//   - Search (case-insensitive substring of the name) or Exclude: the
//     candidates above, or the whole ordering index, are walked in order
//     and checked one by one: O(n) (O(m log n) with a range). Search reads
//     the lower-case name of each candidate.
//   - Include: the listed webhooks are read directly and filtered, sorted
//     and paged in Go: O(|Include|).
//
// Total and the page always come from one atomic script run.
//
// # Dispatcher queues
//
// Event stream and work queues of the dispatcher. Per-site keys (P is the
// site prefix, "wcwh:{shop}:"):
//
//	P ev              stream  events: t topic, r resource id, p payload, ts unix ms, v API version (optional)
//	P dq:ready        stream  delivery work: j job id, w webhook id (trimmed only
//	                          below the group's oldest pending entry, see below)
//	P dq:delayed      zset    job ids waiting for a retry, score = due unix ms (server time)
//	P dq:seq          string  last job id (INCR)
//	P dq:job:<jid>    hash    one job (see Job); expires QueuePolicy.Retention after it ends
//	P dq:dlj:<dlid>   string  job id of logged delivery <dlid>; no longer written
//	                          (still read for logs written before j<dlid> fields)
//	P dq:dead         stream  jobs that failed or were set aside as poison (MAXLEN ~ 10000)
//	P dq:park:<wid>   list    job ids of webhook <wid> parked while its dispatcher's lane is full
//	P dq:parked       zset    webhook ids with parked jobs, score = lease end unix ms (server time)
//	<prefix>:sites    set     names of sites the dispatcher serves (not per site)
//	<prefix>:parked   set     names of sites that may have parked jobs (not per site; see park.go)
//
// Both streams have the consumer group "wcwh", created from id 0 so events
// appended before the group existed are not skipped.
//
// Entries are acknowledged (XACK) by the scripts that finish them; the
// hot paths (fan-out, FinishJobs) do not XDEL each entry, whose cost in
// Redis 7.0 grows with the deleted entries at the stream's head. They trim
// instead: XTRIM MINID ~ <oldest pending id> drops whole stream nodes below
// the oldest entry the group still holds, and when nothing is pending the
// entries up to the group's last-delivered id go (PromoteDue does the same
// periodically, so a drained stream ends up empty). An entry still pending
// or not yet read is never removed, so XAUTOCLAIM always finds the entries
// of a crashed consumer. Rare paths (drop, defer, poison, gone) still
// XACK+XDEL their entry.
//
// Per delivery the scripts issue few commands and keep large values out
// of Lua, where Redis hashes every byte of every string: BeginJobs reads a
// job's fixed fields (payload, topic, ...) with an HMGET pipelined beside
// the begin script, which reads only the small fields; FinishJobs reads
// each job and webhook once, logs one webhook's deliveries with one ZADD
// and one HSET, applies the failure_count changes of one webhook once, and
// acknowledges all entries with one XACK.
//
// # Events and reconciliation
//
// De-duplication of topic events (package caddymodule and its wcevents)
// and the state of the reconciliation pass (Reconcile). <mod> is a UTC
// "YYYY-MM-DDTHH:MM:SS"; TTL is the handler's dedupe TTL (15 min, or three
// reconcile intervals plus one minute when longer).
//
//	P evdd:<topic>:<id>:<mod>  string  hash of the state emitted (SET NX GET), "1"    proxy events; reconciliation
//	                                   when reconciliation emitted it; expires TTL    (Claim)
//	P evid:<topic>:<id>        string  "1": the proxy published this created,        proxy (Mark); reconciliation
//	                                   deleted or restored event; expires TTL         (Exists, Take, Mark)
//	P rc:wm                    string  watermark: unix seconds the last pass          Reconcile.SetWatermark
//	                                   covered up to
//	P rc:floor                 string  the first watermark (never looked before)      Reconcile.SetWatermark (NX)
//	P rc:trash:<resource>      set     ids of orders/products/coupons in the trash    Reconcile.ResetTrashed,
//	                                   at the last pass                               UpdateTrashed, DropTrashed
//	P rc:tinit                 set     resources whose trash was snapshotted          same
//	P rc:lock                  string  random token of the process running the pass   Reconcile.Lock (SET NX PX),
//	                                   (one per site among all processes)             Unlock (compare and DEL)
package redisstore
