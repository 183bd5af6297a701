package wcauth

import (
	"context"
	"strings"
	"testing"
	"time"
)

// upReq is a test request through the stand-in WordPress.
func upReq(wp Prober, c tr) Request {
	r := c.request()
	r.Upstream = wp
	return r
}

func newTestUpstream() (*Upstream, *time.Time) {
	now := testNow
	u := NewUpstream(0)
	u.Now = func() time.Time { return now }
	return u, &now
}

func TestUpstreamCredentials(t *testing.T) {
	const rc, lc = CodeRESTAuth, CodeLegacyAuth
	mgr := [2]string{ckRW, csRW}
	cust := [2]string{ckCust, csCust}
	reader := [2]string{ckRead, csRead}
	cases := []struct {
		name   string
		req    tr
		want   Verdict
		probes int64
	}{
		{"rest nothing", tr{api: REST, method: "GET", target: restPath, secure: true}, Verdict{}, 0},
		{"rest cookie without nonce", tr{api: REST, method: "GET", target: restPath, header: map[string]string{"Cookie": "wordpress_logged_in_x=manager"}}, Verdict{}, 0},
		{"rest manager read", tr{api: REST, method: "GET", target: restPath, secure: true, basic: mgr}, Verdict{Authenticated: true, CanManage: true}, 1},
		{"rest manager read cached", tr{api: REST, method: "HEAD", target: restPath + "/5", secure: true, basic: mgr}, Verdict{Authenticated: true, CanManage: true}, 0},
		{"rest manager write", tr{api: REST, method: "PUT", target: restPath + "/5", secure: true, basic: mgr}, Verdict{Authenticated: true, CanManage: true}, 1},
		{"rest manager write cached", tr{api: REST, method: "DELETE", target: restPath + "/5", secure: true, basic: mgr}, Verdict{Authenticated: true, CanManage: true}, 0},
		{"rest customer", tr{api: REST, method: "GET", target: restPath, secure: true, basic: cust}, Verdict{Authenticated: true}, 1},
		{"rest read key reads", tr{api: REST, method: "GET", target: restPath, secure: true, basic: reader}, Verdict{Authenticated: true, CanManage: true}, 1},
		{"rest read key writes", tr{api: REST, method: "POST", target: restPath, secure: true, basic: reader}, e(rc, 401, "The API key provided does not have write permissions."), 1},
		{"rest wrong secret", tr{api: REST, method: "GET", target: restPath, secure: true, basic: [2]string{ckRW, "wrong-secret"}}, e(rc, 401, "Consumer secret is invalid."), 1},
		{"rest unknown key", tr{api: REST, method: "GET", target: restPath, secure: true, basic: [2]string{"ck_nope", "x"}}, Verdict{}, 1},
		{"rest query keys", tr{api: REST, method: "GET", target: restPath + "?per_page=3&consumer_key=" + ckRW + "&consumer_secret=" + csRW, secure: true}, Verdict{Authenticated: true, CanManage: true}, 1},
		{"rest basic over http", tr{api: REST, method: "GET", target: restPath, basic: mgr}, Verdict{}, 1},
		{"rest cookie and nonce", tr{api: REST, method: "GET", target: restPath, header: map[string]string{"Cookie": "other=1; wordpress_logged_in_x=manager", "X-WP-Nonce": "good-nonce"}}, Verdict{Authenticated: true, CanManage: true}, 1},
		{"legacy nothing https", tr{api: LegacyV3, method: "GET", target: "/wc-api/v3/webhooks", secure: true}, withChallenge(e(lc, 401, "Consumer Secret is invalid.")), 0},
		{"legacy v2 nothing https", tr{api: LegacyV2, method: "GET", target: "/wc-api/v2/webhooks", secure: true}, e(lc, 404, "Consumer key is missing."), 0},
		{"legacy basic over http", tr{api: LegacyV3, method: "GET", target: "/wc-api/v3/webhooks", basic: mgr}, e(lc, 404, "oauth_consumer_key parameter is missing"), 0},
		{"legacy manager read", tr{api: LegacyV3, method: "GET", target: "/wc-api/v3/webhooks", secure: true, basic: mgr}, Verdict{Authenticated: true, CanManage: true}, 1},
		{"legacy manager write", tr{api: LegacyV3, method: "POST", target: "/wc-api/v3/webhooks", secure: true, basic: mgr}, Verdict{Authenticated: true, CanManage: true}, 1},
		{"legacy customer read", tr{api: LegacyV3, method: "GET", target: "/wc-api/v3/webhooks", secure: true, basic: cust}, Verdict{Authenticated: true}, 1},
		{"legacy customer write", tr{api: LegacyV3, method: "PUT", target: "/wc-api/v3/webhooks/4", secure: true, basic: cust}, Verdict{Authenticated: true}, 1},
		{"legacy wrong secret", tr{api: LegacyV3, method: "GET", target: "/wc-api/v3/webhooks", secure: true, basic: [2]string{ckRW, "wrong-secret"}}, withChallenge(e(lc, 401, "Consumer Secret is invalid.")), 1},
		{"legacy query form", tr{api: LegacyV3, method: "GET", target: "/?wc-api-version=3&wc-api-route=/webhooks&consumer_key=" + ckRW + "&consumer_secret=" + csRW, secure: true}, Verdict{Authenticated: true, CanManage: true}, 1},
	}
	wp := newFakeWP(t)
	u, _ := newTestUpstream()
	for _, c := range cases {
		before := wp.probes.Load()
		wantVerdict(t, c.name, u.Authenticate(context.Background(), upReq(wp, c.req)), c.want)
		if got := wp.probes.Load() - before; got != c.probes {
			t.Errorf("%s: %d probes, want %d (last: %s)", c.name, got, c.probes, wp.lastSeen())
		}
	}
}

