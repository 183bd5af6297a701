package wcauth

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore/redistest"
)

// TestKeysRealRedis runs Keys on a real redis-server through
// *redisstore.Site: a key made by AddAPIKey works with Basic and OAuth, and
// a replayed nonce is refused.
func TestKeysRealRedis(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Start(t)})
	t.Cleanup(func() { _ = rdb.Close() })
	site, err := redisstore.New(rdb, redisstore.Options{}).Site("shop")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ck, cs, key, err := site.AddAPIKey(ctx, 7, "test", redisstore.PermReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	var _ KeyStore = site
	keys := newTestKeys(nil)
	keys.Store = site

	basic := tr{api: REST, method: "GET", target: restPath, secure: true, basic: [2]string{ck, cs}}
	wantVerdict(t, "basic", keys.Authenticate(ctx, basic.request()), ok(key.UserID))
	wrong := tr{api: REST, method: "GET", target: restPath, secure: true, basic: [2]string{ck, "wrong-secret"}}
	wantVerdict(t, "wrong secret", keys.Authenticate(ctx, wrong.request()), e(CodeRESTAuth, 401, "Consumer secret is invalid."))
	unknown := tr{api: REST, method: "GET", target: restPath, secure: true, basic: [2]string{"ck_unknown", cs}}
	wantVerdict(t, "unknown key", keys.Authenticate(ctx, unknown.request()), Verdict{})

	signed := tr{api: REST, method: "GET", target: restSigned(false, "GET", restPath, []kv{{"per_page", "5"}}, signer(ck, cs, "redis-nonce"))}
	wantVerdict(t, "oauth", keys.Authenticate(ctx, signed.request()), ok(key.UserID))
	wantVerdict(t, "oauth replay", keys.Authenticate(ctx, signed.request()),
		e(CodeRESTAuth, 401, "Invalid nonce - nonce has already been used."))
	legacy := tr{api: LegacyV3, method: "GET", target: legacySigned(false, "GET", "/wc-api/v3/webhooks", nil, signer(ck, cs, "redis-nonce"))}
	wantVerdict(t, "same nonce on legacy", keys.Authenticate(ctx, legacy.request()),
		e(CodeLegacyAuth, 401, "Invalid nonce - nonce has already been used."))
}
