package standin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type resp struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url, body string, hdr map[string]string) resp {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return resp{res.StatusCode, res.Header, string(b)}
}

func errCode(t *testing.T, body string) (code, message string, status float64) {
	t.Helper()
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Data    struct {
			Status float64 `json:"status"`
		} `json:"data"`
		Errors []struct{ Code, Message string } `json:"errors"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	if len(e.Errors) > 0 {
		return e.Errors[0].Code, e.Errors[0].Message, 0
	}
	return e.Code, e.Message, e.Data.Status
}

func setup(t *testing.T) (*Server, string, map[string]Key) {
	s := New()
	keys := map[string]Key{
		"manager":  NewKey(ManagerID, PermReadWrite),
		"readonly": NewKey(ManagerID, PermRead),
		"customer": NewKey(CustomerID, PermReadWrite),
	}
	for _, k := range keys {
		s.AddKey(k)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL, keys
}

var https = map[string]string{"X-Forwarded-Proto": "https"}

func withBasic(k Key) map[string]string {
	req, _ := http.NewRequest("GET", "http://x", nil)
	req.SetBasicAuth(k.ConsumerKey, k.ConsumerSecret)
	return map[string]string{"X-Forwarded-Proto": "https", "Authorization": req.Header.Get("Authorization")}
}

func TestRESTBasicAuthAndRoles(t *testing.T) {
	_, base, keys := setup(t)
	probe := base + "/?rest_route=/wc/v3/webhooks&per_page=1&_fields=id"

	r := do(t, "GET", probe, "", withBasic(keys["manager"]))
	assert.Equal(t, 200, r.status)
	assert.Equal(t, "[]", r.body)

	r = do(t, "GET", probe, "", withBasic(keys["customer"]))
	code, msg, st := errCode(t, r.body)
	assert.Equal(t, []any{403, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 403.0}, []any{r.status, code, msg, st})

	r = do(t, "GET", probe, "", https)
	code, _, _ = errCode(t, r.body)
	assert.Equal(t, []any{401, "woocommerce_rest_cannot_view"}, []any{r.status, code})

	bad := keys["manager"]
	bad.ConsumerSecret = "cs_wrong"
	r = do(t, "GET", probe, "", withBasic(bad))
	code, msg, _ = errCode(t, r.body)
	assert.Equal(t, []any{401, "woocommerce_rest_authentication_error", "Consumer secret is invalid."}, []any{r.status, code, msg})

	unknown := NewKey(ManagerID, PermReadWrite) // never added: silent
	r = do(t, "GET", probe, "", withBasic(unknown))
	code, _, _ = errCode(t, r.body)
	assert.Equal(t, []any{401, "woocommerce_rest_cannot_view"}, []any{r.status, code})

	// Basic credentials over plain HTTP are not looked at.
	h := withBasic(keys["manager"])
	delete(h, "X-Forwarded-Proto")
	r = do(t, "GET", probe, "", h)
	assert.Equal(t, 401, r.status)

	// Query-string keys over HTTPS.
	k := keys["manager"]
	r = do(t, "GET", base+"/wp-json/wc/v3/webhooks?consumer_key="+k.ConsumerKey+"&consumer_secret="+k.ConsumerSecret, "", https)
	assert.Equal(t, 200, r.status)

	r = do(t, "POST", base+"/?rest_route=/wc/v3/webhooks/batch", "{}", withBasic(keys["readonly"]))
	code, msg, _ = errCode(t, r.body)
	assert.Equal(t, []any{401, "woocommerce_rest_authentication_error", "The API key provided does not have write permissions."}, []any{r.status, code, msg})

	r = do(t, "POST", base+"/?rest_route=/wc/v3/webhooks/batch", "{}", withBasic(keys["manager"]))
	assert.Equal(t, []any{200, "[]"}, []any{r.status, r.body})
	r = do(t, "POST", base+"/?rest_route=/wc/v3/webhooks/batch", "{}", withBasic(keys["customer"]))
	code, _, _ = errCode(t, r.body)
	assert.Equal(t, []any{403, "woocommerce_rest_cannot_batch"}, []any{r.status, code})
}

func TestRESTProbeShapes(t *testing.T) {
	_, base, keys := setup(t)
	m := withBasic(keys["manager"])
	cases := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/wp-json/wc/v2/webhooks", `{"id":-1,"topic":"order.created","delivery_url":"https://example.com/"}`, 400, "woocommerce_rest_shop_webhook_exists"},
		{"POST", "/wp-json/wc/v3/webhooks", `{"id":-1}`, 400, "rest_missing_callback_param"},
		{"PUT", "/wp-json/wc/v3/webhooks/5", `{"id":-1}`, 400, "woocommerce_rest_shop_webhook_invalid_id"},
		{"PATCH", "/wp-json/wc/v1/webhooks/5", `{"id":-1}`, 400, "woocommerce_rest_shop_webhook_invalid_id"},
		{"DELETE", "/wp-json/wc/v3/webhooks/5", `{"force":false}`, 501, "woocommerce_rest_trash_not_supported"},
		{"GET", "/wp-json/wc/v3/webhooks/5", ``, 404, "woocommerce_rest_shop_webhook_invalid_id"},
		{"GET", "/wp-json/wc/v3/webhooks/5/deliveries", ``, 404, "rest_no_route"},
		{"GET", "/wp-json/wc/v2/webhooks/5/deliveries", ``, 404, "woocommerce_rest_webhook_invalid_id"},
	}
	for _, tc := range cases {
		r := do(t, tc.method, base+tc.path, tc.body, m)
		code, _, _ := errCode(t, r.body)
		assert.Equal(t, []any{tc.status, tc.code}, []any{r.status, code}, "%s %s", tc.method, tc.path)
	}
	r := do(t, "POST", base+"/wp-json/wc/v3/webhooks", `{"id":-1,"topic":"order.created","delivery_url":"https://example.com/"}`, withBasic(keys["customer"]))
	code, msg, _ := errCode(t, r.body)
	assert.Equal(t, []any{403, "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."}, []any{r.status, code, msg})
}

func TestRESTOAuth(t *testing.T) {
	s, base, keys := setup(t)
	now := time.Unix(1_800_000_000, 0)
	s.Now = func() time.Time { return now }
	k := keys["manager"]
	sign := func(method, url string, p OAuthParams) string {
		p.ConsumerKey, p.Timestamp = k.ConsumerKey, now.Unix()
		if p.ConsumerSecret == "" {
			p.ConsumerSecret = k.ConsumerSecret
		}
		u, err := SignURL(method, url, p)
		require.NoError(t, err)
		return u
	}
	u := sign("GET", base+"/wp-json/wc/v3/webhooks?per_page=5", OAuthParams{Nonce: "n1"})
	r := do(t, "GET", u, "", nil)
	assert.Equal(t, []any{200, "[]"}, []any{r.status, r.body})

	r = do(t, "GET", u, "", nil)
	_, msg, _ := errCode(t, r.body)
	assert.Equal(t, []any{401, "Invalid nonce - nonce has already been used."}, []any{r.status, msg})

	r = do(t, "GET", sign("GET", base+"/wp-json/wc/v3/webhooks", OAuthParams{SignatureMethod: "HMAC-SHA1"}), "", nil)
	assert.Equal(t, 200, r.status)

	r = do(t, "GET", sign("GET", base+"/wp-json/wc/v3/webhooks", OAuthParams{ConsumerSecret: "cs_wrong"}), "", nil)
	_, msg, _ = errCode(t, r.body)
	assert.Equal(t, []any{401, "Invalid signature - provided signature does not match."}, []any{r.status, msg})

	// Signed for GET, sent as POST: the method is part of the signature.
	r = do(t, "POST", sign("GET", base+"/wp-json/wc/v3/webhooks", OAuthParams{}), "", nil)
	_, msg, _ = errCode(t, r.body)
	assert.Equal(t, "Invalid signature - provided signature does not match.", msg)

	s.Now = func() time.Time { return now.Add(16 * time.Minute) }
	r = do(t, "GET", sign("GET", base+"/wp-json/wc/v3/webhooks", OAuthParams{}), "", nil)
	_, msg, _ = errCode(t, r.body)
	assert.Equal(t, "Invalid timestamp.", msg)
	s.Now = func() time.Time { return now }

	r = do(t, "GET", base+"/wp-json/wc/v3/webhooks?oauth_consumer_key="+k.ConsumerKey+"&oauth_timestamp=1&oauth_signature=x&oauth_signature_method=HMAC-SHA256", "", nil)
	_, msg, _ = errCode(t, r.body)
	assert.Equal(t, "Missing OAuth parameter oauth_nonce", msg)

	r = do(t, "GET", base+"/wp-json/wc/v3/webhooks?oauth_consumer_key=ck_nope&oauth_timestamp=1&oauth_nonce=1&oauth_signature=x&oauth_signature_method=HMAC-SHA256", "", nil)
	_, msg, _ = errCode(t, r.body)
	assert.Equal(t, "Consumer key is invalid.", msg)
}

func TestLegacy(t *testing.T) {
	s, base, keys := setup(t)
	now := time.Now()
	s.Now = func() time.Time { return now }

	r := do(t, "GET", base+"/wc-api/v3/webhooks/count", "", https)
	code, msg, _ := errCode(t, r.body)
	assert.Equal(t, []any{401, "woocommerce_api_authentication_error", "Consumer Secret is invalid."}, []any{r.status, code, msg})
	assert.Contains(t, r.header.Get("WWW-Authenticate"), `Basic realm="WooCommerce API.`)

	for _, v := range []string{"v2", "v3"} {
		r = do(t, "GET", base+"/wc-api/"+v+"/webhooks/count", "", withBasic(keys["manager"]))
		assert.Equal(t, []any{200, `{"count":0}`}, []any{r.status, r.body}, v)
		r = do(t, "POST", base+"/wc-api/"+v+"/webhooks", `{"webhook":{}}`, withBasic(keys["manager"]))
		code, msg, _ = errCode(t, r.body)
		assert.Equal(t, []any{400, "woocommerce_api_invalid_webhook_topic", "Webhook topic is required and must be valid."}, []any{r.status, code, msg}, v)
		r = do(t, "POST", base+"/wc-api/"+v+"/webhooks", `{"webhook":{}}`, withBasic(keys["customer"]))
		code, _, _ = errCode(t, r.body)
		assert.Equal(t, []any{401, "woocommerce_api_user_cannot_create_webhooks"}, []any{r.status, code}, v)
		r = do(t, "GET", base+"/wc-api/"+v+"/webhooks/count", "", withBasic(keys["customer"]))
		code, _, _ = errCode(t, r.body)
		assert.Equal(t, []any{401, "woocommerce_api_user_cannot_read_webhooks_count"}, []any{r.status, code}, v)
	}

	// OAuth over HTTP: v3 keys with "cs&", v2 with the bare secret.
	k := keys["manager"]
	for _, tc := range []struct {
		v    string
		rule OAuthRule
		ok   bool
	}{{"v3", OAuthREST, true}, {"v2", OAuthLegacyV2, true}, {"v2", OAuthREST, false}, {"v3", OAuthLegacyV2, false}} {
		u, err := SignURL("GET", base+"/wc-api/"+tc.v+"/webhooks/count", OAuthParams{ConsumerKey: k.ConsumerKey, ConsumerSecret: k.ConsumerSecret, Timestamp: now.Unix(), Rule: tc.rule})
		require.NoError(t, err)
		r = do(t, "GET", u, "", nil)
		if tc.ok {
			assert.Equal(t, 200, r.status, "%s rule %d: %s", tc.v, tc.rule, r.body)
		} else {
			assert.Equal(t, 401, r.status, "%s rule %d", tc.v, tc.rule)
		}
	}
	r = do(t, "GET", base+"/wc-api/v3/webhooks", "", nil)
	code, msg, _ = errCode(t, r.body)
	assert.Equal(t, []any{404, "woocommerce_api_authentication_error", "oauth_consumer_key parameter is missing"}, []any{r.status, code, msg})
}

