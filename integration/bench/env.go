package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// siteName is the wc_webhooks site the benchmark uses.
const siteName = "shop"

// env is one benchmark set-up: a redis-server, the stand-in upstream, a
// receiver and Caddy with three sites on free loopback ports.
type env struct {
	dir       string
	caddyBin  string
	redisURL  string
	redis     *exec.Cmd
	upstream  *http.Server
	upAddr    string
	recv      *receiver
	recvSrv   *http.Server
	recvURL   string
	caddy     *exec.Cmd
	caddyLog  lockedBuffer
	exited    chan struct{} // closed when Caddy has exited
	admin     string
	modBase   string // http, wc_webhooks + reverse_proxy
	plainBase string // http, reverse_proxy only
	tlsBase   string // https, wc_webhooks + reverse_proxy
	pool      *x509.CertPool
	key       apiKey
}

// apiKey is a consumer key and secret made by `caddy wc-webhooks add-key`.
type apiKey struct{ CK, CS string }

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// buildCaddy builds ./caddymodule/cmd/caddy of the module in the current
// directory's module into dir and returns the binary's path.
func buildCaddy(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return "", fmt.Errorf("find module root (run from the repository): %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(dir, "caddy")
	cmd := exec.Command("go", "build", "-o", bin, "./caddymodule/cmd/caddy")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./caddymodule/cmd/caddy: %w\n%s", err, b)
	}
	return bin, nil
}

// startEnv starts redis-server, the upstream, the receiver and Caddy.
func startEnv(dir, caddyBin string) (*env, error) {
	e := &env{dir: dir, caddyBin: caddyBin, recv: newReceiver()}
	if err := e.startRedis(); err != nil {
		return e, err
	}
	up, err := serveLocal(upstreamHandler())
	if err != nil {
		return e, fmt.Errorf("upstream: %w", err)
	}
	e.upstream, e.upAddr = up, up.Addr
	rs, err := serveLocal(e.recv)
	if err != nil {
		return e, fmt.Errorf("receiver: %w", err)
	}
	e.recvSrv, e.recvURL = rs, "http://"+rs.Addr+"/hook"
	if err := e.startCaddy(); err != nil {
		return e, err
	}
	key, err := e.addKey("read_write")
	if err != nil {
		return e, err
	}
	e.key = key
	return e, nil
}

// serveLocal serves h on a free loopback port; the server's Addr is set.
func serveLocal(h http.Handler) (*http.Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &http.Server{Addr: l.Addr().String(), Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.Serve(l) }()
	return s, nil
}

func (e *env) startRedis() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	e.redis = exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", e.dir)
	if err := e.redis.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	e.redisURL = fmt.Sprintf("redis://127.0.0.1:%d", port)
	return waitListening(fmt.Sprintf("127.0.0.1:%d", port), nil)
}

// waitListening waits up to 30 s for addr to accept connections, failing
// early when exited is closed.
func waitListening(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("process exited before %s was listening", addr)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not listening after 30s", addr)
}

// childEnv keeps Caddy's HOME and XDG dirs inside the benchmark's dir.
func (e *env) childEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "HOME="+e.dir, "XDG_DATA_HOME="+filepath.Join(e.dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(e.dir, "config"), "XDG_CACHE_HOME="+filepath.Join(e.dir, "cache"))
}

