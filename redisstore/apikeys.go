package redisstore

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultNonceTTL is how long UseNonce remembers a nonce when ttl <= 0: the
// ±15 minute timestamp window of WooCommerce's OAuth check, both sides.
const DefaultNonceTTL = 30 * time.Minute

// HashConsumerKey returns the stored form of a consumer key, as WooCommerce's
// wc_api_hash: hex(HMAC-SHA256(key "wc-api", message ck)).
func HashConsumerKey(ck string) string {
	m := hmac.New(sha256.New, []byte("wc-api"))
	m.Write([]byte(ck))
	return hex.EncodeToString(m.Sum(nil))
}

// addKeyScript: KEYS[1] = key:seq, KEYS[2] = key:ids, KEYS[3] = key:byhash.
// ARGV: key prefix, id floor, consumer key hash, record JSON, id ("0": take
// the next free id above the floor). Returns the id, -1 when the hash is
// taken, -2 when the given id is taken.
var addKeyScript = redis.NewScript(`
local p = ARGV[1]
if redis.call('HEXISTS', KEYS[3], ARGV[3]) == 1 then return -1 end
local sid = ARGV[5]
if sid == '0' then
  local floor = tonumber(ARGV[2])
  repeat
    local id = redis.call('INCR', KEYS[1])
    if id <= floor then
      id = floor + 1
      redis.call('SET', KEYS[1], string.format('%d', id))
    end
    sid = string.format('%d', id)
  until redis.call('EXISTS', p .. 'key:' .. sid) == 0
elseif redis.call('EXISTS', p .. 'key:' .. sid) == 1 then
  return -2
end
redis.call('HSET', p .. 'key:' .. sid, 'd', ARGV[4], 'h', ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], sid)
redis.call('ZADD', KEYS[2], sid, sid)
return tonumber(sid)
`)

// lookupKeyScript: KEYS[1] = key:byhash. ARGV: key prefix, hash.
// Returns {id, record} or nil.
var lookupKeyScript = redis.NewScript(`
local sid = redis.call('HGET', KEYS[1], ARGV[2])
if not sid then return false end
local d = redis.call('HGET', ARGV[1] .. 'key:' .. sid, 'd')
if not d then return false end
return {sid, d}
`)

// listKeysScript: KEYS[1] = key:ids. ARGV: key prefix.
// Returns {id1, record1, ...}.
var listKeysScript = redis.NewScript(`
local out = {}
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local d = redis.call('HGET', ARGV[1] .. 'key:' .. sid, 'd')
  if d then out[#out + 1] = sid; out[#out + 1] = d end
end
return out
`)

// deleteKeyScript: KEYS[1] = key:<id>, KEYS[2] = key:byhash, KEYS[3] =
// key:ids. ARGV: id. Returns 1 when deleted, 0 when absent.
var deleteKeyScript = redis.NewScript(`
local h = redis.call('HGET', KEYS[1], 'h')
if not h then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], h)
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
`)

// AddAPIKey creates a key for userID with permissions read, write or
// read_write. It returns the consumer key ("ck_" + 40 hex) and secret
// ("cs_" + 40 hex), both from crypto/rand; only the key's hash is stored,
// the secret is stored as is (as WooCommerce does). The key id is the next
// free one above the store's IDFloor.
func (st *Site) AddAPIKey(ctx context.Context, userID int64, description, permissions string) (consumerKey, consumerSecret string, key *APIKey, err error) {
	if err := checkKeyFields(userID, permissions); err != nil {
		return "", "", nil, fmt.Errorf("redisstore: add api key: %w", err)
	}
	ck, err := randomToken("ck_")
	if err != nil {
		return "", "", nil, err
	}
	cs, err := randomToken("cs_")
	if err != nil {
		return "", "", nil, err
	}
	k := APIKey{
		UserID:          userID,
		Description:     description,
		Permissions:     permissions,
		ConsumerKeyHash: HashConsumerKey(ck),
		ConsumerSecret:  cs,
		TruncatedKey:    ck[len(ck)-7:],
	}
	if err := st.storeKey(ctx, &k); err != nil {
		return "", "", nil, fmt.Errorf("redisstore: add api key: %w", err)
	}
	return ck, cs, &k, nil
}

// ImportAPIKey stores a key copied from WordPress (woocommerce_api_keys):
// ConsumerKeyHash (64 hex) and ConsumerSecret must be given. A zero KeyID
// takes the next free id above the IDFloor. ErrExists when the id or the
// hash is already stored.
func (st *Site) ImportAPIKey(ctx context.Context, k APIKey) error {
	if err := checkKeyFields(k.UserID, k.Permissions); err != nil {
		return fmt.Errorf("redisstore: import api key: %w", err)
	}
	k.ConsumerKeyHash = strings.ToLower(k.ConsumerKeyHash)
	if b, err := hex.DecodeString(k.ConsumerKeyHash); err != nil || len(b) != sha256.Size {
		return errors.New("redisstore: import api key: consumer key hash must be 64 hex digits")
	}
	if k.ConsumerSecret == "" {
		return errors.New("redisstore: import api key: consumer secret is empty")
	}
	if k.KeyID < 0 {
		return errors.New("redisstore: import api key: negative key id")
	}
	if err := st.storeKey(ctx, &k); err != nil {
		return fmt.Errorf("redisstore: import api key: %w", err)
	}
	return nil
}

