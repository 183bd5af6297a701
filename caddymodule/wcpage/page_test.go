package wcpage

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcauth"
	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore/redistest"
)

const base = "/wc-webhooks-admin"

// siteDispatch queues pings and redeliveries with the dispatcher package,
// as the Caddy module's adapter does.
type siteDispatch struct {
	site  *redisstore.Site
	pings []int64
}

func (d *siteDispatch) Publish(context.Context, string, int64, []byte) (string, error) {
	return "", nil
}
func (d *siteDispatch) Ping(ctx context.Context, id int64) error {
	d.pings = append(d.pings, id)
	_, err := dispatcher.Ping(ctx, d.site, id)
	return err
}
func (d *siteDispatch) Redeliver(ctx context.Context, wid, did int64) (int64, error) {
	return dispatcher.Redeliver(ctx, d.site, wid, did)
}

// fixture is a page on a real redis-server with one read_write key.
type fixture struct {
	t        *testing.T
	site     *redisstore.Site
	page     *Page
	dispatch *siteDispatch
	ck, cs   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	site, err := redisstore.New(redistest.Client(t), redisstore.Options{}).Site("shop")
	require.NoError(t, err)
	ck, cs, _, err := site.AddAPIKey(context.Background(), 1, "operator", redisstore.PermReadWrite)
	require.NoError(t, err)
	d := &siteDispatch{site: site}
	page, err := New(Options{Store: site, Auth: wcauth.NewKeys(site), Dispatch: d, BasePath: base + "/",
		Dead: func(context.Context) (int64, error) { return 7, nil }})
	require.NoError(t, err)
	return &fixture{t: t, site: site, page: page, dispatch: d, ck: ck, cs: cs}
}

// do sends a request over "HTTPS" (r.TLS set), with Basic credentials
// unless ck is empty.
func (f *fixture) do(method, target string, form url.Values, ck, cs string, header http.Header) *http.Response {
	f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "https://shop.example"+target, body)
	r.TLS = &tls.ConnectionState{}
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if ck != "" {
		r.SetBasicAuth(ck, cs)
	}
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	f.page.ServeHTTP(w, r)
	return w.Result()
}

