package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultMarkTTL is how long Reconcile's markers live when MarkTTL is zero.
const DefaultMarkTTL = 15 * time.Minute

// trashChunk bounds the members of one SADD.
const trashChunk = 1000

// Reconcile is the reconciliation state of one site: the watermark of the
// last pass, the ids each resource had in the trash, the pass lock, and
// event markers (keys under the site prefix whose existence records that
// an event was emitted). See the package documentation for the keys.
type Reconcile struct {
	site *Site
	ttl  time.Duration
}

// Reconcile returns the reconciliation state of the site. markTTL is how
// long Mark and Claim keys live (DefaultMarkTTL when zero or negative).
func (st *Site) Reconcile(markTTL time.Duration) *Reconcile {
	if markTTL <= 0 {
		markTTL = DefaultMarkTTL
	}
	return &Reconcile{site: st, ttl: markTTL}
}

func (r *Reconcile) rdb() redis.UniversalClient { return r.site.store.rdb }

// Watermark returns the time the last pass covered up to and the floor,
// the first watermark ever stored (second precision, UTC); false when no
// pass has run yet.
func (r *Reconcile) Watermark(ctx context.Context) (wm, floor time.Time, ok bool, err error) {
	vals, err := r.rdb().MGet(ctx, r.site.key("rc", "wm"), r.site.key("rc", "floor")).Result()
	if err != nil {
		return time.Time{}, time.Time{}, false, fmt.Errorf("reading watermark: %w", err)
	}
	w, okW := unixSeconds(vals[0])
	f, okF := unixSeconds(vals[1])
	if !okW {
		return time.Time{}, time.Time{}, false, nil
	}
	if !okF {
		f = w
	}
	return w, f, true, nil
}

func unixSeconds(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(sec, 0).UTC(), true
}

// SetWatermark stores the watermark (truncated to the second); the first
// one stored is also the floor.
func (r *Reconcile) SetWatermark(ctx context.Context, t time.Time) error {
	pipe := r.rdb().TxPipeline()
	pipe.Set(ctx, r.site.key("rc", "wm"), t.Unix(), 0)
	pipe.SetNX(ctx, r.site.key("rc", "floor"), t.Unix(), 0)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("writing watermark: %w", err)
	}
	return nil
}

// Trashed returns the ids of resource remembered in the trash; false when
// the trash of resource was never snapshotted (see ResetTrashed).
func (r *Reconcile) Trashed(ctx context.Context, resource string) ([]int64, bool, error) {
	pipe := r.rdb().Pipeline()
	members := pipe.SMembers(ctx, r.site.key("rc", "trash", resource))
	snap := pipe.SIsMember(ctx, r.site.key("rc", "tinit"), resource)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, false, fmt.Errorf("reading trashed %ss: %w", resource, err)
	}
	if !snap.Val() {
		return nil, false, nil
	}
	ids := make([]int64, 0, len(members.Val()))
	for _, m := range members.Val() {
		if id, err := strconv.ParseInt(m, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return ids, true, nil
}

// ResetTrashed replaces the remembered trash of resource with ids and
// marks it snapshotted, atomically.
func (r *Reconcile) ResetTrashed(ctx context.Context, resource string, ids []int64) error {
	key := r.site.key("rc", "trash", resource)
	pipe := r.rdb().TxPipeline()
	pipe.Del(ctx, key)
	addIDs(ctx, pipe, key, ids)
	pipe.SAdd(ctx, r.site.key("rc", "tinit"), resource)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("snapshotting trashed %ss: %w", resource, err)
	}
	return nil
}

// UpdateTrashed adds and removes ids of resource's remembered trash.
func (r *Reconcile) UpdateTrashed(ctx context.Context, resource string, add, remove []int64) error {
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	key := r.site.key("rc", "trash", resource)
	pipe := r.rdb().TxPipeline()
	addIDs(ctx, pipe, key, add)
	for len(remove) > 0 {
		n := min(len(remove), trashChunk)
		pipe.SRem(ctx, key, idArgs(remove[:n])...)
		remove = remove[n:]
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("updating trashed %ss: %w", resource, err)
	}
	return nil
}

