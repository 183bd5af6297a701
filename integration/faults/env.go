package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/harness"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// siteName is the wc_webhooks site every scenario uses.
const siteName = "shop"

// cacheWait covers the dispatcher's 1 s cache of a site's active webhooks
// (dispatcher.DefaultWebhookCacheTTL): events published sooner after a
// webhook is created may miss it, as documented.
const cacheWait = 1300 * time.Millisecond

// env is one scenario's fresh set-up: a redis-server with AOF
// (appendfsync always), a stand-in upstream, and one or more Caddy
// processes serving the site over HTTPS.
type env struct {
	dir      string
	bin      string
	redis    *harness.Redis
	rdb      *redis.Client
	site     *redisstore.Site
	upstream *http.Server
	certFile string
	keyFile  string
	pool     *x509.CertPool
	key      harness.APIKey
	// dispatch holds the lines of the global `dispatch { }` block.
	dispatch []string
	nodes    []*node
	// redisLogs are the outputs of earlier redis-server runs.
	redisLogs []string
}

// node is one Caddy process of an env, with its ports.
type node struct {
	dir   string
	admin string
	site  string // "127.0.0.1:port", HTTPS
	http  int    // global http_port
	https int    // global https_port
	caddy *harness.Caddy
	// gen is written into the config (a response header and the
	// dispatcher's max_concurrent) so a reload changes it.
	gen int
	// past are the outputs of earlier runs of this node's Caddy.
	past []string
}

// base is the node's HTTPS site URL.
func (n *node) base() string { return "https://" + n.site }

// newEnv starts redis-server (AOF on) and the upstream in a new directory
// under root; Caddy processes are added with addNode.
func newEnv(root, bin, name string, dispatch []string) (*env, error) {
	dir, err := os.MkdirTemp(root, name+"-")
	if err != nil {
		return nil, fmt.Errorf("scenario dir: %w", err)
	}
	e := &env{dir: dir, bin: bin, dispatch: dispatch}
	if e.redis, err = harness.StartRedis(dir, true); err != nil {
		return e, err
	}
	e.rdb = redis.NewClient(&redis.Options{Addr: e.redis.Addr, MaxRetries: -1})
	if e.site, err = redisstore.New(e.rdb, redisstore.Options{}).Site(siteName); err != nil {
		return e, fmt.Errorf("store site: %w", err)
	}
	if e.upstream, err = harness.ServeLocal(http.NotFoundHandler()); err != nil {
		return e, fmt.Errorf("upstream: %w", err)
	}
	if e.certFile, e.keyFile, e.pool, err = harness.SelfSignedCert(dir); err != nil {
		return e, err
	}
	return e, nil
}

// addNode starts one more Caddy process on the env's Redis; the first
// one also adds the read_write API key the publishers use.
func (e *env) addNode() (*node, error) {
	n := &node{dir: filepath.Join(e.dir, fmt.Sprintf("caddy%d", len(e.nodes)))}
	if err := os.MkdirAll(n.dir, 0o700); err != nil {
		return nil, fmt.Errorf("caddy dir: %w", err)
	}
	var ports [4]int
	for i := range ports {
		p, err := harness.FreePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	n.admin = fmt.Sprintf("127.0.0.1:%d", ports[0])
	n.site = fmt.Sprintf("127.0.0.1:%d", ports[1])
	n.http, n.https = ports[2], ports[3]
	e.nodes = append(e.nodes, n)
	if err := e.start(n); err != nil {
		return n, err
	}
	if len(e.nodes) == 1 {
		k, err := harness.AddKey(e.bin, n.dir, e.redis.URL, siteName, "read_write")
		if err != nil {
			return n, err
		}
		e.key = k
	}
	return n, nil
}

// caddyfile renders node n's Caddyfile for its current gen.
func (e *env) caddyfile(n *node) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{\n\tadmin %s\n\tpersist_config off\n\thttp_port %d\n\thttps_port %d\n", n.admin, n.http, n.https)
	b.WriteString("\tdefault_bind 127.0.0.1\n\tauto_https disable_redirects\n\tskip_install_trust\n\tgrace_period 5s\n")
	fmt.Fprintf(&b, "\twc_webhooks {\n\t\tredis %s\n\t\tdispatch {\n\t\t\tallow_networks 127.0.0.0/8\n", e.redis.URL)
	// max_concurrent changes with each generation so a reload replaces
	// the dispatcher with a differently configured one.
	fmt.Fprintf(&b, "\t\t\tmax_concurrent %d\n", 64-n.gen%2)
	for _, l := range e.dispatch {
		fmt.Fprintf(&b, "\t\t\t%s\n", l)
	}
	b.WriteString("\t\t}\n\t}\n}\n\n")
	fmt.Fprintf(&b, "%s {\n\ttls %s %s\n\theader X-Config-Gen %d\n", n.base(), e.certFile, e.keyFile, n.gen)
	fmt.Fprintf(&b, "\twc_webhooks {\n\t\tsite %s\n\t\tauth keys\n\t\thome_url %s\n\t}\n", siteName, n.base())
	fmt.Fprintf(&b, "\treverse_proxy %s\n}\n", e.upstream.Addr)
	return b.String()
}

// start runs node n's Caddy (again) with its Caddyfile.
func (e *env) start(n *node) error {
	if n.caddy != nil {
		n.past = append(n.past, n.caddy.Log.String())
	}
	c, err := harness.StartCaddy(e.bin, n.dir, n.admin, e.caddyfile(n), n.site)
	n.caddy = c
	return err
}

// reload loads node n's Caddyfile of the next generation through the
// admin API.
func (e *env) reload(n *node) error {
	n.gen++
	return n.caddy.Reload(e.caddyfile(n))
}

// client is an HTTPS client trusting the env's certificate.
func (e *env) client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: e.pool},
		MaxIdleConnsPerHost: 32,
		ForceAttemptHTTP2:   false,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
	}}
}

