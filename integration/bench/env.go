package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/harness"
)

// siteName is the wc_webhooks site the benchmark uses.
const siteName = "shop"

// env is one benchmark set-up: a redis-server, the stand-in upstream, a
// receiver and Caddy with three sites on free loopback ports.
type env struct {
	dir       string
	caddyBin  string
	redis     *harness.Redis
	upstream  *http.Server
	upAddr    string
	recv      *receiver
	recvSrv   *http.Server
	recvURL   string
	caddy     *harness.Caddy
	modBase   string // http, wc_webhooks + reverse_proxy
	plainBase string // http, reverse_proxy only
	tlsBase   string // https, wc_webhooks + reverse_proxy
	pool      *x509.CertPool
	key       harness.APIKey
}

// startEnv starts redis-server, the upstream, the receiver and Caddy.
func startEnv(dir, caddyBin string) (*env, error) {
	e := &env{dir: dir, caddyBin: caddyBin, recv: newReceiver()}
	var err error
	if e.redis, err = harness.StartRedis(dir, false); err != nil {
		return e, err
	}
	up, err := harness.ServeLocal(upstreamHandler())
	if err != nil {
		return e, fmt.Errorf("upstream: %w", err)
	}
	e.upstream, e.upAddr = up, up.Addr
	rs, err := harness.ServeLocal(e.recv)
	if err != nil {
		return e, fmt.Errorf("receiver: %w", err)
	}
	e.recvSrv, e.recvURL = rs, "http://"+rs.Addr+"/hook"
	if err := e.startCaddy(); err != nil {
		return e, err
	}
	if e.key, err = harness.AddKey(caddyBin, dir, e.redis.URL, siteName, "read_write"); err != nil {
		return e, err
	}
	return e, nil
}

func (e *env) startCaddy() error {
	var ports [6]int
	for i := range ports {
		p, err := harness.FreePort()
		if err != nil {
			return err
		}
		ports[i] = p
	}
	certFile, keyFile, pool, err := harness.SelfSignedCert(e.dir)
	if err != nil {
		return err
	}
	e.pool = pool
	admin := fmt.Sprintf("127.0.0.1:%d", ports[0])
	e.modBase = fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	e.plainBase = fmt.Sprintf("http://127.0.0.1:%d", ports[2])
	e.tlsBase = fmt.Sprintf("https://127.0.0.1:%d", ports[3])
	module := func(home string) string {
		return fmt.Sprintf("\twc_webhooks {\n\t\tsite %s\n\t\tauth keys\n\t\thome_url %s\n\t}\n", siteName, home)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{\n\tadmin %s\n\tpersist_config off\n\thttp_port %d\n\thttps_port %d\n", admin, ports[4], ports[5])
	b.WriteString("\tdefault_bind 127.0.0.1\n\tauto_https disable_redirects\n\tskip_install_trust\n\tgrace_period 5s\n")
	b.WriteString("\tservers {\n\t\tprotocols h1 h2\n\t}\n")
	fmt.Fprintf(&b, "\twc_webhooks {\n\t\tredis %s\n\t\tdispatch {\n\t\t\tallow_networks 127.0.0.0/8\n\t\t}\n\t}\n}\n\n", e.redis.URL)
	fmt.Fprintf(&b, "%s {\n%s\treverse_proxy %s\n}\n\n", e.modBase, module(e.modBase), e.upAddr)
	fmt.Fprintf(&b, "%s {\n\treverse_proxy %s\n}\n\n", e.plainBase, e.upAddr)
	fmt.Fprintf(&b, "%s {\n\ttls %s %s\n%s\treverse_proxy %s\n}\n", e.tlsBase, certFile, keyFile, module(e.tlsBase), e.upAddr)
	var addrs []string
	for _, base := range []string{e.modBase, e.plainBase, e.tlsBase} {
		addrs = append(addrs, base[strings.Index(base, "//")+2:])
	}
	e.caddy, err = harness.StartCaddy(e.caddyBin, e.dir, admin, b.String(), addrs...)
	return err
}

// client returns a keep-alive HTTP/1.1 client trusting the benchmark's
// certificate, with conns idle connections per host.
func (e *env) client(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: e.pool},
			DisableCompression:  true,
			MaxIdleConns:        conns * 2,
			MaxIdleConnsPerHost: conns * 2,
			ForceAttemptHTTP2:   false,
			TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		},
	}
}

// stop ends Caddy, redis-server and the local servers.
func (e *env) stop() {
	if e.caddy != nil {
		e.caddy.Stop()
	}
	e.redis.Kill9()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range []*http.Server{e.upstream, e.recvSrv} {
		if s != nil {
			_ = s.Shutdown(ctx)
		}
	}
}