func (e *env) startCaddy() error {
	var ports [6]int
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return err
		}
		ports[i] = p
	}
	certFile, keyFile, pool, err := selfSignedCert(e.dir)
	if err != nil {
		return err
	}
	e.pool = pool
	e.admin = fmt.Sprintf("127.0.0.1:%d", ports[0])
	e.modBase = fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	e.plainBase = fmt.Sprintf("http://127.0.0.1:%d", ports[2])
	e.tlsBase = fmt.Sprintf("https://127.0.0.1:%d", ports[3])
	module := func(home string) string {
		return fmt.Sprintf("\twc_webhooks {\n\t\tsite %s\n\t\tauth keys\n\t\thome_url %s\n\t}\n", siteName, home)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{\n\tadmin %s\n\tpersist_config off\n\thttp_port %d\n\thttps_port %d\n", e.admin, ports[4], ports[5])
	b.WriteString("\tdefault_bind 127.0.0.1\n\tauto_https disable_redirects\n\tskip_install_trust\n\tgrace_period 5s\n")
	b.WriteString("\tservers {\n\t\tprotocols h1 h2\n\t}\n")
	fmt.Fprintf(&b, "\twc_webhooks {\n\t\tredis %s\n\t\tdispatch {\n\t\t\tallow_networks 127.0.0.0/8\n\t\t}\n\t}\n}\n\n", e.redisURL)
	fmt.Fprintf(&b, "%s {\n%s\treverse_proxy %s\n}\n\n", e.modBase, module(e.modBase), e.upAddr)
	fmt.Fprintf(&b, "%s {\n\treverse_proxy %s\n}\n\n", e.plainBase, e.upAddr)
	fmt.Fprintf(&b, "%s {\n\ttls %s %s\n%s\treverse_proxy %s\n}\n", e.tlsBase, certFile, keyFile, module(e.tlsBase), e.upAddr)
	path := filepath.Join(e.dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write Caddyfile: %w", err)
	}
	e.caddy = exec.Command(e.caddyBin, "run", "--config", path, "--adapter", "caddyfile")
	e.caddy.Dir, e.caddy.Env = e.dir, e.childEnv()
	e.caddy.Stdout, e.caddy.Stderr = &e.caddyLog, &e.caddyLog
	if err := e.caddy.Start(); err != nil {
		return fmt.Errorf("start caddy: %w", err)
	}
	e.exited = make(chan struct{})
	go func() { _ = e.caddy.Wait(); close(e.exited) }()
	for _, base := range []string{"http://" + e.admin, e.modBase, e.plainBase, e.tlsBase} {
		addr := base[strings.Index(base, "//")+2:]
		if err := waitListening(addr, e.exited); err != nil {
			return fmt.Errorf("caddy: %w\n%s", err, lastLines(e.caddyLog.String(), 30))
		}
	}
	return nil
}

var (
	reConsumerKey    = regexp.MustCompile(`\bck_[A-Za-z0-9]+`)
	reConsumerSecret = regexp.MustCompile(`\bcs_[A-Za-z0-9]+`)
)

// addKey runs `caddy wc-webhooks add-key --redis ...` and reads the pair.
func (e *env) addKey(perms string) (apiKey, error) {
	cmd := exec.Command(e.caddyBin, "wc-webhooks", "add-key", "--redis", e.redisURL, "--site", siteName, "--permissions", perms)
	cmd.Dir, cmd.Env = e.dir, e.childEnv()
	out, err := cmd.Output()
	if err != nil {
		return apiKey{}, fmt.Errorf("caddy wc-webhooks add-key: %w", err)
	}
	ck, cs := reConsumerKey.FindString(string(out)), reConsumerSecret.FindString(string(out))
	if ck == "" || cs == "" {
		return apiKey{}, fmt.Errorf("add-key printed no ck_/cs_ pair")
	}
	return apiKey{CK: ck, CS: cs}, nil
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

// caddyPID is Caddy's process id.
func (e *env) caddyPID() int { return e.caddy.Process.Pid }

// resetPeakRSS resets Caddy's VmHWM (writing 5 to clear_refs); it reports
// whether that worked.
func (e *env) resetPeakRSS() bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", e.caddyPID()), []byte("5"), 0) == nil
}

// peakRSS reads Caddy's VmHWM in KiB (0 when unreadable).
func (e *env) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.caddyPID()))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// stop ends Caddy, redis-server and the local servers.
func (e *env) stop() {
	if e.exited != nil {
		_ = e.caddy.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.exited:
		case <-time.After(10 * time.Second):
			_ = e.caddy.Process.Kill()
			<-e.exited
		}
	}
	if e.redis != nil && e.redis.Process != nil {
		_ = e.redis.Process.Kill()
		_ = e.redis.Wait()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range []*http.Server{e.upstream, e.recvSrv} {
		if s != nil {
			_ = s.Shutdown(ctx)
		}
	}
}

// selfSignedCert writes a self-signed certificate for 127.0.0.1 into dir.
func selfSignedCert(dir string) (certFile, keyFile string, pool *x509.CertPool, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, fmt.Errorf("generate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "wc-webhooks benchmark"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", nil, fmt.Errorf("create certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", nil, fmt.Errorf("marshal key: %w", err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		return "", "", nil, fmt.Errorf("write cert: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", nil, fmt.Errorf("write key: %w", err)
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return certFile, keyFile, pool, nil
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
