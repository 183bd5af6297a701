package wcauth

import (
	"context"
	"testing"
)

// legacySigned signs a legacy request the way woocommerce-api does: every
// parameter in the query, duplicated user parameters as the npm clients send.
func legacySigned(secure bool, method, path string, user []kv, s oauthSigner) string {
	oauth := s.sign(method, scheme(secure)+"://shop.example"+path, user)
	return path + "?" + jsClientQuery(user, oauth)
}

func TestKeysLegacy(t *testing.T) {
	const lc = CodeLegacyAuth
	const v3, v2, v1 = "/wc-api/v3/webhooks", "/wc-api/v2/webhooks", "/wc-api/v1/webhooks"
	bare := func(ck, cs, nonce string) oauthSigner {
		s := signer(ck, cs, nonce)
		s.bareKey = true
		return s
	}
	old := func(s oauthSigner) oauthSigner { s.timestamp -= 1000; return s }
	filter := []kv{{"filter[limit]", "5"}, {"fields", "id,name"}}
	challenge := withChallenge(e(lc, 401, "Consumer Secret is invalid."))
	cases := []struct {
		name string
		req  tr
		want Verdict
	}{
		// Legacy v3 over HTTPS.
		{"v3 https nothing", tr{api: LegacyV3, method: "GET", target: v3, secure: true}, challenge},
		{"v3 https basic", tr{api: LegacyV3, method: "GET", target: v3, secure: true, basic: [2]string{ckRW, csRW}}, ok(7)},
		{"v3 https basic wrong secret", tr{api: LegacyV3, method: "GET", target: v3, secure: true, basic: [2]string{ckRW, "wrong-secret"}}, challenge},
		{"v3 https basic unknown key", tr{api: LegacyV3, method: "GET", target: v3, secure: true, basic: [2]string{"ck_nope", csRW}}, e(lc, 401, "Consumer key is invalid.")},
		{"v3 https basic key only", tr{api: LegacyV3, method: "GET", target: v3, secure: true, basic: [2]string{ckRW, ""}}, challenge},
		{"v3 https query", tr{api: LegacyV3, method: "GET", target: v3 + "?consumer_key=" + ckRW + "&consumer_secret=" + csRW, secure: true}, ok(7)},
		{"v3 https query upper case", tr{api: LegacyV3, method: "GET", target: v3 + "?consumer_key=" + ckRW + "&consumer_secret=CS_11111111111111111111111111111111111111AA", secure: true}, ok(7)},
		{"v3 https query wrong secret", tr{api: LegacyV3, method: "GET", target: v3 + "?consumer_key=" + ckRW + "&consumer_secret=wrong-secret", secure: true}, e(lc, 401, "Consumer secret is invalid.")},
		{"v3 https query unknown key", tr{api: LegacyV3, method: "GET", target: v3 + "?consumer_key=ck_x&consumer_secret=y", secure: true}, e(lc, 401, "Consumer key is invalid.")},
		{"v3 https query secret only", tr{api: LegacyV3, method: "GET", target: v3 + "?consumer_secret=" + csRW, secure: true}, challenge},
		{"v3 read key writes", tr{api: LegacyV3, method: "POST", target: v3, secure: true, basic: [2]string{ckRead, csRead}}, e(lc, 401, "The API key provided does not have write permissions.")},
		{"v3 write key reads", tr{api: LegacyV3, method: "GET", target: v3, secure: true, basic: [2]string{ckWr, csWr}}, e(lc, 401, "The API key provided does not have read permissions.")},
		{"v3 override to write", tr{api: LegacyV3, method: "GET", eff: "DELETE", target: v3 + "/5?_method=DELETE", secure: true, basic: [2]string{ckRead, csRead}}, e(lc, 401, "The API key provided does not have write permissions.")},
		{"v3 other methods pass", tr{api: LegacyV3, method: "OPTIONS", target: v3, secure: true, basic: [2]string{ckWr, csWr}}, ok(9)},
		// Legacy v3 over HTTP: OAuth from the query.
		{"v3 http nothing", tr{api: LegacyV3, method: "GET", target: v3}, e(lc, 404, "oauth_consumer_key parameter is missing")},
		{"v3 http basic ignored", tr{api: LegacyV3, method: "GET", target: v3, basic: [2]string{ckRW, csRW}}, e(lc, 404, "oauth_consumer_key parameter is missing")},
		{"v3 http missing nonce", tr{api: LegacyV3, method: "GET", target: v3 + "?oauth_consumer_key=a&oauth_timestamp=1&oauth_signature=x&oauth_signature_method=y"}, e(lc, 404, "oauth_nonce parameter is missing")},
		{"v3 http header not read", tr{api: LegacyV3, method: "GET", target: v3, header: map[string]string{"Authorization": authHeader(signer(ckRW, csRW, "h").sign("GET", "http://shop.example"+v3, nil))}}, e(lc, 404, "oauth_consumer_key parameter is missing")},
		{"v3 http oauth", tr{api: LegacyV3, method: "GET", target: legacySigned(false, "GET", v3, filter, signer(ckRW, csRW, "l3"))}, ok(7)},
		{"v3 http oauth sha1 count", tr{api: LegacyV3, method: "GET", target: legacySigned(false, "GET", v3+"/count", nil, func() oauthSigner { s := signer(ckRW, csRW, "l3c"); s.method = "HMAC-SHA1"; return s }())}, ok(7)},
		{"v3 http oauth trailing slash", tr{api: LegacyV3, method: "GET", target: legacySigned(false, "GET", v3+"/", nil, signer(ckRW, csRW, "l3s"))}, ok(7)},
		{"v3 http oauth query route", tr{api: LegacyV3, method: "GET", target: func() string {
			user := []kv{{"wc-api-version", "3"}, {"wc-api-route", "/webhooks"}}
			return "/?" + query(user, signer(ckRW, csRW, "l3q").sign("GET", "http://shop.example/wc-api/v3/webhooks", user))
		}()}, ok(7)},
		{"v3 http oauth bare key", tr{api: LegacyV3, method: "GET", target: legacySigned(false, "GET", v3, nil, bare(ckRW, csRW, "l3b"))}, e(lc, 401, "Invalid signature - provided signature does not match.")},
		{"v3 http oauth unknown key", tr{api: LegacyV3, method: "GET", target: legacySigned(false, "GET", v3, nil, signer("ck_nope", csRW, "l3u"))}, e(lc, 401, "Consumer key is invalid.")},
		{"v3 http oauth method", tr{api: LegacyV3, method: "GET", target: legacySigned(false, "GET", v3, nil, func() oauthSigner { s := signer(ckRW, csRW, "l3m"); s.method = "RSA-SHA1"; return s }())}, e(lc, 401, "Invalid signature - signature method is invalid.")},
		{"v3 http oauth timestamp", tr{api: LegacyV3, method: "GET", target: legacySigned(false, "GET", v3, nil, old(signer(ckRW, csRW, "l3t")))}, e(lc, 401, "Invalid timestamp.")},
		{"v3 http oauth effective method signed", tr{api: LegacyV3, method: "POST", eff: "PUT", target: legacySigned(false, "PUT", v3+"/5", []kv{{"_method", "PUT"}}, signer(ckRW, csRW, "l3o"))}, ok(7)},
		// Legacy v2 over HTTPS: key and secret each from Basic, else the query.
		{"v2 https nothing", tr{api: LegacyV2, method: "GET", target: v2, secure: true}, e(lc, 404, "Consumer key is missing.")},
		{"v2 https key only", tr{api: LegacyV2, method: "GET", target: v2 + "?consumer_key=" + ckRW, secure: true}, e(lc, 404, "Consumer secret is missing.")},
		{"v2 https basic key, query secret", tr{api: LegacyV2, method: "GET", target: v2 + "?consumer_secret=" + csRW, secure: true, basic: [2]string{ckRW, ""}}, ok(7)},
		{"v2 https basic", tr{api: LegacyV2, method: "GET", target: v2, secure: true, basic: [2]string{ckRW, csRW}}, ok(7)},
		{"v2 https basic beats query", tr{api: LegacyV2, method: "GET", target: v2 + "?consumer_key=" + ckRW + "&consumer_secret=" + csRW, secure: true, basic: [2]string{ckRW, "wrong-secret"}}, e(lc, 401, "Consumer secret is invalid.")},
		{"v2 https unknown key", tr{api: LegacyV2, method: "GET", target: v2, secure: true, basic: [2]string{"ck_nope", csRW}}, e(lc, 401, "Consumer key is invalid.")},
		// Legacy v2 over HTTP: bare-secret HMAC, filter[] flattened.
		{"v2 http oauth bare", tr{api: LegacyV2, method: "GET", target: legacySigned(false, "GET", v2, filter, bare(ckRW, csRW, "l2"))}, ok(7)},
		{"v2 http oauth js client cs&", tr{api: LegacyV2, method: "GET", target: legacySigned(false, "GET", v2, nil, signer(ckRW, csRW, "l2j"))}, e(lc, 401, "Invalid signature - provided signature does not match.")},
		{"v2 http nothing", tr{api: LegacyV2, method: "GET", target: v2}, e(lc, 404, "oauth_consumer_key parameter is missing")},
		{"v2 http timestamp", tr{api: LegacyV2, method: "GET", target: legacySigned(false, "GET", v2, nil, old(bare(ckRW, csRW, "l2t")))}, e(lc, 401, "Invalid timestamp.")},
		// Legacy v1: v2's rules; its timestamp error has no status (200).
		{"v1 https nothing", tr{api: LegacyV1, method: "GET", target: v1, secure: true}, e(lc, 404, "Consumer key is missing.")},
		{"v1 http oauth bare", tr{api: LegacyV1, method: "GET", target: legacySigned(false, "GET", v1, nil, bare(ckRW, csRW, "l1"))}, ok(7)},
		{"v1 http timestamp", tr{api: LegacyV1, method: "GET", target: legacySigned(false, "GET", v1, nil, old(bare(ckRW, csRW, "l1t")))}, e(lc, 200, "Invalid timestamp.")},
		{"v1 http missing", tr{api: LegacyV1, method: "GET", target: v1 + "?oauth_consumer_key=x"}, e(lc, 404, "oauth_timestamp parameter is missing")},
		// The index needs no authentication.
		{"v3 index", tr{api: LegacyV3, method: "GET", target: "/wc-api/v3/", secure: true}, Verdict{}},
	}
	keys := newTestKeys(newFakeStore())
	for _, c := range cases {
		wantVerdict(t, c.name, keys.Authenticate(context.Background(), c.req.request()), c.want)
	}
}

func TestKeysLegacyNonceReplay(t *testing.T) {
	keys := newTestKeys(newFakeStore())
	req := tr{api: LegacyV3, method: "GET", target: legacySigned(false, "GET", "/wc-api/v3/webhooks", nil, signer(ckRW, csRW, "Once"))}
	wantVerdict(t, "first", keys.Authenticate(context.Background(), req.request()), ok(7))
	wantVerdict(t, "replay", keys.Authenticate(context.Background(), req.request()),
		e(CodeLegacyAuth, 401, "Invalid nonce - nonce has already been used."))
}