func TestRecordsAndPages(t *testing.T) {
	s, base, _ := setup(t)
	r := do(t, "POST", base+EchoPath+"?x=1", "hello\x00world", map[string]string{"X-Test": "a"})
	assert.Equal(t, []any{200, "hello\x00world"}, []any{r.status, r.body})
	assert.Equal(t, []string{"a=1; Path=/; HttpOnly", "b=2; Path=/"}, r.header.Values("Set-Cookie"))
	reqs := s.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "POST", reqs[0].Method)
	assert.Equal(t, EchoPath+"?x=1", reqs[0].RequestURI)
	assert.Equal(t, "hello\x00world", string(reqs[0].Body))
	assert.Equal(t, "a", reqs[0].Header.Get("X-Test"))

	r = do(t, "GET", base+StreamPath+"?size=100000&chunk=4096", "", nil)
	require.Len(t, r.body, 100000)
	for i := 0; i < len(r.body); i++ {
		if r.body[i] != StreamByte(i) {
			t.Fatalf("stream byte %d differs", i)
		}
	}
	r = do(t, "POST", base+"/wp-admin/admin-ajax.php", "", nil)
	assert.Equal(t, []any{400, "0"}, []any{r.status, r.body})
	s.Reset()
	assert.Empty(t, s.Requests())
}
