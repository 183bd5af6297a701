package caddymodule

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/standin"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore/redistest"
)

// importShop is a stand-in WordPress holding three webhooks, a read_write
// service key, and a store on a fresh redis-server.
type importShop struct {
	wp       *standin.Server
	srv      *httptest.Server
	key      string
	redisURL string
	site     *redisstore.Site
	rdb      *redis.Client
}

func newImportShop(t *testing.T) *importShop {
	t.Setenv(RedisEnv, "")
	t.Setenv(ServiceKeyEnv, "")
	wp := standin.New()
	created := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	wp.AddWebhook(standin.Webhook{ID: 4, Name: "Orders\tCRM", Status: "active", Topic: "order.created",
		DeliveryURL: "https://crm.example/h", Secret: `old\secret 4`, APIVersion: 3, UserID: 1, Created: created})
	wp.AddWebhook(standin.Webhook{ID: 9, Name: "Legacy", Status: "paused", Topic: "product.updated",
		DeliveryURL: "https://old.example/h", Secret: "old-secret-9", APIVersion: -1, UserID: 2, FailureCount: 3,
		Created: created, Modified: created.Add(time.Hour)})
	wp.AddWebhook(standin.Webhook{ID: 12, Name: "Coupons", Status: "active", Topic: "coupon.created",
		DeliveryURL: "https://c.example/h", Secret: "old-secret-12", APIVersion: 2, UserID: 1, PendingDelivery: true, Created: created})
	k := standin.NewKey(standin.AdminID, standin.PermReadWrite)
	wp.AddKey(k)
	srv := httptest.NewServer(wp)
	t.Cleanup(srv.Close)
	rdb := redistest.Client(t)
	site, err := redisstore.New(rdb, redisstore.Options{}).Site("shop.example")
	require.NoError(t, err)
	return &importShop{wp: wp, srv: srv, key: k.ConsumerKey + ":" + k.ConsumerSecret,
		redisURL: "redis://" + rdb.Options().Addr, site: site, rdb: rdb}
}

func (s *importShop) statuses() map[int64]string {
	out := map[int64]string{}
	for _, id := range []int64{4, 9, 12} {
		w, _ := s.wp.StoredWebhook(id)
		out[id] = w.Status
	}
	return out
}

var reNewSecret = regexp.MustCompile(`(?m)^(\d+)\t(.{50})$`)