func TestUpstreamProbeShapes(t *testing.T) {
	wp := newFakeWP(t)
	u, _ := newTestUpstream()
	ctx := context.Background()
	u.Authenticate(ctx, upReq(wp, tr{api: REST, method: "GET", target: restPath + "?consumer_key=" + ckRW + "&consumer_secret=" + csRW, secure: true}))
	if got, want := wp.lastSeen(), "GET /?rest_route=/wc/v3/webhooks&per_page=1&_fields=id&consumer_key="+ckRW+"&consumer_secret="+csRW+" "; got != want {
		t.Errorf("read probe = %q, want %q", got, want)
	}
	u.Authenticate(ctx, upReq(wp, tr{api: REST, method: "PATCH", target: restPath + "/5", secure: true, basic: [2]string{ckWr, csWr}}))
	if got, want := wp.lastSeen(), "POST /?rest_route=/wc/v3/webhooks/batch {}"; got != want {
		t.Errorf("write probe = %q, want %q", got, want)
	}
	u.Authenticate(ctx, upReq(wp, tr{api: LegacyV2, method: "DELETE", target: "/wc-api/v2/webhooks/5", secure: true, basic: [2]string{ckWr, csWr}}))
	if got, want := wp.lastSeen(), `POST /wc-api/v2/webhooks {"webhook":{}}`; got != want {
		t.Errorf("legacy write probe = %q, want %q", got, want)
	}
	u.Authenticate(ctx, upReq(wp, tr{api: LegacyV1, method: "GET", target: "/wc-api/v1/orders", secure: true, basic: [2]string{ckRead, csRead}}))
	if got, want := wp.lastSeen(), "GET /wc-api/v3/webhooks/count "; got != want {
		t.Errorf("legacy v1 probe = %q, want %q", got, want)
	}
}

