// Package standin is a stand-in for a WordPress + WooCommerce site, used as
// the upstream behind Caddy in the integration tests. It behaves like
// WooCommerce where the wc_webhooks module depends on it: REST and legacy API
// authentication (API keys over Basic, query string and OAuth 1.0a), users
// with roles and the manage_woocommerce capability, the webhooks routes the
// module probes in `auth upstream` mode, and a few ordinary pages so that
// pass-through can be checked byte for byte. It records every request.
//
// Unless webhooks are added with AddWebhook, it keeps no webhooks: list
// routes answer empty, single routes answer WooCommerce's "not found"
// errors once permission has been granted.
package standin

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Role is a WordPress role. Administrators and shop managers hold the
// manage_woocommerce capability; customers do not.
type Role string

// The roles the stand-in knows.
const (
	RoleAdministrator Role = "administrator"
	RoleShopManager   Role = "shop_manager"
	RoleCustomer      Role = "customer"
)

// CanManageWooCommerce reports whether the role has manage_woocommerce.
func (r Role) CanManageWooCommerce() bool {
	return r == RoleAdministrator || r == RoleShopManager
}

// User is a WordPress user. AppPassword, when set, is a WordPress application
// password accepted over HTTPS Basic auth with Login as the user name.
type User struct {
	ID          int64
	Login       string
	Role        Role
	AppPassword string
}

// Key permissions, as WooCommerce names them.
const (
	PermRead      = "read"
	PermWrite     = "write"
	PermReadWrite = "read_write"
)

// Key is a WooCommerce REST API key of a user.
type Key struct {
	ConsumerKey    string
	ConsumerSecret string
	UserID         int64
	Permissions    string // PermRead, PermWrite or PermReadWrite
}

// NewKey returns a key for userID with fresh random ck_/cs_ values in
// WooCommerce's format (40 hex digits after the prefix).
func NewKey(userID int64, permissions string) Key {
	return Key{
		ConsumerKey:    "ck_" + randomHex(20),
		ConsumerSecret: "cs_" + randomHex(20),
		UserID:         userID,
		Permissions:    permissions,
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("standin: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// Recorded is one request as the stand-in received it.
type Recorded struct {
	Method     string
	RequestURI string
	Host       string
	Proto      string
	Header     http.Header
	Body       []byte
}

// Server is the stand-in site. The zero value is not usable; call New.
type Server struct {
	// Now is the clock used for OAuth timestamps. Default: time.Now.
	Now func() time.Time

	mu       sync.Mutex
	users    map[int64]User
	keys     map[string]Key               // by consumer key
	nonces   map[string]map[string]string // consumer key -> timestamp -> nonce
	requests []Recorded
	webhooks map[int64]Webhook // see AddWebhook (webhooks.go)
}

// New returns a stand-in with three users: 1 "admin" (administrator),
// 2 "manager" (shop_manager) and 3 "customer" (customer), and no keys.
func New() *Server {
	s := &Server{
		Now:    time.Now,
		users:  map[int64]User{},
		keys:   map[string]Key{},
		nonces: map[string]map[string]string{},
	}
	s.AddUser(User{ID: 1, Login: "admin", Role: RoleAdministrator})
	s.AddUser(User{ID: 2, Login: "manager", Role: RoleShopManager})
	s.AddUser(User{ID: 3, Login: "customer", Role: RoleCustomer})
	return s
}

// User IDs of the users New creates.
const (
	AdminID    int64 = 1
	ManagerID  int64 = 2
	CustomerID int64 = 3
)

// AddUser adds or replaces a user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// AddKey adds or replaces an API key.
func (s *Server) AddKey(k Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[k.ConsumerKey] = k
}

// Requests returns a copy of every request received so far, oldest first.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.requests...)
}

// Reset forgets the recorded requests.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

func (s *Server) user(id int64) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	return u, ok
}

func (s *Server) key(ck string) (Key, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[ck]
	return k, ok
}

func (s *Server) userByLogin(login string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Login == login {
			return u, true
		}
	}
	return User{}, false
}

// ServeHTTP records the request and answers it as WordPress would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.requests = append(s.requests, Recorded{
		Method:     r.Method,
		RequestURI: r.RequestURI,
		Host:       r.Host,
		Proto:      r.Proto,
		Header:     r.Header.Clone(),
		Body:       body,
	})
	s.mu.Unlock()

	c := &call{s: s, w: w, r: r, body: body, query: phpQuery(r.URL.RawQuery)}
	if route, ok := restRoute(r.URL.Path, c.query); ok {
		if c.serveCheckout(route, true) || c.serveCart(route, true) || c.serveStoredWebhooks(route) {
			return
		}
		c.serveREST(route)
		return
	}
	if version, route, ok := legacyRoute(r.URL.Path, c.query); ok {
		c.serveLegacy(version, route)
		return
	}
	if c.serveAccount() || c.serveCheckout("", false) || c.serveCart("", false) || c.serveAdmin() {
		return
	}
	c.servePage()
}

// call is one request in flight.
type call struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	body  []byte
	query map[string]string
}

// secure reports is_ssl(): TLS here, or X-Forwarded-Proto: https from the
// proxy in front (WordPress behind a proxy is configured to trust it).
func (c *call) secure() bool {
	return c.r.TLS != nil || strings.EqualFold(c.r.Header.Get("X-Forwarded-Proto"), "https")
}

// method returns the effective method after _method / X-HTTP-Method-Override.
func (c *call) method() string {
	if m := c.query["_method"]; m != "" {
		return strings.ToUpper(m)
	}
	if m := c.r.Header.Get("X-HTTP-Method-Override"); m != "" {
		return strings.ToUpper(m)
	}
	return c.r.Method
}

// phpQuery parses a raw query string as PHP's $_GET does for flat keys: one
// value per key, the last one wins.
func phpQuery(raw string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k = phpUnescape(k)
		if k == "" {
			continue
		}
		out[k] = phpUnescape(v)
	}
	return out
}

// phpUnescape is PHP's urldecode: '+' is a space, bad escapes stay as they are.
func phpUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '+':
			b.WriteByte(' ')
		case s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