func checkKeyFields(userID int64, permissions string) error {
	if userID <= 0 {
		return errors.New("user id must be positive")
	}
	switch permissions {
	case PermRead, PermWrite, PermReadWrite:
		return nil
	}
	return fmt.Errorf("invalid permissions %q (want read, write or read_write)", permissions)
}

func randomToken(prefix string) (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("redisstore: random key: %w", err)
	}
	return prefix + hex.EncodeToString(b), nil
}

// storeKey writes k (assigning k.KeyID when zero) in one script.
func (st *Site) storeKey(ctx context.Context, k *APIKey) error {
	rec := *k
	rec.KeyID = 0
	b, err := json.Marshal(&rec)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	id, err := addKeyScript.Run(ctx, st.store.rdb,
		[]string{st.key("key", "seq"), st.key("key", "ids"), st.key("key", "byhash")},
		st.kp, st.store.floor, k.ConsumerKeyHash, string(b), itoa(k.KeyID)).Int64()
	if err != nil {
		return err
	}
	switch id {
	case -1:
		return fmt.Errorf("consumer key: %w", ErrExists)
	case -2:
		return fmt.Errorf("key id %d: %w", k.KeyID, ErrExists)
	}
	k.KeyID = id
	return nil
}

// LookupAPIKey finds the key whose consumer key is consumerKey (by its
// hash); ErrNotFound when there is none.
func (st *Site) LookupAPIKey(ctx context.Context, consumerKey string) (*APIKey, error) {
	if consumerKey == "" {
		return nil, ErrNotFound
	}
	res, err := lookupKeyScript.Run(ctx, st.store.rdb, []string{st.key("key", "byhash")},
		st.kp, HashConsumerKey(consumerKey)).StringSlice()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: look up api key: %w", err)
	}
	if len(res) != 2 {
		return nil, ErrNotFound
	}
	return decodeKey(res[0], res[1])
}

// ListAPIKeys returns every key of the site, by key id, secrets included.
func (st *Site) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	res, err := listKeysScript.Run(ctx, st.store.rdb, []string{st.key("key", "ids")}, st.kp).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redisstore: list api keys: %w", err)
	}
	out := make([]APIKey, 0, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		k, err := decodeKey(res[i], res[i+1])
		if err != nil {
			return nil, err
		}
		out = append(out, *k)
	}
	slices.SortFunc(out, func(a, b APIKey) int { return cmpInt(a.KeyID, b.KeyID) })
	return out, nil
}

// DeleteAPIKey removes the key and reports whether it existed.
func (st *Site) DeleteAPIKey(ctx context.Context, keyID int64) (bool, error) {
	if keyID <= 0 {
		return false, nil
	}
	sid := itoa(keyID)
	n, err := deleteKeyScript.Run(ctx, st.store.rdb,
		[]string{st.key("key", sid), st.key("key", "byhash"), st.key("key", "ids")}, sid).Int()
	if err != nil {
		return false, fmt.Errorf("redisstore: delete api key %d: %w", keyID, err)
	}
	return n == 1, nil
}

// UseNonce records that key keyID used nonce (sent with timestamp) and
// reports whether it was fresh. As in WooCommerce, a nonce counts as used
// whatever its timestamp; it is remembered for ttl (DefaultNonceTTL, 30
// minutes, when ttl <= 0) with SET NX PX, so the check is atomic.
func (st *Site) UseNonce(ctx context.Context, keyID int64, timestamp int64, nonce string, ttl time.Duration) (fresh bool, err error) {
	if ttl <= 0 {
		ttl = DefaultNonceTTL
	}
	sum := sha256.Sum256([]byte(nonce))
	key := st.key("nonce", itoa(keyID), hex.EncodeToString(sum[:]))
	ok, err := st.store.rdb.SetNX(ctx, key, itoa(timestamp), ttl).Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: use nonce of api key %d: %w", keyID, err)
	}
	return ok, nil
}

func decodeKey(sid, s string) (*APIKey, error) {
	id, err := strconv.ParseInt(sid, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("redisstore: malformed api key id %q", sid)
	}
	var k APIKey
	if err := json.Unmarshal([]byte(s), &k); err != nil {
		// The record holds a secret: never echo it.
		return nil, fmt.Errorf("redisstore: decode api key %d: malformed record", id)
	}
	k.KeyID = id
	return &k, nil
}