func TestImportFromDB(t *testing.T) {
	s := newImportShop(t)
	file := filepath.Join(t.TempDir(), "hooks.tsv")
	require.NoError(t, os.WriteFile(file, []byte(s.wp.ExportTSV()), 0o600))
	base := []string{"import", "--site", "shop.example", "--redis", s.redisURL, "--from-db", file}

	_, err := runCLI(t, append(base, "--dry-run", "--pause-in-wordpress", "--wordpress", s.srv.URL, "--service-key", "ck_wrong:cs_wrong")...)
	assert.ErrorContains(t, err, "could not be read in WordPress", "the dry run checks that pausing would work")
	assert.ErrorContains(t, err, "401 woocommerce_rest_authentication_error")

	out, err := runCLI(t, append(base, "--dry-run", "--pause-in-wordpress", "--wordpress", s.srv.URL, "--service-key", s.key)...)
	require.NoError(t, err)
	assert.Contains(t, out, "DRY RUN")
	assert.Contains(t, out, "would be created")
	assert.Contains(t, out, "would pause in WordPress: webhook 12")
	n, err := s.rdb.DBSize(context.Background()).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "a dry run imports nothing")
	assert.Equal(t, map[int64]string{4: "active", 9: "paused", 12: "active"}, s.statuses(), "a dry run pauses nothing")
	assert.Contains(t, out, "webhook 4 (Orders CRM), now active there", "the dry run reads each webhook in WordPress")
	s.wp.Reset()

	out, err = runCLI(t, append(base, "--pause-in-wordpress", "--wordpress", s.srv.URL, "--wordpress-host", "shop.example", "--service-key", s.key)...)
	require.NoError(t, err, out)
	assert.Contains(t, out, "3 created, 0 updated, 0 unchanged; id counter 12")
	for _, secret := range []string{"old-secret", `old\secret`} {
		assert.NotContains(t, out, secret, "no secret is printed")
	}
	w4, err := s.site.GetWebhook(context.Background(), 4)
	require.NoError(t, err)
	assert.Equal(t, `old\secret 4`, w4.Secret)
	assert.Equal(t, "Orders\tCRM", w4.Name)
	w9, err := s.site.GetWebhook(context.Background(), 9)
	require.NoError(t, err)
	assert.Equal(t, []any{"paused", "legacy_v3", int64(2), 3}, []any{w9.Status, w9.APIVersion, w9.UserID, w9.FailureCount})
	w12, err := s.site.GetWebhook(context.Background(), 12)
	require.NoError(t, err)
	assert.Equal(t, []any{"active", "wp_api_v2", true}, []any{w12.Status, w12.APIVersion, w12.PendingDelivery})
	assert.Equal(t, map[int64]string{4: "paused", 9: "paused", 12: "paused"}, s.statuses(), "WordPress's copies are paused")
	require.NotEmpty(t, s.wp.Requests())
	for _, r := range s.wp.Requests() {
		assert.Equal(t, "shop.example", r.Host, "--wordpress-host is the Host WordPress sees")
	}

	out, err = runCLI(t, base...)
	require.NoError(t, err)
	assert.Contains(t, out, "0 created, 0 updated, 3 unchanged", "a second run changes nothing")

	// The API creates ids above both the floor and the imported ones.
	nw := &redisstore.Webhook{Name: "n", Topic: "order.created", DeliveryURL: "https://n.example/", APIVersion: "wp_api_v3"}
	require.NoError(t, s.site.CreateWebhook(context.Background(), nw))
	assert.Greater(t, nw.ID, int64(DefaultIDFloor))
}

func TestImportFromAPI(t *testing.T) {
	s := newImportShop(t)
	base := []string{"import", "--site", "shop.example", "--redis", s.redisURL, "--from-api", "--wordpress", s.srv.URL + "/"}
	t.Setenv(ServiceKeyEnv, s.key)

	_, err := runCLI(t, base...)
	assert.ErrorContains(t, err, "never returns webhook secrets")

	out, err := runCLI(t, append(base, "--new-secrets", "--pause-in-wordpress")...)
	require.NoError(t, err, out)
	assert.Contains(t, out, "api_version wp_api_v3")
	assert.Contains(t, out, "3 created")
	m := reNewSecret.FindAllStringSubmatch(out, -1)
	require.Len(t, m, 3, out)
	for _, sm := range m {
		var id int64
		switch sm[1] {
		case "4":
			id = 4
		case "9":
			id = 9
		case "12":
			id = 12
		}
		w, err := s.site.GetWebhook(context.Background(), id)
		require.NoError(t, err, sm[1])
		assert.Equal(t, sm[2], w.Secret, "the printed secret is the stored one")
		assert.Equal(t, "wp_api_v3", w.APIVersion)
	}
	assert.Equal(t, map[int64]string{4: "paused", 9: "paused", 12: "paused"}, s.statuses())

	out, err = runCLI(t, append(base, "--new-secrets")...)
	require.NoError(t, err)
	assert.Contains(t, out, "0 created, 0 updated, 3 unchanged", "stored secrets and live state are kept: WordPress's pause does not pause the module's copies")
	w4, err := s.site.GetWebhook(context.Background(), 4)
	require.NoError(t, err)
	assert.Equal(t, "active", w4.Status)
	assert.Empty(t, reNewSecret.FindAllString(out, -1), "no new secret is printed for webhooks already imported")

	secrets := filepath.Join(t.TempDir(), "secrets")
	require.NoError(t, os.WriteFile(secrets, []byte("# id<TAB>secret\n4\tfour \n9\tnine\n"), 0o600))
	_, err = runCLI(t, "import", "--site", "other", "--redis", s.redisURL, "--from-api", "--wordpress", s.srv.URL, "--secrets", secrets)
	assert.ErrorContains(t, err, "no secret for webhook(s) 12")
	require.NoError(t, os.WriteFile(secrets, []byte("4\tfour \n9\tnine\n12\ttwelve\n"), 0o600))
	out, err = runCLI(t, "import", "--site", "other", "--redis", s.redisURL, "--from-api", "--wordpress", s.srv.URL, "--secrets", secrets)
	require.NoError(t, err, out)
	assert.NotContains(t, out, "twelve")
	other, err := redisstore.New(s.rdb, redisstore.Options{}).Site("other")
	require.NoError(t, err)
	w4, err = other.GetWebhook(context.Background(), 4)
	require.NoError(t, err)
	assert.Equal(t, "four ", w4.Secret, "the secret is everything after the tab")
}

