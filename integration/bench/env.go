package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/harness"
	"github.com/wcwebhooks/caddy-wc-webhooks/integration/standin"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// Site names in Redis: the shop of most scenarios and the two sites of
// the list-latency scenario.
const (
	siteName  = "shop"
	siteSmall = "list-small"
	siteBig   = "list-big"
)

// env is one benchmark set-up: a redis-server, two upstreams (a fast page
// server for pass-through and the stand-in WooCommerce), a receiver and
// Caddy with seven sites on free loopback ports.
type env struct {
	dir      string
	caddyBin string
	redis    *harness.Redis
	rdb      *redis.Client
	store    *redisstore.Store
	page     *http.Server // pass-through upstream
	woo      *standin.Server
	wooSrv   *http.Server
	recv     *receiver
	recvSrv  *http.Server
	recvURL  string // "http://127.0.0.1:port/hook"
	caddy    *harness.Caddy
	cfile    string // the Caddyfile Caddy started with
	pool     *x509.CertPool

	modBase   string // http, wc_webhooks + reverse_proxy to the page server
	plainBase string // http, reverse_proxy to the page server
	tlsBase   string // https, wc_webhooks (auth keys) + reverse_proxy to the stand-in
	plainTLS  string // https, reverse_proxy to the stand-in
	upBase    string // https, wc_webhooks (auth upstream) + reverse_proxy to the stand-in
	smallBase string // https, wc_webhooks (auth keys, site list-small)
	bigBase   string // https, wc_webhooks (auth keys, site list-big)

	key    harness.APIKey // Redis key of siteName (add-key CLI)
	wooKey standin.Key    // stand-in key of the shop manager (orders, auth upstream)
}

// startEnv starts redis-server, the upstreams, the receiver and Caddy.
func startEnv(dir, caddyBin string) (*env, error) {
	e := &env{dir: dir, caddyBin: caddyBin, recv: newReceiver(), woo: standin.New()}
	var err error
	if e.redis, err = harness.StartRedis(dir, false); err != nil {
		return e, err
	}
	e.rdb = redis.NewClient(&redis.Options{Addr: e.redis.Addr, PoolSize: 32})
	e.store = redisstore.New(e.rdb, redisstore.Options{})
	if e.page, err = harness.ServeLocal(pageHandler()); err != nil {
		return e, fmt.Errorf("page upstream: %w", err)
	}
	if e.wooSrv, err = harness.ServeLocal(e.woo); err != nil {
		return e, fmt.Errorf("stand-in upstream: %w", err)
	}
	e.wooKey = standin.NewKey(standin.ManagerID, standin.PermReadWrite)
	e.woo.AddKey(e.wooKey)
	if e.recvSrv, err = harness.ServeLocal(e.recv); err != nil {
		return e, fmt.Errorf("receiver: %w", err)
	}
	e.recvURL = "http://" + e.recvSrv.Addr + "/hook"
	if err := e.startCaddy(); err != nil {
		return e, err
	}
	if e.key, err = harness.AddKey(caddyBin, dir, e.redis.URL, siteName, "read_write"); err != nil {
		return e, err
	}
	return e, nil
}

// siteBlock is one site of the benchmark's Caddyfile.
type siteBlock struct {
	base     string // scheme://127.0.0.1:port
	upstream string
	module   string // the wc_webhooks block, "" for plain reverse_proxy
}

func moduleBlock(site, auth, home string) string {
	return fmt.Sprintf("\twc_webhooks {\n\t\tsite %s\n\t\tauth %s\n\t\thome_url %s\n\t}\n", site, auth, home)
}

func (e *env) startCaddy() error {
	var ports [10]int
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
	e.plainTLS = fmt.Sprintf("https://127.0.0.1:%d", ports[4])
	e.upBase = fmt.Sprintf("https://127.0.0.1:%d", ports[5])
	e.smallBase = fmt.Sprintf("https://127.0.0.1:%d", ports[6])
	e.bigBase = fmt.Sprintf("https://127.0.0.1:%d", ports[7])
	// Every block of the shop names the same home URL, so the dispatcher
	// keeps one X-WC-Webhook-Source for the site.
	sites := []siteBlock{
		{e.modBase, e.page.Addr, moduleBlock(siteName, "keys", e.tlsBase)},
		{e.plainBase, e.page.Addr, ""},
		{e.tlsBase, e.wooSrv.Addr, moduleBlock(siteName, "keys", e.tlsBase)},
		{e.plainTLS, e.wooSrv.Addr, ""},
		{e.upBase, e.wooSrv.Addr, moduleBlock(siteName, "upstream", e.tlsBase)},
		{e.smallBase, e.wooSrv.Addr, moduleBlock(siteSmall, "keys", e.smallBase)},
		{e.bigBase, e.wooSrv.Addr, moduleBlock(siteBig, "keys", e.bigBase)},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{\n\tadmin %s\n\tpersist_config off\n\thttp_port %d\n\thttps_port %d\n", admin, ports[8], ports[9])
	b.WriteString("\tdefault_bind 127.0.0.1\n\tauto_https disable_redirects\n\tskip_install_trust\n\tgrace_period 5s\n")
	b.WriteString("\tservers {\n\t\tprotocols h1 h2\n\t}\n")
	fmt.Fprintf(&b, "\twc_webhooks {\n\t\tredis %s\n\t\tdispatch {\n\t\t\tallow_networks 127.0.0.0/8\n\t\t}\n\t}\n}\n", e.redis.URL)
	var addrs []string
	for _, s := range sites {
		fmt.Fprintf(&b, "\n%s {\n", s.base)
		if strings.HasPrefix(s.base, "https://") {
			fmt.Fprintf(&b, "\ttls %s %s\n", certFile, keyFile)
		}
		fmt.Fprintf(&b, "%s\treverse_proxy %s\n}\n", s.module, s.upstream)
		addrs = append(addrs, s.base[strings.Index(s.base, "//")+2:])
	}
	e.cfile = b.String()
	e.caddy, err = harness.StartCaddy(e.caddyBin, e.dir, admin, e.cfile, addrs...)
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
	if e.rdb != nil {
		_ = e.rdb.Close()
	}
	e.redis.Kill9()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range []*http.Server{e.page, e.wooSrv, e.recvSrv} {
		if s != nil {
			_ = s.Shutdown(ctx)
		}
	}
}