// DropTrashed forgets the trash of resource (it is snapshotted anew by the
// next ResetTrashed).
func (r *Reconcile) DropTrashed(ctx context.Context, resource string) error {
	pipe := r.rdb().TxPipeline()
	pipe.Del(ctx, r.site.key("rc", "trash", resource))
	pipe.SRem(ctx, r.site.key("rc", "tinit"), resource)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("dropping trashed %ss: %w", resource, err)
	}
	return nil
}

func addIDs(ctx context.Context, pipe redis.Pipeliner, key string, ids []int64) {
	for len(ids) > 0 {
		n := min(len(ids), trashChunk)
		pipe.SAdd(ctx, key, idArgs(ids[:n])...)
		ids = ids[n:]
	}
}

func idArgs(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return out
}

// Exists reports whether any of the keys (suffixes after the site prefix)
// exists.
func (r *Reconcile) Exists(ctx context.Context, suffixes ...string) (bool, error) {
	if len(suffixes) == 0 {
		return false, nil
	}
	keys := make([]string, len(suffixes))
	for i, s := range suffixes {
		keys[i] = r.site.kp + s
	}
	// One EXISTS per key keeps every command on the site's slot and
	// avoids CROSSSLOT rules for multi-key commands on some proxies.
	pipe := r.rdb().Pipeline()
	cmds := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Exists(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fmt.Errorf("checking event markers: %w", err)
	}
	for _, c := range cmds {
		if c.Val() > 0 {
			return true, nil
		}
	}
	return false, nil
}

// Claim sets the marker suffix (value "1", MarkTTL) unless it exists, and
// reports whether this call set it.
func (r *Reconcile) Claim(ctx context.Context, suffix string) (bool, error) {
	ok, err := r.rdb().SetNX(ctx, r.site.kp+suffix, "1", r.ttl).Result()
	if err != nil {
		return false, fmt.Errorf("claiming event marker: %w", err)
	}
	return ok, nil
}

// Mark sets the marker suffix for MarkTTL, whether or not it exists.
func (r *Reconcile) Mark(ctx context.Context, suffix string) error {
	if err := r.rdb().Set(ctx, r.site.kp+suffix, "1", r.ttl).Err(); err != nil {
		return fmt.Errorf("setting event marker: %w", err)
	}
	return nil
}

// Take deletes the marker suffix and reports whether it existed.
func (r *Reconcile) Take(ctx context.Context, suffix string) (bool, error) {
	n, err := r.rdb().Del(ctx, r.site.kp+suffix).Result()
	if err != nil {
		return false, fmt.Errorf("taking event marker: %w", err)
	}
	return n > 0, nil
}

// unlockScript deletes the lock only when it still holds the caller's token.
var unlockScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// Lock takes the site's pass lock for ttl (SET NX PX with a random token).
// It returns the token to give Unlock, and false when another holder has it.
func (r *Reconcile) Lock(ctx context.Context, ttl time.Duration) (string, bool, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", false, fmt.Errorf("lock token: %w", err)
	}
	token := hex.EncodeToString(b[:])
	ok, err := r.rdb().SetNX(ctx, r.site.key("rc", "lock"), token, ttl).Result()
	if err != nil {
		return "", false, fmt.Errorf("taking reconcile lock: %w", err)
	}
	if !ok {
		return "", false, nil
	}
	return token, true, nil
}

// Unlock releases the pass lock if token still holds it.
func (r *Reconcile) Unlock(ctx context.Context, token string) error {
	if err := unlockScript.Run(ctx, r.rdb(), []string{r.site.key("rc", "lock")}, token).Err(); err != nil {
		return fmt.Errorf("releasing reconcile lock: %w", err)
	}
	return nil
}