func TestImportBasicOverHTTPS(t *testing.T) {
	s := newImportShop(t)
	tls := httptest.NewTLSServer(s.wp)
	t.Cleanup(tls.Close)
	c, err := newWPClient(tls.URL, "", s.key)
	require.NoError(t, err)
	c.hc.Transport = tls.Client().Transport
	hooks, err := c.listWebhooks(context.Background(), 1)
	require.NoError(t, err)
	require.Len(t, hooks, 3)
	assert.Equal(t, "Orders\tCRM", hooks[0].Name)
	require.NoError(t, c.pause(context.Background(), 4))
	last := s.wp.Requests()[len(s.wp.Requests())-1]
	assert.True(t, strings.HasPrefix(last.Header.Get("Authorization"), "Basic "), "Basic auth over https")
	assert.NotContains(t, last.RequestURI, "oauth_")

	bad, err := newWPClient(tls.URL, "", "ck_x:cs_y")
	require.NoError(t, err)
	bad.hc.Transport = tls.Client().Transport
	_, err = bad.listWebhooks(context.Background(), 1)
	assert.ErrorContains(t, err, "401")
	assert.NotContains(t, err.Error(), "cs_y")
}

func TestImportFlagErrors(t *testing.T) {
	t.Setenv(RedisEnv, "")
	t.Setenv(ServiceKeyEnv, "")
	r := []string{"import", "--site", "s", "--redis", "redis://127.0.0.1:1/0"}
	cases := map[string][]string{
		"exactly one source":       {},
		"go with --from-api":       {"--from-db", "x", "--new-secrets"},
		"need --wordpress":         {"--from-api", "--new-secrets"},
		"ck_...:cs_...":            {"--from-db", "x", "--pause-in-wordpress", "--wordpress", "http://wp"},
		"must be an http":          {"--from-api", "--new-secrets", "--wordpress", "ftp://wp", "--service-key", "ck_a:cs_b"},
		"opening --from-db":        {"--from-db", filepath.Join(t.TempDir(), "missing")},
		"--format goes with":       {"--from-api", "--new-secrets", "--format", "json", "--wordpress", "http://wp", "--service-key", "ck_a:cs_b"},
		"never returns webhook se": {"--from-api", "--new-secrets", "--secrets", "f"},
	}
	for want, args := range cases {
		_, err := runCLI(t, append(r, args...)...)
		assert.ErrorContains(t, err, want, "%v", args)
	}
	bad := filepath.Join(t.TempDir(), "bad.tsv")
	require.NoError(t, os.WriteFile(bad, []byte(tsvHeader+"1\tnope\n"), 0o600))
	_, err := runCLI(t, append(r, "--from-db", bad)...)
	assert.ErrorContains(t, err, "line 2: 2 fields")
	assert.ErrorContains(t, err, "nothing was imported")
}
