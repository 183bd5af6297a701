package caddymodule

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcevents"
	"github.com/wcwebhooks/caddy-wc-webhooks/integration/standin"
)

// standinNext serves probes with a stand-in WooCommerce over plain HTTP,
// as reverse_proxy to it would: the client's Host, the probe's path and
// query, X-Forwarded-Proto set from the TLS state.
func standinNext(s *standin.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := r.Clone(r.Context())
		up.Header.Set("X-Forwarded-Proto", "http")
		if r.TLS != nil {
			up.Header.Set("X-Forwarded-Proto", "https")
		}
		up.TLS = nil
		s.ServeHTTP(w, up)
	})
}

type handlerNext struct{ h http.Handler }

func (n handlerNext) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	n.h.ServeHTTP(w, r)
	return nil
}

// authsSeen lists how each request the stand-in got was authenticated:
// "basic" or "oauth".
func authsSeen(s *standin.Server) []string {
	var out []string
	for _, rq := range s.Requests() {
		switch {
		case strings.HasPrefix(rq.Header.Get("Authorization"), "Basic "):
			out = append(out, "basic")
		case strings.Contains(rq.RequestURI, "oauth_signature="):
			out = append(out, "oauth")
		default:
			out = append(out, "none")
		}
	}
	return out
}

func TestServiceReaderFallsBackToOAuth(t *testing.T) {
	for _, trust := range []bool{true, false} {
		s := standin.New()
		key := standin.NewKey(standin.AdminID, standin.PermRead)
		s.AddKey(key)
		s.SetTrustForwardedProto(trust)
		order := s.CreateResource("order", "processing")
		orig := httptest.NewRequest(http.MethodGet, "https://shop.example/", nil)
		auth := &serviceAuth{}
		r := &serviceReader{prober: newNextProber(orig, handlerNext{standinNext(s)}), ck: key.ConsumerKey, cs: key.ConsumerSecret, base: "/", auth: auth}
		ctx := context.Background()

		for _, v := range []string{wcevents.APIVersionWPV3, wcevents.APIVersionLegacyV3, wcevents.APIVersionWPV1} {
			body, err := r.Read(ctx, "order", order, v)
			require.NoError(t, err, "trust %v, %s", trust, v)
			assert.Contains(t, string(body), `"id":`, v)
		}
		items, err := restLister{r}.List(ctx, "order", url.Values{"per_page": {"5"}})
		require.NoError(t, err)
		assert.Len(t, items, 1)

		if trust {
			assert.Equal(t, []string{"basic", "basic", "basic", "basic"}, authsSeen(s), "Basic auth works: no OAuth")
			assert.False(t, auth.oauth.Load())
			continue
		}
		// The first read is refused, retried with OAuth; the site then
		// reads with OAuth at once (the legacy API too).
		assert.Equal(t, []string{"basic", "oauth", "oauth", "oauth", "oauth"}, authsSeen(s))
		assert.True(t, auth.oauth.Load(), "remembered")

		// A reader without memory retries every time; each one works.
		s.Reset()
		forgetful := *r
		forgetful.auth = nil
		_, err = forgetful.Read(ctx, "order", order, wcevents.APIVersionLegacyV3)
		require.NoError(t, err, "the legacy API's 404 for missing OAuth parameters is a refusal too")
		assert.Equal(t, []string{"basic", "oauth"}, authsSeen(s))

		// A wrong secret fails either way, with no secret in the error.
		s.Reset()
		bad := *r
		bad.cs = "cs_wrong_secret"
		bad.auth = &serviceAuth{}
		_, err = bad.Read(ctx, "order", order, wcevents.APIVersionWPV3)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "status 401")
		assert.NotContains(t, err.Error(), "cs_wrong_secret")
		assert.False(t, bad.auth.oauth.Load(), "nothing worked: nothing remembered")
		assert.Equal(t, []string{"basic", "oauth"}, authsSeen(s), "one retry, no more")
	}
}

func TestServiceReaderOAuthSignsTheForwardedURL(t *testing.T) {
	next := &recordingNext{status: 200, body: `{"id":5}`}
	orig := httptest.NewRequest(http.MethodGet, "https://shop.example:8443/blog/shop/", nil)
	r := &serviceReader{prober: newNextProber(orig, next), ck: "ck_a", cs: "cs_b", base: "/blog/", auth: &serviceAuth{}}
	r.auth.oauth.Store(true)
	_, err := r.Read(context.Background(), "order", 5, wcevents.APIVersionWPV3)
	require.NoError(t, err)
	require.Len(t, next.reqs, 1)
	got := next.reqs[0]
	assert.Empty(t, got.Header.Get("Authorization"))
	assert.Equal(t, "shop.example:8443", got.Host)
	assert.Equal(t, "/blog/", got.URL.Path)
	q := got.URL.Query()
	params := map[string]string{}
	for k := range q {
		if k != "oauth_signature" {
			params[k] = q.Get(k)
		}
	}
	assert.Equal(t, "/wc/v3/orders/5", params["rest_route"])
	assert.Equal(t, "HMAC-SHA256", params["oauth_signature_method"])
	want, ok := standin.Sign(standin.OAuthREST, "HMAC-SHA256", "cs_b", standin.BaseString("GET", "http://shop.example:8443/blog/", params))
	require.True(t, ok)
	assert.Equal(t, want, q.Get("oauth_signature"), "signed over http://<Host><path> and every query parameter")
}
