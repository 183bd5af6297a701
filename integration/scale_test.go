package integration

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// TestTenThousandWebhooks stores 10,000 webhooks of one site directly with
// redisstore, then checks that list pages, filters and counts served by
// Caddy are exact. No timing is asserted.
func TestTenThousandWebhooks(t *testing.T) {
	const n = 10000
	e := newEnv(t, envOptions{})
	key := e.AddKey("read")

	opts, err := redis.ParseURL(e.RedisURL)
	require.NoError(t, err)
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	site, err := redisstore.New(rdb, redisstore.Options{}).Site(siteName)
	require.NoError(t, err)

	// Webhook i is named hook-%05d, created at base+i seconds, paused when
	// i is a multiple of 10; created in order, so ids ascend with i.
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	idOf := make([]int64, n)
	ctx := context.Background()
	for i := 0; i < n; i++ {
		w := &redisstore.Webhook{
			Name: fmt.Sprintf("hook-%05d", i), Status: redisstore.StatusActive, Topic: "order.created",
			DeliveryURL: "https://receiver.invalid/hook", Secret: "secret", APIVersion: redisstore.APIVersionWPV3,
			Created: base.Add(time.Duration(i) * time.Second),
		}
		if i%10 == 0 {
			w.Status = redisstore.StatusPaused
		}
		require.NoError(t, site.CreateWebhook(ctx, w))
		idOf[i] = w.ID
	}
	for i := 1; i < n; i++ {
		require.Greater(t, idOf[i], idOf[i-1])
	}

	c := e.Client(false)
	list := func(query string) ([]restWebhook, response) {
		t.Helper()
		r := do(t, c, "GET", e.HTTPSBase+"/wp-json/wc/v3/webhooks?"+query, nil, basic(key))
		require.Equal(t, 200, r.Status, "%s: %s", query, r.Body)
		var ws []restWebhook
		r.JSON(t, &ws)
		return ws, r
	}
	expect := func(is ...int) []string {
		out := make([]string, len(is))
		for k, i := range is {
			out[k] = fmt.Sprintf("%d hook-%05d", idOf[i], i)
		}
		return out
	}
	got := func(ws []restWebhook) []string {
		out := make([]string, len(ws))
		for k, w := range ws {
			out[k] = fmt.Sprintf("%d %s", w.ID, w.Name)
		}
		return out
	}
	span := func(from, step, count int) []int {
		out := make([]int, count)
		for k := range out {
			out[k] = from + k*step
		}
		return out
	}

	ws, r := list("per_page=100")
	assert.Equal(t, []string{"10000", "100"}, []string{r.Header.Get("X-WP-Total"), r.Header.Get("X-WP-TotalPages")})
	assert.Equal(t, expect(span(9999, -1, 100)...), got(ws), "first page: newest first")
	require.NotEmpty(t, ws)
	assert.Equal(t, "2024-01-01T02:46:39", *ws[0].DateCreatedGMT)

	ws, r = list("per_page=100&page=100")
	assert.Equal(t, expect(span(99, -1, 100)...), got(ws), "last page")
	assert.NotContains(t, parseLinks(t, r.Header.Get("Link")), "next")

	ws, _ = list("orderby=id&order=asc&per_page=50&page=37")
	assert.Equal(t, expect(span(36*50, 1, 50)...), got(ws))

	ws, r = list("status=paused&per_page=100&page=3")
	assert.Equal(t, "1000", r.Header.Get("X-WP-Total"))
	assert.Equal(t, expect(span(9990-200*10, -10, 100)...), got(ws))

	ws, r = list("search=hook-0999&per_page=100")
	assert.Equal(t, "10", r.Header.Get("X-WP-Total"))
	assert.Equal(t, expect(span(9999, -1, 10)...), got(ws))

	ws, _ = list("offset=9995&per_page=10")
	assert.Equal(t, expect(4, 3, 2, 1, 0), got(ws))

	ws, r = list(fmt.Sprintf("include=%d,%d&orderby=title&order=asc", idOf[7], idOf[3]))
	assert.Equal(t, "2", r.Header.Get("X-WP-Total"))
	assert.Equal(t, expect(3, 7), got(ws))

	r = do(t, c, "GET", e.HTTPSBase+"/wc-api/v3/webhooks/count", nil, basic(key))
	require.Equal(t, 200, r.Status, "%s", r.Body)
	assert.JSONEq(t, `{"count":10000}`, string(r.Body))

	q := url.Values{"filter[limit]": {"100"}, "page": {"2"}}
	r = do(t, c, "GET", e.HTTPSBase+"/wc-api/v3/webhooks?"+q.Encode(), nil, basic(key))
	require.Equal(t, 200, r.Status, "%s", r.Body)
	var legacy struct {
		Webhooks []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"webhooks"`
	}
	r.JSON(t, &legacy)
	var names []string
	for _, w := range legacy.Webhooks {
		names = append(names, fmt.Sprintf("%d %s", w.ID, w.Name))
	}
	assert.Equal(t, expect(span(9899, -1, 100)...), names, "legacy default order is id desc")
	assert.Equal(t, []string{"10000", "100"}, []string{r.Header.Get("X-WC-Total"), r.Header.Get("X-WC-TotalPages")})
	assert.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"))
}