// auth is the Basic authorization header of the env's key.
func (e *env) auth() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(e.key.CK+":"+e.key.CS))
}

// createWebhook creates an active webhook through wc/v3 on the first node
// and returns its id; the receiver gets its ping.
func (e *env) createWebhook(name, topic, url, secret string) (int64, error) {
	body := fmt.Sprintf(`{"name":%q,"topic":%q,"delivery_url":%q,"secret":%q}`, name, topic, url, secret)
	req, err := http.NewRequest(http.MethodPost, e.nodes[0].base()+"/wp-json/wc/v3/webhooks", strings.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("create webhook: %w", err)
	}
	req.Header.Set("Authorization", e.auth())
	req.Header.Set("Content-Type", "application/json")
	res, err := e.client(10 * time.Second).Do(req)
	if err != nil {
		return 0, fmt.Errorf("create webhook: %w", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("create webhook: status %d: %.200s", res.StatusCode, b)
	}
	var w struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return 0, fmt.Errorf("decode created webhook: %w", err)
	}
	return w.ID, nil
}

// webhookState reads a webhook's status and failure count from Redis.
func (e *env) webhookState(id int64) (string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w, err := e.site.GetWebhook(ctx, id)
	if err != nil {
		return "", 0, fmt.Errorf("webhook %d: %w", id, err)
	}
	return w.Status, w.FailureCount, nil
}

// stats reads the site's queue sizes (zero stats when Redis is down).
func (e *env) stats() (redisstore.QueueStats, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return e.site.QueueStats(ctx)
}

// drained reports whether no event, job, retry or pending entry is left.
func (e *env) drained() bool {
	qs, err := e.stats()
	return err == nil && qs.Events == 0 && qs.Ready == 0 && qs.ReadyPending == 0 && qs.EventsPending == 0 && qs.Delayed == 0 && qs.Parked == 0
}

// logs returns the last lines of every Caddy's and Redis's output.
func (e *env) logs(lines int) string {
	var b strings.Builder
	for i, n := range e.nodes {
		if n.caddy != nil && n.caddy.Log != nil {
			fmt.Fprintf(&b, "--- caddy %d ---\n%s\n", i, harness.LastLines(n.caddy.Log.String(), lines))
		}
	}
	if e.redis != nil && e.redis.Log != nil {
		fmt.Fprintf(&b, "--- redis ---\n%s\n", harness.LastLines(e.redis.Log.String(), lines))
	}
	return b.String()
}

// saveLogs writes every process's full output into the scenario's
// directory under keep and returns that directory.
func (e *env) saveLogs(keep string) (string, error) {
	dir := filepath.Join(keep, filepath.Base(e.dir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("log dir: %w", err)
	}
	write := func(name string, runs []string) error {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(runs, "\n--- restarted ---\n")), 0o644); err != nil {
			return fmt.Errorf("write log: %w", err)
		}
		return nil
	}
	for i, n := range e.nodes {
		runs := n.past
		if n.caddy != nil && n.caddy.Log != nil {
			runs = append(runs, n.caddy.Log.String())
		}
		if err := write(fmt.Sprintf("caddy%d.log", i), runs); err != nil {
			return "", err
		}
	}
	runs := e.redisLogs
	if e.redis != nil && e.redis.Log != nil {
		runs = append(runs, e.redis.Log.String())
	}
	return dir, write("redis.log", runs)
}

// stop ends every process and removes the scenario's directory.
func (e *env) stop() {
	for _, n := range e.nodes {
		if n.caddy != nil {
			n.caddy.Stop()
		}
	}
	if e.rdb != nil {
		_ = e.rdb.Close()
	}
	e.redis.Kill9()
	if e.upstream != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = e.upstream.Shutdown(ctx)
		cancel()
	}
	_ = os.RemoveAll(e.dir)
}
