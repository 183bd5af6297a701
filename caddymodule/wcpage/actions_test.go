package wcpage

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

func TestPauseAndActivate(t *testing.T) {
	f := newFixture(t)
	w := f.create("hook", redisstore.StatusActive, "https://hooks.example/")
	tok := f.token()
	same := http.Header{"Origin": {"https://shop.example"}, "Sec-Fetch-Site": {"same-origin"}}

	res := f.do("POST", base+"/webhooks/"+itoa(w.ID)+"/status", url.Values{"status": {"paused"}, "csrf": {tok}}, f.ck, f.cs, same)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, base+"/?done=paused&webhook="+itoa(w.ID)+"#webhook-"+itoa(w.ID), res.Header.Get("Location"))
	assert.Equal(t, redisstore.StatusPaused, f.stored(w.ID).Status)
	assert.False(t, f.stored(w.ID).Modified.IsZero(), "date_modified is set")

	_, body := f.get(res.Header.Get("Location"))
	assert.Contains(t, body, "Webhook #"+itoa(w.ID)+" paused.")
	assert.Contains(t, body, `data-action="activate"`)

	// Activation resets failure_count and pings a webhook awaiting its ping.
	stored := f.stored(w.ID)
	stored.FailureCount, stored.PendingDelivery = 4, true
	require.NoError(t, f.site.SaveWebhook(context.Background(), stored))
	res = f.do("POST", base+"/webhooks/"+itoa(w.ID)+"/status", url.Values{"status": {"active"}, "csrf": {tok}}, f.ck, f.cs, nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	got := f.stored(w.ID)
	assert.Equal(t, redisstore.StatusActive, got.Status)
	assert.Zero(t, got.FailureCount)
	assert.Equal(t, []int64{w.ID}, f.dispatch.pings)
	qs, err := f.site.QueueStats(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 1, qs.Ready, "the ping job is queued")

	bad := f.do("POST", base+"/webhooks/"+itoa(w.ID)+"/status", url.Values{"status": {"disabled"}, "csrf": {tok}}, f.ck, f.cs, nil)
	assert.Equal(t, 400, bad.StatusCode)
	missing := f.do("POST", base+"/webhooks/999999/status", url.Values{"status": {"paused"}, "csrf": {tok}}, f.ck, f.cs, nil)
	assert.Equal(t, 404, missing.StatusCode)
}

func TestRedeliver(t *testing.T) {
	f := newFixture(t)
	w := f.create("hook", redisstore.StatusActive, "https://hooks.example/")
	ctx := context.Background()
	payload := `{"id":1}`
	d := &redisstore.Delivery{WebhookID: w.ID, Duration: "0.25", ResponseCode: "500", Summary: "HTTP 500",
		RequestBody: payload, RequestHeaders: map[string]string{
			"X-WC-Webhook-Signature": dispatcher.WooSignature([]byte(payload), w.Secret),
			"X-WC-Webhook-Topic":     "order.created", "webhook-id": "msg_1"}}
	require.NoError(t, f.site.AppendDelivery(ctx, d, 0))

	_, body := f.get(base + "/")
	assert.Contains(t, body, `data-delivery-id="`+itoa(d.ID)+`"`)
	assert.Contains(t, body, "250 ms")
	assert.Contains(t, body, `<span class="code bad">500</span>`)
	assert.Contains(t, body, `<td data-label="Event">order.created</td>`)

	target := base + "/webhooks/" + itoa(w.ID) + "/deliveries/" + itoa(d.ID) + "/redeliver"
	res := f.do("POST", target, url.Values{"csrf": {f.token()}}, f.ck, f.cs, nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	job, err := f.site.GetJob(ctx, 1)
	require.NoError(t, err, "a job was queued")
	assert.Equal(t, "msg_1", job.MessageID, "the redelivery keeps its webhook-id")
	assert.Equal(t, payload, string(job.Payload))
	_, body = f.get(res.Header.Get("Location"))
	assert.Contains(t, body, "queued again (job 1)")

	res = f.do("POST", base+"/webhooks/"+itoa(w.ID)+"/deliveries/424242/redeliver", url.Values{"csrf": {f.token()}}, f.ck, f.cs, nil)
	assert.Equal(t, 404, res.StatusCode)
}

func TestCSRFRefused(t *testing.T) {
	f := newFixture(t)
	w := f.create("hook", redisstore.StatusActive, "https://hooks.example/")
	target := base + "/webhooks/" + itoa(w.ID) + "/status"
	tok := f.token()
	other, ocs, _, err := f.site.AddAPIKey(context.Background(), 2, "other", redisstore.PermReadWrite)
	require.NoError(t, err)
	cases := map[string]struct {
		form   url.Values
		ck, cs string
		header http.Header
	}{
		"no token":                   {url.Values{"status": {"paused"}}, f.ck, f.cs, nil},
		"forged token":               {url.Values{"status": {"paused"}, "csrf": {"1700000000.AAAA"}}, f.ck, f.cs, nil},
		"another credential's token": {url.Values{"status": {"paused"}, "csrf": {tok}}, other, ocs, nil},
		"cross-site origin":          {url.Values{"status": {"paused"}, "csrf": {tok}}, f.ck, f.cs, http.Header{"Origin": {"https://evil.example"}}},
		"cross-site referer":         {url.Values{"status": {"paused"}, "csrf": {tok}}, f.ck, f.cs, http.Header{"Referer": {"https://evil.example/x"}}},
		"sec-fetch-site cross-site":  {url.Values{"status": {"paused"}, "csrf": {tok}}, f.ck, f.cs, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		"null origin":                {url.Values{"status": {"paused"}, "csrf": {tok}}, f.ck, f.cs, http.Header{"Origin": {"null"}}},
	}
	for name, c := range cases {
		res := f.do("POST", target, c.form, c.ck, c.cs, c.header)
		assert.Equal(t, http.StatusForbidden, res.StatusCode, name)
	}
	assert.Equal(t, redisstore.StatusActive, f.stored(w.ID).Status, "nothing changed")

	// An expired token is refused too.
	old := f.page.token(credentialOf(basicRequest(f.ck, f.cs)), time.Now().Add(-DefaultTokenTTL-time.Minute))
	res := f.do("POST", target, url.Values{"status": {"paused"}, "csrf": {old}}, f.ck, f.cs, nil)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	fresh := f.page.token(credentialOf(basicRequest(f.ck, f.cs)), time.Now())
	res = f.do("POST", target, url.Values{"status": {"paused"}, "csrf": {fresh}}, f.ck, f.cs, nil)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "the same token, freshly issued, works")
}

func basicRequest(ck, cs string) *http.Request {
	r, _ := http.NewRequest("GET", "https://shop.example/", nil)
	r.SetBasicAuth(ck, cs)
	return r
}
