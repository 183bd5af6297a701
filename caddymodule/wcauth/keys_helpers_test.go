package wcauth

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// Test keys: WooCommerce's format, "ck_"/"cs_" + 40 hex.
const (
	ckRW   = "ck_00000000000000000000000000000000000000aa"
	csRW   = "cs_11111111111111111111111111111111111111aa"
	ckRead = "ck_00000000000000000000000000000000000000bb"
	csRead = "cs_11111111111111111111111111111111111111bb"
	ckWr   = "ck_00000000000000000000000000000000000000cc"
	csWr   = "cs_11111111111111111111111111111111111111cc"
	home   = "http://shop.example"
)

// testNow is the fixed clock of the tests.
var testNow = time.Unix(1700000000, 0)

// fakeStore is an in-memory KeyStore.
type fakeStore struct {
	mu      sync.Mutex
	keys    map[string]*redisstore.APIKey
	nonces  map[string]bool
	lastTTL time.Duration
	fail    error
}

func newFakeStore() *fakeStore {
	s := &fakeStore{keys: map[string]*redisstore.APIKey{}, nonces: map[string]bool{}}
	s.keys[ckRW] = &redisstore.APIKey{KeyID: 1, UserID: 7, Permissions: "read_write", ConsumerSecret: csRW}
	s.keys[ckRead] = &redisstore.APIKey{KeyID: 2, UserID: 8, Permissions: "read", ConsumerSecret: csRead}
	s.keys[ckWr] = &redisstore.APIKey{KeyID: 3, UserID: 9, Permissions: "write", ConsumerSecret: csWr}
	return s
}

func (s *fakeStore) LookupAPIKey(_ context.Context, ck string) (*redisstore.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	k, ok := s.keys[ck]
	if !ok {
		return nil, redisstore.ErrNotFound
	}
	c := *k
	return &c, nil
}

func (s *fakeStore) UseNonce(_ context.Context, keyID, _ int64, nonce string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastTTL = ttl
	id := fmt.Sprint(keyID, "/", nonce)
	if s.nonces[id] {
		return false, nil
	}
	s.nonces[id] = true
	return true, nil
}

// tr describes one test request.
type tr struct {
	api      API
	method   string // as received
	eff      string // effective method ("" = method)
	target   string // path and query as sent
	secure   bool
	basic    [2]string
	header   map[string]string
	body     string
	homeURL  string // "" = home
	hostname string // "" = shop.example
}

func (c tr) request() Request {
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	r := httptest.NewRequest(c.method, c.target, body)
	r.Host = "shop.example"
	if c.hostname != "" {
		r.Host = c.hostname
	}
	if c.basic[0] != "" || c.basic[1] != "" {
		r.SetBasicAuth(c.basic[0], c.basic[1])
	}
	for k, v := range c.header {
		r.Header.Set(k, v)
	}
	eff := c.eff
	if eff == "" {
		eff = c.method
	}
	h := c.homeURL
	if h == "" {
		h = home
	}
	return Request{HTTP: r, API: c.api, Method: eff, Secure: c.secure, HomeURL: h, Query: ParsePHPQuery(r.URL.RawQuery)}
}

// signer returns a signer for ck/cs at the test clock.
func signer(ck, cs, nonce string) oauthSigner {
	return oauthSigner{ck: ck, cs: cs, timestamp: testNow.Unix(), nonce: nonce}
}

// scheme is http or https for base URLs.
func scheme(secure bool) string {
	if secure {
		return "https"
	}
	return "http"
}

// wantVerdict compares a verdict with the expected one, and checks that no
// secret leaks into an error.
func wantVerdict(t *testing.T, name string, got, want Verdict) {
	t.Helper()
	if got.Err != nil {
		for _, s := range []string{csRW, csRead, csWr, "wrong-secret"} {
			if strings.Contains(got.Err.Message, s) || strings.Contains(got.Err.Code, s) {
				t.Errorf("%s: secret in error %+v", name, got.Err)
			}
		}
	}
	if (got.Err == nil) != (want.Err == nil) {
		t.Fatalf("%s: err = %+v, want %+v", name, got.Err, want.Err)
	}
	if want.Err != nil {
		if got.Err.Code != want.Err.Code || got.Err.Message != want.Err.Message || got.Err.Status != want.Err.Status {
			t.Fatalf("%s: err = %+v, want %+v", name, *got.Err, *want.Err)
		}
		if g, w := got.Err.Header.Get("WWW-Authenticate"), want.Err.Header.Get("WWW-Authenticate"); g != w {
			t.Fatalf("%s: WWW-Authenticate = %q, want %q", name, g, w)
		}
		return
	}
	if got != want {
		t.Fatalf("%s: verdict = %+v, want %+v", name, got, want)
	}
}

// e builds an expected error.
func e(code string, status int, msg string) Verdict {
	return Verdict{Err: &Error{Code: code, Message: msg, Status: status}}
}

// withChallenge adds legacy v3's WWW-Authenticate header.
func withChallenge(v Verdict) Verdict {
	v.Err.Header = http.Header{"Www-Authenticate": {BasicRealm}}
	return v
}

// ok is a successful verdict for user.
func ok(user int64) Verdict {
	return Verdict{Authenticated: true, CanManage: true, UserID: user}
}