func (f *fixture) get(target string) (*http.Response, string) {
	f.t.Helper()
	target, _, _ = strings.Cut(target, "#") // browsers never send the fragment
	res := f.do("GET", target, nil, f.ck, f.cs, nil)
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (f *fixture) create(name, status, deliveryURL string) *redisstore.Webhook {
	f.t.Helper()
	w := &redisstore.Webhook{Name: name, Status: status, Topic: "order.created", DeliveryURL: deliveryURL,
		Secret: "s3cr3t-never-shown", APIVersion: redisstore.APIVersionWPV3, Created: time.Now()}
	require.NoError(f.t, f.site.CreateWebhook(context.Background(), w))
	return w
}

var tokenRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token reads the CSRF token from the page.
func (f *fixture) token() string {
	f.t.Helper()
	_, body := f.get(base + "/")
	m := tokenRE.FindStringSubmatch(body)
	require.NotNil(f.t, m, "the page has a CSRF token")
	return m[1]
}

func TestEscapesHostileData(t *testing.T) {
	f := newFixture(t)
	f.create(`<script>alert("x")</script> "quoted" 'single' & more`, redisstore.StatusActive, "javascript:alert(1)")
	f.create("plain", redisstore.StatusPaused, `https://hooks.example/"><script>alert(2)</script>`)
	res, body := f.get(base + "/")
	require.Equal(t, 200, res.StatusCode, body)
	assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'none'")
	assert.Equal(t, "DENY", res.Header.Get("X-Frame-Options"))
	assert.NotContains(t, body, "<script")
	assert.Contains(t, body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &#34;quoted&#34; &#39;single&#39; &amp; more")
	assert.NotContains(t, body, `href="javascript:`, "a javascript: URL is never linked")
	assert.Contains(t, body, `<span class="url">javascript:alert(1)</span>`)
	assert.Contains(t, body, `href="https://hooks.example/%22%3e%3cscript%3ealert%282%29%3c/script%3e"`)
	assert.NotContains(t, body, "s3cr3t-never-shown", "secrets are never shown")
	assert.Contains(t, body, `<meta name="viewport" content="width=device-width, initial-scale=1">`)
	assert.NotRegexp(t, `(?i)(src|href)="(https?:)?//`, strings.ReplaceAll(body, `href="https://hooks.example/`, ""), "no external assets")
	assert.Contains(t, body, `<b>7</b><span>dead`)
}

func TestAuthRefused(t *testing.T) {
	f := newFixture(t)
	res := f.do("GET", base+"/", nil, "", "", nil)
	assert.Equal(t, 401, res.StatusCode)
	assert.Equal(t, `Basic realm="WooCommerce webhooks", charset="UTF-8"`, res.Header.Get("WWW-Authenticate"))
	res = f.do("GET", base+"/", nil, f.ck, "cs_wrong", nil)
	assert.Equal(t, 401, res.StatusCode, "a wrong secret")
	assert.NotEmpty(t, res.Header.Get("WWW-Authenticate"))
	body, _ := io.ReadAll(res.Body)
	assert.NotContains(t, string(body), "cs_wrong")

	// Query credentials work for scripts.
	q := url.Values{"consumer_key": {f.ck}, "consumer_secret": {f.cs}}
	res = f.do("GET", base+"/?"+q.Encode(), nil, "", "", nil)
	assert.Equal(t, 200, res.StatusCode)

	// A read-only key may look but not act.
	rck, rcs, _, err := f.site.AddAPIKey(context.Background(), 1, "ro", redisstore.PermRead)
	require.NoError(t, err)
	assert.Equal(t, 200, f.do("GET", base+"/", nil, rck, rcs, nil).StatusCode)
	w := f.create("hook", redisstore.StatusActive, "https://hooks.example/")
	res = f.do("POST", base+"/webhooks/"+itoa(w.ID)+"/status", url.Values{"status": {"paused"}, "csrf": {f.token()}}, rck, rcs, nil)
	assert.Equal(t, 401, res.StatusCode)
	assert.Equal(t, redisstore.StatusActive, f.stored(w.ID).Status)

	assert.Equal(t, 404, f.do("GET", base+"/nothing", nil, f.ck, f.cs, nil).StatusCode)
	assert.Equal(t, 405, f.do("GET", base+"/webhooks/1/status", nil, f.ck, f.cs, nil).StatusCode)
}

// customerProber answers the upstream probe as WordPress does for a
// logged-in customer: 403 woocommerce_rest_cannot_view.
type customerProber struct{ probes int }

func (p *customerProber) Probe(_ context.Context, _ *http.Request) (*http.Response, error) {
	p.probes++
	body := `{"code":"woocommerce_rest_cannot_view","message":"Sorry, you cannot list resources.","data":{"status":403}}`
	return &http.Response{StatusCode: 403, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body))}, nil
}

func TestCustomerForbidden(t *testing.T) {
	f := newFixture(t)
	page, err := New(Options{Store: f.site, Auth: wcauth.NewUpstream(time.Second), BasePath: base})
	require.NoError(t, err)
	r := httptest.NewRequest("GET", "https://shop.example"+base+"/", nil)
	r.TLS = &tls.ConnectionState{}
	r.SetBasicAuth("customer", "app password")
	w := httptest.NewRecorder()
	prober := &customerProber{}
	page.Serve(w, r, prober)
	assert.Equal(t, 403, w.Code, w.Body.String())
	assert.Equal(t, 1, prober.probes, "the upstream judged the credentials")
	assert.Empty(t, w.Header().Get("WWW-Authenticate"))
}

func (f *fixture) stored(id int64) *redisstore.Webhook {
	f.t.Helper()
	w, err := f.site.GetWebhook(context.Background(), id)
	require.NoError(f.t, err)
	return w
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
