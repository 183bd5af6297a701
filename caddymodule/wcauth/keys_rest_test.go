package wcauth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const restPath = "/wp-json/wc/v3/webhooks"

// restSigned returns a target signed as the JS client signs over http:
// every user parameter sent twice.
func restSigned(secure bool, method, path string, user []kv, s oauthSigner) string {
	oauth := s.sign(method, scheme(secure)+"://shop.example"+path, user)
	return path + "?" + jsClientQuery(user, oauth)
}

func newTestKeys(store *fakeStore) *Keys {
	k := NewKeys(store)
	k.Now = func() time.Time { return testNow }
	return k
}

func TestKeysREST(t *testing.T) {
	const rc, mp = CodeRESTAuth, CodeRESTMissingParameter
	perPage := []kv{{"per_page", "5"}}
	sha1s := signer(ckRW, csRW, "n-sha1")
	sha1s.method = "HMAC-SHA1"
	oldTS := signer(ckRW, csRW, "n-old")
	oldTS.timestamp -= 901
	futureTS := signer(ckRW, csRW, "n-future")
	futureTS.timestamp += 900
	badSig := signer(ckRW, "cs_not_the_secret", "n-bad")
	plain := signer(ckRW, csRW, "n-plain")
	plain.method = "PLAINTEXT"
	unknown := signer("ck_unknown", csRW, "n-unknown")
	header := signer(ckRW, csRW, "n-header").sign("GET", "http://shop.example"+restPath, perPage)
	nested := []kv{{"filter[status]", "active"}, {"search", "a b~c*"}}
	cases := []struct {
		name string
		req  tr
		want Verdict
	}{
		// HTTPS: query keys, then Basic.
		{"https no credentials", tr{api: REST, method: "GET", target: restPath, secure: true}, Verdict{}},
		{"https basic", tr{api: REST, method: "GET", target: restPath, secure: true, basic: [2]string{ckRW, csRW}}, ok(7)},
		{"https query keys", tr{api: REST, method: "GET", target: restPath + "?consumer_key=" + ckRW + "&consumer_secret=" + csRW, secure: true}, ok(7)},
		{"https basic wrong secret", tr{api: REST, method: "GET", target: restPath, secure: true, basic: [2]string{ckRW, "wrong-secret"}}, e(rc, 401, "Consumer secret is invalid.")},
		{"https basic unknown key", tr{api: REST, method: "GET", target: restPath, secure: true, basic: [2]string{"ck_nope", "wrong-secret"}}, Verdict{}},
		{"https basic without password", tr{api: REST, method: "GET", target: restPath, secure: true, basic: [2]string{ckRW, ""}}, Verdict{}},
		{"https query key alone, basic used", tr{api: REST, method: "GET", target: restPath + "?consumer_key=" + ckRead, secure: true, basic: [2]string{ckRW, csRW}}, ok(7)},
		{"https query wins over basic", tr{api: REST, method: "GET", target: restPath + "?consumer_key=" + ckRW + "&consumer_secret=wrong-secret", secure: true, basic: [2]string{ckRW, csRW}}, e(rc, 401, "Consumer secret is invalid.")},
		{"https read key writes", tr{api: REST, method: "POST", target: restPath, secure: true, basic: [2]string{ckRead, csRead}}, e(rc, 401, "The API key provided does not have write permissions.")},
		{"https write key reads", tr{api: REST, method: "HEAD", target: restPath, secure: true, basic: [2]string{ckWr, csWr}}, e(rc, 401, "The API key provided does not have read permissions.")},
		{"https write key deletes", tr{api: REST, method: "DELETE", target: restPath + "/5", secure: true, basic: [2]string{ckWr, csWr}}, ok(9)},
		{"https read key options", tr{api: REST, method: "OPTIONS", target: restPath, secure: true, basic: [2]string{ckRead, csRead}}, ok(8)},
		{"https unknown method", tr{api: REST, method: "GET", eff: "TRACE", target: restPath, secure: true, basic: [2]string{ckRW, csRW}}, e(rc, 401, "Unknown request method.")},
		{"https override checked", tr{api: REST, method: "POST", eff: "GET", target: restPath + "?_method=GET", secure: true, basic: [2]string{ckRead, csRead}}, ok(8)},
		{"https oauth without basic", tr{api: REST, method: "GET", target: restSigned(true, "GET", restPath, perPage, signer(ckRW, csRW, "n-https")), secure: true}, ok(7)},
		{"https wrong basic secret beats good oauth", tr{api: REST, method: "GET", target: restSigned(true, "GET", restPath, perPage, signer(ckRW, csRW, "n-both")), secure: true, basic: [2]string{ckRW, "wrong-secret"}}, e(rc, 401, "Consumer secret is invalid.")},
		{"https wrong basic secret then bad oauth", tr{api: REST, method: "GET", target: restPath + "?oauth_consumer_key=" + ckRW, secure: true, basic: [2]string{ckRW, "wrong-secret"}}, e(mp, 401, "Missing OAuth parameters oauth_timestamp, oauth_nonce, oauth_signature, oauth_signature_method")},
		// HTTP: OAuth only.
		{"http basic ignored", tr{api: REST, method: "GET", target: restPath, basic: [2]string{ckRW, csRW}}, Verdict{}},
		{"http query keys ignored", tr{api: REST, method: "GET", target: restPath + "?consumer_key=" + ckRW + "&consumer_secret=" + csRW}, Verdict{}},
		{"http oauth sha256 js client", tr{api: REST, method: "GET", target: restSigned(false, "GET", restPath, perPage, signer(ckRW, csRW, "n-js"))}, ok(7)},
		{"http oauth sha1", tr{api: REST, method: "GET", target: restSigned(false, "GET", restPath, perPage, sha1s)}, ok(7)},
		{"http oauth header", tr{api: REST, method: "GET", target: restPath + "?per_page=5", header: map[string]string{"Authorization": authHeader(header)}}, ok(7)},
		{"http oauth nested and encoded", tr{api: REST, method: "GET", target: restSigned(false, "GET", restPath, nested, signer(ckRW, csRW, "n-nested"))}, ok(7)},
		{"http oauth rest_route", tr{api: REST, method: "GET", target: "/?" + query([]kv{{"rest_route", "/wc/v3/webhooks"}}, signer(ckRW, csRW, "n-rr").sign("GET", "http://shop.example", []kv{{"rest_route", "/wc/v3/webhooks"}}))}, ok(7)},
		{"http oauth signed with request host", tr{api: REST, method: "GET", hostname: "other.example", target: func() string {
			return restPath + "?" + query(signer(ckRW, csRW, "n-host").sign("GET", "http://other.example"+restPath, nil))
		}()}, e(rc, 401, "Invalid signature - provided signature does not match.")},
		{"http oauth home host wins", tr{api: REST, method: "GET", hostname: "other.example", target: restSigned(false, "GET", restPath, nil, signer(ckRW, csRW, "n-home"))}, ok(7)},
		{"http oauth subdirectory home", tr{api: REST, method: "GET", homeURL: "http://shop.example/store", target: func() string {
			p := "/store" + restPath
			return p + "?" + query(signer(ckRW, csRW, "n-sub").sign("GET", "http://shop.example"+p, nil))
		}()}, ok(7)},
		{"http oauth real method signed, override checked", tr{api: REST, method: "POST", eff: "DELETE", target: restSigned(false, "POST", restPath+"/5", []kv{{"_method", "DELETE"}}, signer(ckRead, csRead, "n-ovr"))}, e(rc, 401, "The API key provided does not have write permissions.")},
		{"http oauth one missing", tr{api: REST, method: "GET", target: restPath + "?oauth_consumer_key=" + ckRW + "&oauth_timestamp=1&oauth_signature=x&oauth_signature_method=HMAC-SHA1"}, e(mp, 401, "Missing OAuth parameter oauth_nonce")},
		{"http oauth nonce zero is missing", tr{api: REST, method: "GET", target: restPath + "?oauth_consumer_key=" + ckRW + "&oauth_timestamp=1&oauth_nonce=0&oauth_signature=x&oauth_signature_method=HMAC-SHA1"}, e(mp, 401, "Missing OAuth parameter oauth_nonce")},
		{"http oauth only key", tr{api: REST, method: "GET", target: restPath + "?oauth_consumer_key=" + ckRW}, e(mp, 401, "Missing OAuth parameters oauth_timestamp, oauth_nonce, oauth_signature, oauth_signature_method")},
		{"http oauth unknown key", tr{api: REST, method: "GET", target: restSigned(false, "GET", restPath, nil, unknown)}, e(rc, 401, "Consumer key is invalid.")},
		{"http oauth plaintext", tr{api: REST, method: "GET", target: restSigned(false, "GET", restPath, nil, plain)}, e(rc, 401, "Invalid signature - signature method is invalid.")},
		{"http oauth bad signature", tr{api: REST, method: "GET", target: restSigned(false, "GET", restPath, nil, badSig)}, e(rc, 401, "Invalid signature - provided signature does not match.")},
		{"http oauth wrong method signed", tr{api: REST, method: "PUT", target: restSigned(false, "GET", restPath, nil, signer(ckRW, csRW, "n-m"))}, e(rc, 401, "Invalid signature - provided signature does not match.")},
		{"http oauth old timestamp", tr{api: REST, method: "GET", target: restSigned(false, "GET", restPath, nil, oldTS)}, e(rc, 401, "Invalid timestamp.")},
		{"http oauth edge timestamp", tr{api: REST, method: "GET", target: restSigned(false, "GET", restPath, nil, futureTS)}, ok(7)},
		{"http oauth read key writes", tr{api: REST, method: "POST", target: restSigned(false, "POST", restPath, nil, signer(ckRead, csRead, "n-rw"))}, e(rc, 401, "The API key provided does not have write permissions.")},
	}
	store := newFakeStore()
	keys := newTestKeys(store)
	for _, c := range cases {
		wantVerdict(t, c.name, keys.Authenticate(context.Background(), c.req.request()), c.want)
	}
}

