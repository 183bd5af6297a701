package integration

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/harness"
	"github.com/wcwebhooks/caddy-wc-webhooks/integration/standin"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore/redistest"
)

// siteName is the wc_webhooks site every test environment uses.
const siteName = "shop"

// envOptions shape a test environment. Zero values take the defaults.
type envOptions struct {
	Auth     string // "keys" (default) or "upstream"
	Timezone string // default "UTC"
	// Extra lines inside both module sites (after wc_webhooks), for example
	// a `header` directive that marks a config generation.
	Extra string
	// RedisAddr, when set, is a redis-server the test runs itself
	// (host:port); default: a throwaway one from redistest.
	RedisAddr string
	// Global holds extra lines inside the global `wc_webhooks { }` block
	// (after `redis`), for example a `dispatch { ... }` sub-block.
	Global string
}

// testEnv is one isolated set-up: a redis-server, the stand-in WooCommerce
// behind an httptest server, and Caddy with three sites on free ports:
//   - HTTPBase:  http://127.0.0.1:A  wc_webhooks + reverse_proxy
//   - HTTPSBase: https://127.0.0.1:B wc_webhooks + reverse_proxy (tls cert key)
//   - PlainBase: http://127.0.0.1:C  reverse_proxy only (the reference)
type testEnv struct {
	t        testing.TB
	opts     envOptions
	Dir      string
	RedisURL string
	Standin  *standin.Server
	Upstream string // host:port of the stand-in

	admin                          string
	httpPort, httpsPort, plainPort int
	globalHTTP, globalHTTPS        int // http_port / https_port (nothing listens there)
	HTTPBase, HTTPSBase, PlainBase string
	CertFile, KeyFile              string
	Pool                           *x509.CertPool
	Caddy                          *caddyProc
}

// newEnv starts everything and waits until Caddy serves all three sites.
func newEnv(t testing.TB, opts envOptions) *testEnv {
	t.Helper()
	caddyBinary(t) // fail fast with the build output
	if opts.Auth == "" {
		opts.Auth = "keys"
	}
	if opts.Timezone == "" {
		opts.Timezone = "UTC"
	}
	e := &testEnv{t: t, opts: opts, Dir: t.TempDir()}
	if opts.RedisAddr == "" {
		opts.RedisAddr = redistest.Start(t)
	}
	e.RedisURL = "redis://" + opts.RedisAddr
	e.Standin = standin.New()
	up := httptest.NewServer(e.Standin)
	t.Cleanup(up.Close)
	e.Upstream = strings.TrimPrefix(up.URL, "http://")
	e.CertFile, e.KeyFile, e.Pool = selfSignedCert(t, e.Dir)
	e.admin = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	e.httpPort, e.httpsPort, e.plainPort = freePort(t), freePort(t), freePort(t)
	e.globalHTTP, e.globalHTTPS = freePort(t), freePort(t)
	e.HTTPBase = fmt.Sprintf("http://127.0.0.1:%d", e.httpPort)
	e.HTTPSBase = fmt.Sprintf("https://127.0.0.1:%d", e.httpsPort)
	e.PlainBase = fmt.Sprintf("http://127.0.0.1:%d", e.plainPort)
	e.Caddy = startCaddy(t, e.Dir, e.admin, e.Caddyfile(opts),
		fmt.Sprintf("127.0.0.1:%d", e.httpPort),
		fmt.Sprintf("127.0.0.1:%d", e.httpsPort),
		fmt.Sprintf("127.0.0.1:%d", e.plainPort))
	return e
}

// Caddyfile renders the environment's Caddyfile with opts (the ports,
// Redis and upstream stay those of e).
func (e *testEnv) Caddyfile(opts envOptions) string {
	if opts.Auth == "" {
		opts.Auth = "keys"
	}
	if opts.Timezone == "" {
		opts.Timezone = "UTC"
	}
	module := func(home string) string {
		return fmt.Sprintf("\twc_webhooks {\n\t\tsite %s\n\t\tauth %s\n\t\ttimezone %s\n\t\thome_url %s\n\t}\n%s",
			siteName, opts.Auth, opts.Timezone, home, indent(opts.Extra))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{\n\tadmin %s\n\tpersist_config off\n\thttp_port %d\n\thttps_port %d\n", e.admin, e.globalHTTP, e.globalHTTPS)
	b.WriteString("\tdefault_bind 127.0.0.1\n\tauto_https disable_redirects\n\tskip_install_trust\n\tgrace_period 10s\n")
	b.WriteString("\tservers {\n\t\tprotocols h1 h2\n\t}\n")
	fmt.Fprintf(&b, "\twc_webhooks {\n\t\tredis %s\n%s\t}\n}\n\n", e.RedisURL, indent(indent(opts.Global)))
	fmt.Fprintf(&b, "%s {\n%s\treverse_proxy %s\n}\n\n", e.HTTPBase, module(e.HTTPBase), e.Upstream)
	fmt.Fprintf(&b, "%s {\n\ttls %s %s\n%s\treverse_proxy %s\n}\n\n", e.HTTPSBase, e.CertFile, e.KeyFile, module(e.HTTPSBase), e.Upstream)
	fmt.Fprintf(&b, "%s {\n\treverse_proxy %s\n}\n", e.PlainBase, e.Upstream)
	return b.String()
}

func indent(lines string) string {
	if strings.TrimSpace(lines) == "" {
		return ""
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(lines, "\n"), "\n") {
		b.WriteString("\t" + l + "\n")
	}
	return b.String()
}

// Client returns an HTTP client that trusts the test certificate, never
// adds Accept-Encoding by itself, and uses a new connection per request
// when fresh is true.
func (e *testEnv) Client(fresh bool) *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:    &tls.Config{RootCAs: e.Pool},
			DisableCompression: true,
			DisableKeepAlives:  fresh,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// AddKey adds an API key to the environment's site through the CLI.
func (e *testEnv) AddKey(permissions string) apiKey {
	e.t.Helper()
	return addKey(e.t, e.Dir, e.RedisURL, siteName, permissions)
}

// selfSignedCert writes a self-signed certificate for 127.0.0.1 and
// localhost into dir and returns its files and a pool trusting it. The PEM
// file also serves as the CA file for the npm clients.
func selfSignedCert(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	certFile, keyFile, pool, err := harness.SelfSignedCert(dir)
	must(t, err, "self-signed certificate")
	return certFile, keyFile, pool
}
