package wcapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcauth"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore/redistest"
)

// verdictAuth answers every request with a fixed verdict; authentication
// itself is tested in wcauth.
type verdictAuth struct{ v wcauth.Verdict }

func (a *verdictAuth) Authenticate(context.Context, wcauth.Request) wcauth.Verdict { return a.v }

var manager = wcauth.Verdict{Authenticated: true, CanManage: true, UserID: 1}

// testAPI is an API on a real redis-server with a controllable verdict and
// clock.
type testAPI struct {
	t     testing.TB
	api   *API
	site  *redisstore.Site
	auth  *verdictAuth
	now   time.Time
	store *redisstore.Store
}

func newTestAPI(t testing.TB) *testAPI {
	t.Helper()
	store := redisstore.New(redistest.Client(t), redisstore.Options{})
	site, err := store.Site("shop.test")
	require.NoError(t, err)
	ta := &testAPI{t: t, site: site, auth: &verdictAuth{v: manager}, store: store,
		now: time.Date(2024, 5, 15, 20, 17, 52, 0, time.UTC)}
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	ta.api, err = New(Options{Store: site, Auth: ta.auth, Location: berlin, Now: func() time.Time { return ta.now }})
	require.NoError(t, err)
	return ta
}

// response is a recorded answer.
type response struct {
	status int
	header http.Header
	body   string
}

// json decodes the body into v.
func (r response) json(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(r.body), v), r.body)
}

// obj decodes the body as an object.
func (r response) obj(t testing.TB) map[string]any {
	var m map[string]any
	r.json(t, &m)
	return m
}

// do sends a request through Match and Serve. body is sent as JSON unless
// contentType says otherwise.
func (ta *testAPI) do(method, target, body string, header ...string) response {
	ta.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, "http://shop.test"+target, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	require.True(ta.t, Match(r), "Match(%s %s)", method, target)
	w := httptest.NewRecorder()
	ta.api.Serve(w, r, nil)
	return response{status: w.Code, header: w.Header(), body: w.Body.String()}
}

// create makes a webhook through wc/v3 and returns its id.
func (ta *testAPI) create(name, topic string) int64 {
	ta.t.Helper()
	res := ta.do("POST", "/wp-json/wc/v3/webhooks",
		`{"name":"`+name+`","topic":"`+topic+`","delivery_url":"https://example.com/hook"}`)
	require.Equal(ta.t, http.StatusCreated, res.status, res.body)
	var m struct{ ID int64 }
	res.json(ta.t, &m)
	return m.ID
}

// errorCode returns the WP REST error code and message of a response.
func errorCode(t *testing.T, r response) (string, string) {
	t.Helper()
	var e struct{ Code, Message string }
	r.json(t, &e)
	return e.Code, e.Message
}