func TestKeysRESTNonceReplay(t *testing.T) {
	store := newFakeStore()
	keys := newTestKeys(store)
	req := tr{api: REST, method: "GET", target: restSigned(false, "GET", restPath, nil, signer(ckRW, csRW, "once"))}
	wantVerdict(t, "first", keys.Authenticate(context.Background(), req.request()), ok(7))
	wantVerdict(t, "replay", keys.Authenticate(context.Background(), req.request()),
		e(CodeRESTAuth, 401, "Invalid nonce - nonce has already been used."))
	// A timestamp at the edge of the window keeps its nonce until it leaves.
	s := signer(ckRW, csRW, "future")
	s.timestamp += 800
	wantVerdict(t, "future", keys.Authenticate(context.Background(), tr{api: REST, method: "GET", target: restSigned(false, "GET", restPath, nil, s)}.request()), ok(7))
	if store.lastTTL < 1700*time.Second {
		t.Errorf("nonce ttl %v is shorter than the timestamp's validity", store.lastTTL)
	}
}

func TestKeysRESTFormBody(t *testing.T) {
	user := []kv{{"name", "x y"}, {"topic", "order.created"}}
	oauth := signer(ckRW, csRW, "n-form").sign("POST", "http://shop.example"+restPath, user)
	body := query(user, oauth)
	req := tr{api: REST, method: "POST", target: restPath, body: body,
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}}.request()
	wantVerdict(t, "form oauth", newTestKeys(newFakeStore()).Authenticate(context.Background(), req), ok(7))
	rest, err := io.ReadAll(req.HTTP.Body)
	if err != nil || string(rest) != body {
		t.Fatalf("body after auth = %q, %v; want it intact", rest, err)
	}
	// A JSON body is never parsed for OAuth parameters.
	req = tr{api: REST, method: "POST", target: restPath, body: body, header: map[string]string{"Content-Type": "application/json"}}.request()
	wantVerdict(t, "json body", newTestKeys(newFakeStore()).Authenticate(context.Background(), req), Verdict{})
	// A form body over 1 MiB is not parsed, and is left whole.
	big := body + "&pad=" + strings.Repeat("x", maxFormBytes)
	req = tr{api: REST, method: "POST", target: restPath, body: big,
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}.request()
	wantVerdict(t, "big form", newTestKeys(newFakeStore()).Authenticate(context.Background(), req), Verdict{})
	if rest, _ := io.ReadAll(req.HTTP.Body); len(rest) != len(big) {
		t.Fatalf("big body after auth has %d bytes, want %d", len(rest), len(big))
	}
}

func TestKeysStoreFailure(t *testing.T) {
	store := newFakeStore()
	store.fail = errors.New("redis down")
	keys := newTestKeys(store)
	for _, api := range []API{REST, LegacyV3} {
		v := keys.Authenticate(context.Background(), tr{api: api, method: "GET", target: "/wc-api/v3/webhooks", secure: true, basic: [2]string{ckRW, csRW}}.request())
		wantVerdict(t, "store down "+strconv.Itoa(int(api)), v, e(authCode(api), http.StatusServiceUnavailable, "Unable to verify credentials."))
	}
}
