package redisstore_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

func TestHashConsumerKey(t *testing.T) {
	// hash_hmac('sha256', ck, 'wc-api'), computed independently.
	assert.Equal(t, "4ffbd479cad9f24fb43a1516cb436a9dad0e2e23ef491464e29c2d81dae32edd",
		redisstore.HashConsumerKey("ck_0123456789abcdef0123456789abcdef01234567"))
}

func TestAPIKeys(t *testing.T) {
	ctx := context.Background()
	_, site, rdb := newSite(t, "shop")

	ck, cs, k, err := site.AddAPIKey(ctx, 7, "CLI key", redisstore.PermReadWrite)
	require.NoError(t, err)
	assert.Regexp(t, regexp.MustCompile(`^ck_[0-9a-f]{40}$`), ck)
	assert.Regexp(t, regexp.MustCompile(`^cs_[0-9a-f]{40}$`), cs)
	assert.Equal(t, int64(100001), k.KeyID)
	assert.Equal(t, redisstore.HashConsumerKey(ck), k.ConsumerKeyHash)
	assert.Equal(t, cs, k.ConsumerSecret)
	assert.Equal(t, ck[len(ck)-7:], k.TruncatedKey)
	assert.Equal(t, int64(7), k.UserID)

	// The consumer key itself is never stored.
	dump, err := rdb.Keys(ctx, "*").Result()
	require.NoError(t, err)
	for _, key := range dump {
		assert.NotContains(t, key, ck)
		if typ, _ := rdb.Type(ctx, key).Result(); typ == "hash" {
			vals, err := rdb.HGetAll(ctx, key).Result()
			require.NoError(t, err)
			for f, v := range vals {
				assert.NotContains(t, f+v, ck)
			}
		}
	}

	got, err := site.LookupAPIKey(ctx, ck)
	require.NoError(t, err)
	assert.Equal(t, *k, *got)
	_, err = site.LookupAPIKey(ctx, ck+"x")
	assert.ErrorIs(t, err, redisstore.ErrNotFound)
	_, err = site.LookupAPIKey(ctx, "")
	assert.ErrorIs(t, err, redisstore.ErrNotFound)

	// Import a key copied from WordPress.
	wpCK := "ck_0123456789abcdef0123456789abcdef01234567"
	imp := redisstore.APIKey{
		KeyID: 3, UserID: 1, Description: "from WP", Permissions: redisstore.PermRead,
		ConsumerKeyHash: strings.ToUpper(redisstore.HashConsumerKey(wpCK)),
		ConsumerSecret:  "cs_secret", TruncatedKey: "1234567",
	}
	require.NoError(t, site.ImportAPIKey(ctx, imp))
	got, err = site.LookupAPIKey(ctx, wpCK)
	require.NoError(t, err)
	assert.Equal(t, int64(3), got.KeyID)
	assert.Equal(t, "cs_secret", got.ConsumerSecret)
	assert.Equal(t, redisstore.PermRead, got.Permissions)

	dupID := imp
	dupID.ConsumerKeyHash = redisstore.HashConsumerKey("other")
	assert.ErrorIs(t, site.ImportAPIKey(ctx, dupID), redisstore.ErrExists)
	dupHash := imp
	dupHash.KeyID = 4
	assert.ErrorIs(t, site.ImportAPIKey(ctx, dupHash), redisstore.ErrExists)
	auto := imp
	auto.KeyID = 0
	auto.ConsumerKeyHash = redisstore.HashConsumerKey("ck_auto")
	require.NoError(t, site.ImportAPIKey(ctx, auto))
	got, err = site.LookupAPIKey(ctx, "ck_auto")
	require.NoError(t, err)
	assert.Equal(t, int64(100002), got.KeyID, "a zero id takes the next free one")

	// An imported id just above the floor is skipped by the counter.
	taken := imp
	taken.KeyID = 100003
	taken.ConsumerKeyHash = redisstore.HashConsumerKey("ck_taken")
	require.NoError(t, site.ImportAPIKey(ctx, taken))
	_, _, k2, err := site.AddAPIKey(ctx, 7, "", redisstore.PermWrite)
	require.NoError(t, err)
	assert.Equal(t, int64(100004), k2.KeyID)

	for _, bad := range []redisstore.APIKey{
		{UserID: 1, Permissions: "admin", ConsumerKeyHash: imp.ConsumerKeyHash, ConsumerSecret: "x"},
		{UserID: 0, Permissions: "read", ConsumerKeyHash: imp.ConsumerKeyHash, ConsumerSecret: "x"},
		{UserID: 1, Permissions: "read", ConsumerKeyHash: "nothex", ConsumerSecret: "x"},
		{UserID: 1, Permissions: "read", ConsumerKeyHash: redisstore.HashConsumerKey("y")},
		{KeyID: -1, UserID: 1, Permissions: "read", ConsumerKeyHash: redisstore.HashConsumerKey("y"), ConsumerSecret: "x"},
	} {
		err := site.ImportAPIKey(ctx, bad)
		assert.Error(t, err)
		if err != nil {
			assert.NotContains(t, err.Error(), "cs_secret")
		}
	}
	_, _, _, err = site.AddAPIKey(ctx, 1, "", "READ")
	assert.Error(t, err)

	list, err := site.ListAPIKeys(ctx)
	require.NoError(t, err)
	var listed []int64
	for _, k := range list {
		listed = append(listed, k.KeyID)
	}
	assert.Equal(t, []int64{3, 100001, 100002, 100003, 100004}, listed)

	ok, err := site.DeleteAPIKey(ctx, k.KeyID)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = site.DeleteAPIKey(ctx, k.KeyID)
	require.NoError(t, err)
	assert.False(t, ok)
	_, err = site.LookupAPIKey(ctx, ck)
	assert.ErrorIs(t, err, redisstore.ErrNotFound)
	list, err = site.ListAPIKeys(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 4)
}

func TestNonces(t *testing.T) {
	ctx := context.Background()
	_, site, rdb := newSite(t, "shop")

	fresh, err := site.UseNonce(ctx, 1, 1700000000, "abc", 10*time.Minute)
	require.NoError(t, err)
	assert.True(t, fresh)
	fresh, err = site.UseNonce(ctx, 1, 1700000000, "abc", 10*time.Minute)
	require.NoError(t, err)
	assert.False(t, fresh, "replay")
	fresh, err = site.UseNonce(ctx, 1, 1700000001, "abc", 10*time.Minute)
	require.NoError(t, err)
	assert.False(t, fresh, "as in WooCommerce, a nonce is used whatever its timestamp")
	fresh, err = site.UseNonce(ctx, 2, 1700000000, "abc", 10*time.Minute)
	require.NoError(t, err)
	assert.True(t, fresh, "nonces are per key")
	fresh, err = site.UseNonce(ctx, 1, 1700000000, "abd", 0)
	require.NoError(t, err)
	assert.True(t, fresh)
	fresh, err = site.UseNonce(ctx, 1, 1700000000, "", 0)
	require.NoError(t, err)
	assert.True(t, fresh, "an empty nonce (what sanitize_key leaves of some) is a nonce like any other")
	fresh, err = site.UseNonce(ctx, 1, 1700000000, "", 0)
	require.NoError(t, err)
	assert.False(t, fresh)

	keys, err := rdb.Keys(ctx, "wcwh:{shop}:nonce:*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 4)
	for _, k := range keys {
		ttl, err := rdb.PTTL(ctx, k).Result()
		require.NoError(t, err)
		assert.Positive(t, ttl, "every nonce expires")
		assert.LessOrEqual(t, ttl, redisstore.DefaultNonceTTL)
	}
}