func TestUpstreamOAuth(t *testing.T) {
	wp := newFakeWP(t)
	u, _ := newTestUpstream()
	ctx := context.Background()
	run := func(name string, c tr, want Verdict, probes int64) {
		t.Helper()
		before := wp.probes.Load()
		wantVerdict(t, name, u.Authenticate(ctx, upReq(wp, c)), want)
		if got := wp.probes.Load() - before; got != probes {
			t.Errorf("%s: %d probes, want %d", name, got, probes)
		}
	}
	can := Verdict{Authenticated: true, CanManage: true}
	list := tr{api: REST, method: "GET", target: restSigned(false, "GET", restPath, []kv{{"per_page", "5"}}, signer(ckRW, csRW, "o1"))}
	run("rest list", list, can, 1)
	run("rest list replayed", list, e(CodeRESTAuth, 401, "Invalid nonce - nonce has already been used."), 1)
	run("rest list again", tr{api: REST, method: "GET", target: restSigned(false, "GET", restPath, []kv{{"per_page", "5"}}, signer(ckRW, csRW, "o2"))}, can, 1)
	run("rest header oauth", tr{api: REST, method: "GET", target: restPath, header: map[string]string{"Authorization": authHeader(signer(ckRW, csRW, "o3").sign("GET", home+restPath, nil))}}, can, 1)
	run("rest create", tr{api: REST, method: "POST", target: restSigned(false, "POST", restPath, nil, signer(ckRW, csRW, "o4")), body: `{"topic":"order.created","delivery_url":"https://x"}`, header: map[string]string{"Content-Type": "application/json"}}, can, 1)
	if got := wp.lastSeen(); !strings.HasSuffix(got, " "+bodyRESTNeutral) {
		t.Errorf("create probe = %q, want the neutral body", got)
	}
	run("rest delete", tr{api: REST, method: "DELETE", target: restSigned(false, "DELETE", restPath+"/5", []kv{{"force", "true"}}, signer(ckRW, csRW, "o5"))}, can, 1)
	run("rest customer", tr{api: REST, method: "GET", target: restSigned(false, "GET", restPath, nil, signer(ckCust, csCust, "o6"))}, Verdict{Authenticated: true}, 1)
	run("rest bad signature", tr{api: REST, method: "GET", target: restSigned(false, "GET", restPath, nil, signer(ckRW, "cs_bad", "o7"))}, e(CodeRESTAuth, 401, "Invalid signature - provided signature does not match."), 1)
	run("rest form body", tr{api: REST, method: "POST", target: restPath, body: query(signer(ckRW, csRW, "o8").sign("POST", home+restPath, nil)), header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, Verdict{}, 0)
	run("rest form body with query oauth", tr{api: REST, method: "POST", target: restSigned(false, "POST", restPath, nil, signer(ckRW, csRW, "o9")), body: "topic=x", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, e(CodeRESTAuth, 401, msgUnverifiableOAuth), 0)
	v3 := "/wc-api/v3/webhooks"
	run("legacy count", tr{api: LegacyV3, method: "GET", target: legacySigned(false, "GET", v3+"/count", nil, signer(ckRW, csRW, "l1"))}, can, 1)
	run("legacy list proves nothing", tr{api: LegacyV3, method: "GET", target: legacySigned(false, "GET", v3, nil, signer(ckRW, csRW, "l2"))}, e(CodeLegacyAuth, 401, msgUnverifiableOAuth), 1)
	run("legacy create", tr{api: LegacyV3, method: "POST", target: legacySigned(false, "POST", v3, nil, signer(ckRW, csRW, "l3"))}, can, 1)
	run("legacy customer create", tr{api: LegacyV3, method: "POST", target: legacySigned(false, "POST", v3, nil, signer(ckCust, csCust, "l4"))}, Verdict{Authenticated: true}, 1)
	run("legacy delete not sent", tr{api: LegacyV3, method: "DELETE", target: legacySigned(false, "DELETE", v3+"/5", nil, signer(ckRW, csRW, "l5"))}, e(CodeLegacyAuth, 401, msgUnverifiableOAuth), 0)
	run("legacy get override to delete not sent", tr{api: LegacyV3, method: "GET", eff: "DELETE", target: legacySigned(false, "DELETE", v3+"/5", []kv{{"_method", "DELETE"}}, signer(ckRW, csRW, "l6"))}, e(CodeLegacyAuth, 401, msgUnverifiableOAuth), 0)
	run("legacy missing parameter", tr{api: LegacyV3, method: "GET", target: v3 + "/count?oauth_consumer_key=" + ckRW}, e(CodeLegacyAuth, 404, "oauth_timestamp parameter is missing"), 1)
}

func TestUpstreamFailures(t *testing.T) {
	ctx := context.Background()
	mgr := tr{api: REST, method: "GET", target: restPath, secure: true, basic: [2]string{ckRW, csRW}}
	u, now := newTestUpstream()
	broken := &brokenProber{}
	unavailableREST := e(CodeRESTAuth, 503, "Unable to verify credentials with the site.")
	wantVerdict(t, "transport error", u.Authenticate(ctx, upReq(broken, mgr)), unavailableREST)
	wantVerdict(t, "transport error again", u.Authenticate(ctx, upReq(broken, mgr)), unavailableREST)
	if broken.calls.Load() != 2 {
		t.Errorf("unavailable verdicts were cached: %d probes", broken.calls.Load())
	}
	wp := newFakeWP(t)
	wp.down = true
	legacy := tr{api: LegacyV3, method: "GET", target: "/wc-api/v3/webhooks", secure: true, basic: [2]string{ckRW, csRW}}
	wantVerdict(t, "5xx", u.Authenticate(ctx, upReq(wp, legacy)), e(CodeLegacyAuth, 503, "Unable to verify credentials with the site."))
	wantVerdict(t, "no upstream", u.Authenticate(ctx, mgr.request()), Verdict{})

	// Negative verdicts live shorter than positive ones.
	wp.down = false
	cust := tr{api: REST, method: "GET", target: restPath, secure: true, basic: [2]string{ckCust, csCust}}
	probes := func() int64 { return wp.probes.Load() }
	u.Authenticate(ctx, upReq(wp, cust))
	u.Authenticate(ctx, upReq(wp, mgr))
	start := probes()
	*now = now.Add(6 * time.Second)
	u.Authenticate(ctx, upReq(wp, cust))
	u.Authenticate(ctx, upReq(wp, mgr))
	if got := probes() - start; got != 1 {
		t.Errorf("after 6 s: %d probes, want 1 (the customer's)", got)
	}
	*now = now.Add(25 * time.Second)
	u.Authenticate(ctx, upReq(wp, mgr))
	if got := probes() - start; got != 2 {
		t.Errorf("after 31 s: %d probes, want 2", got)
	}
}

func TestVerdictCacheBounded(t *testing.T) {
	c := newVerdictCache(3)
	exp := testNow.Add(time.Minute)
	for i := range 5 {
		c.put([32]byte{byte(i)}, Verdict{UserID: int64(i)}, exp)
	}
	if c.len() != 3 {
		t.Fatalf("len = %d, want 3", c.len())
	}
	if _, hit := c.get([32]byte{0}, testNow); hit {
		t.Error("oldest entry survived")
	}
	if v, hit := c.get([32]byte{4}, testNow); !hit || v.UserID != 4 {
		t.Errorf("newest entry = %+v, %v", v, hit)
	}
	if _, hit := c.get([32]byte{4}, exp); hit {
		t.Error("expired entry served")
	}
	// Cached errors are copies.
	c.put([32]byte{9}, Verdict{Err: &Error{Code: "x"}}, exp)
	v, _ := c.get([32]byte{9}, testNow)
	v.Err.Code = "changed"
	if w, _ := c.get([32]byte{9}, testNow); w.Err.Code != "x" {
		t.Error("cached error was shared")
	}
}
