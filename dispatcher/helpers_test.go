package dispatcher_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore/redistest"
)

// waitTimeout bounds every wait; tests never assert on timing.
const waitTimeout = 20 * time.Second

func newSite(t *testing.T) (*redisstore.Store, *redisstore.Site) {
	t.Helper()
	store := redisstore.New(redistest.Client(t), redisstore.Options{})
	site, err := store.Site("shop")
	require.NoError(t, err)
	return store, site
}

// testOptions are fast settings for tests; loopback receivers are allowed
// explicitly.
func testOptions(t *testing.T, store *redisstore.Store) dispatcher.Options {
	return dispatcher.Options{
		Store:             store,
		Logger:            zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
		AllowCIDRs:        []string{"127.0.0.0/8"},
		RetryLadder:       []time.Duration{5 * time.Millisecond, 10 * time.Millisecond},
		Jitter:            -1,
		OverloadFloor:     time.Millisecond,
		HTTPTimeout:       5 * time.Second,
		VisibilityTimeout: 8 * time.Second,
		ReadBlock:         50 * time.Millisecond,
		PromoteInterval:   5 * time.Millisecond,
		ReclaimInterval:   100 * time.Millisecond,
		WebhookCacheTTL:   -1,
	}
}

// start creates, serves and starts a dispatcher, stopped in Cleanup.
func start(t *testing.T, opts dispatcher.Options, site *redisstore.Site) *dispatcher.Dispatcher {
	t.Helper()
	d, err := dispatcher.New(opts)
	require.NoError(t, err)
	require.NoError(t, d.AddSite(context.Background(), site, dispatcher.SiteOptions{HomeURL: "https://shop.example"}))
	require.NoError(t, d.Start(context.Background()))
	require.NoError(t, d.Start(context.Background()), "Start is idempotent")
	t.Cleanup(func() { _ = d.Stop(context.Background()) })
	return d
}

func hook(t *testing.T, site *redisstore.Site, status, topic, url, secret string) *redisstore.Webhook {
	t.Helper()
	w := &redisstore.Webhook{Name: "h", Status: status, Topic: topic, DeliveryURL: url, Secret: secret,
		APIVersion: redisstore.APIVersionWPV3, PendingDelivery: true}
	require.NoError(t, site.CreateWebhook(context.Background(), w))
	return w
}

func publish(t *testing.T, site *redisstore.Site, topic string, id int64, body string) {
	t.Helper()
	_, err := dispatcher.Publish(context.Background(), site, dispatcher.Event{Topic: topic, ResourceID: id, Payload: []byte(body)})
	require.NoError(t, err)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// drained waits until the site's queues are empty (nothing read, pending,
// or waiting for a retry).
func drained(t *testing.T, site *redisstore.Site) {
	t.Helper()
	eventually(t, "queues drained", func() bool {
		qs, err := site.QueueStats(context.Background())
		require.NoError(t, err)
		return qs == redisstore.QueueStats{}
	})
}

// request is one request a receiver got.
type request struct {
	method string
	header http.Header
	body   []byte
}

// receiver is an httptest server that records requests and answers with
// respond (default 200 "ok").
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []request
	respond func(w http.ResponseWriter, r *http.Request, n int)
}

func newReceiver(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, n int)) *receiver {
	rc := &receiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, request{r.Method, r.Header.Clone(), b})
		n := len(rc.reqs)
		rc.mu.Unlock()
		if rc.respond != nil {
			rc.respond(w, r, n)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

func (rc *receiver) count() int { return len(rc.requests()) }

// rawRequest is a request read off the wire without Go's header
// canonicalisation, so header spelling can be checked.
type rawRequest struct {
	line    string
	headers [][2]string
	body    []byte
}

func (r rawRequest) get(name string) (string, int) {
	v, n := "", 0
	for _, h := range r.headers {
		if h[0] == name {
			v, n = h[1], n+1
		}
	}
	return v, n
}

// rawReceiver accepts HTTP/1.1 connections, parses each request by hand
// and answers 200 "ok".
func rawReceiver(t *testing.T) (string, <-chan rawRequest) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	ch := make(chan rawRequest, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveRaw(c, ch)
		}
	}()
	return "http://" + ln.Addr().String() + "/hook", ch
}

func serveRaw(c net.Conn, ch chan<- rawRequest) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		req := rawRequest{line: strings.TrimRight(line, "\r\n")}
		n := 0
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			l = strings.TrimRight(l, "\r\n")
			if l == "" {
				break
			}
			k, v, _ := strings.Cut(l, ":")
			v = strings.TrimSpace(v)
			req.headers = append(req.headers, [2]string{k, v})
			if strings.EqualFold(k, "Content-Length") {
				n, _ = strconv.Atoi(v)
			}
		}
		req.body = make([]byte, n)
		if _, err := io.ReadFull(br, req.body); err != nil {
			return
		}
		ch <- req
		if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")); err != nil {
			return
		}
	}
}
