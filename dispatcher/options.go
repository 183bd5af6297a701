package dispatcher

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// Defaults of Options (see each field).
const (
	DefaultWooCommerceVersion = "9.8.1"
	DefaultWordPressVersion   = "6.8"
	DefaultHTTPTimeout        = 60 * time.Second
	DefaultPingTimeout        = 5 * time.Second
	DefaultVisibilityMargin   = 30 * time.Second
	DefaultJitter             = 0.2
	DefaultOverloadFloor      = 60 * time.Second
	DefaultMaxFailures        = 5
	DefaultMaxReceives        = 5
	DefaultKeepDeliveries     = 25
	DefaultJobRetention       = 72 * time.Hour
	DefaultMaxLogBody         = 64 << 10
	DefaultMaxConcurrent      = 64
	DefaultMaxPerWebhook      = 4
	DefaultLaneQueue          = 64
	DefaultReadCount          = 64
	DefaultReadBlock          = 2 * time.Second
	DefaultPromoteInterval    = 250 * time.Millisecond
	DefaultReclaimInterval    = 5 * time.Second
	DefaultWebhookCacheTTL    = time.Second
	DefaultSiteRefresh        = 10 * time.Second
	DefaultConsumerExpiry     = 24 * time.Hour
)

// DefaultRetryLadder is the wait before each retry of a failed attempt:
// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h (7 attempts over about 17.6 h).
var DefaultRetryLadder = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour,
}

// Options configure a Dispatcher. Zero values take the defaults named.
type Options struct {
	// Store is the Redis store (required).
	Store *redisstore.Store
	// Logger receives structured logs (never secrets). Default: zap.NewNop.
	Logger *zap.Logger
	// Metrics receives counters and timings. Default: none.
	Metrics Metrics

	// WooCommerceVersion and WordPressVersion fill the User-Agent
	// "WooCommerce/<wc> Hookshot (WordPress/<wp>)". Defaults 9.8.1 and 6.8.
	WooCommerceVersion string
	WordPressVersion   string

	// HTTPTimeout bounds one delivery attempt. Default 60 s (WooCommerce).
	HTTPTimeout time.Duration
	// PingTimeout bounds a ping. Default 5 s (WordPress).
	PingTimeout time.Duration
	// VisibilityTimeout is how long an entry may stay unfinished with a
	// consumer before another consumer reclaims it (XAUTOCLAIM). It must
	// exceed HTTPTimeout and PingTimeout. Default HTTPTimeout + 30 s.
	VisibilityTimeout time.Duration

	// RetryLadder is the wait before each retry; its length is the number
	// of retries. Default DefaultRetryLadder. Each step gets ±Jitter.
	RetryLadder []time.Duration
	// Jitter is the relative jitter of a step. Default 0.2; negative: none.
	Jitter float64
	// OverloadFloor is the least wait after a 429 or a timeout. Default 60 s.
	// A Retry-After header is honoured within [step, 2×step] (and never
	// below this floor after 429).
	OverloadFloor time.Duration
	// MaxFailures consecutive failed deliveries disable a webhook. Default 5.
	MaxFailures int
	// MaxReceives is how often a job may be picked up without finishing
	// (worker crashes) before it is set aside as poison. Default 5.
	MaxReceives int
	// KeepDeliveries logged deliveries are kept per webhook. Default 25.
	KeepDeliveries int
	// JobRetention keeps finished jobs for redelivery. Default 72 h.
	JobRetention time.Duration
	// MaxLogBody caps request and response bodies in the delivery log, in
	// bytes (cut at a UTF-8 boundary). Default 64 KiB.
	MaxLogBody int

	// MaxConcurrent bounds attempts in flight in this process. Default 64.
	MaxConcurrent int
	// MaxPerWebhook bounds attempts in flight per webhook. Default 4.
	MaxPerWebhook int
	// LaneQueue bounds jobs waiting in memory per webhook; more are parked
	// in Redis until the lane has room. Default 64.
	LaneQueue int

	// ReadCount and ReadBlock tune XREADGROUP. Defaults 64 and 2 s.
	ReadCount int
	ReadBlock time.Duration
	// PromoteInterval is how often due retries are moved to the work
	// stream. Default 250 ms.
	PromoteInterval time.Duration
	// ReclaimInterval is how often stale entries are reclaimed. Default 5 s.
	ReclaimInterval time.Duration
	// WebhookCacheTTL is how long a site's list of active webhooks is
	// cached for fan-out. Default 1 s; negative: no cache.
	WebhookCacheTTL time.Duration

	// AllowCIDRs are destination ranges allowed despite the SSRF guard
	// (e.g. "10.1.0.0/16", "127.0.0.0/8"). Default none.
	AllowCIDRs []string
	// ConsumerExpiry: consumers of other processes idle this long with
	// nothing pending are deleted from the groups (checked every minute).
	// Default 24 h.
	ConsumerExpiry time.Duration
	// ConsumerName names this process in the consumer groups; it must be
	// unique per process. Default "<hostname>-<pid>-<random>".
	ConsumerName string

	// DiscoverSites also serves every site in the store's known-sites set
	// (registered by AddSite in any process), refreshed every SiteRefresh
	// (default 10 s), with options from SiteDefaults (default: HomeURL
	// "https://<site name>/").
	DiscoverSites bool
	SiteRefresh   time.Duration
	SiteDefaults  func(name string) SiteOptions
}

// SiteOptions are the per-site settings of delivery.
type SiteOptions struct {
	// HomeURL is the site's home URL; X-WC-Webhook-Source is it with a
	// trailing slash.
	HomeURL string
}

// config is Options with defaults applied.
type config struct {
	Options
	allow []netip.Prefix
}

func (o Options) withDefaults() (config, error) {
	if o.Store == nil {
		return config{}, errors.New("dispatcher: options: no store")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Metrics == nil {
		o.Metrics = nopMetrics{}
	}
	str := func(p *string, d string) {
		if *p == "" {
			*p = d
		}
	}
	dur := func(p *time.Duration, d time.Duration) {
		if *p <= 0 {
			*p = d
		}
	}
	num := func(p *int, d int) {
		if *p <= 0 {
			*p = d
		}
	}
	str(&o.WooCommerceVersion, DefaultWooCommerceVersion)
	str(&o.WordPressVersion, DefaultWordPressVersion)
	dur(&o.HTTPTimeout, DefaultHTTPTimeout)
	dur(&o.PingTimeout, DefaultPingTimeout)
	dur(&o.VisibilityTimeout, max(o.HTTPTimeout, o.PingTimeout)+DefaultVisibilityMargin)
	if o.VisibilityTimeout <= o.HTTPTimeout || o.VisibilityTimeout <= o.PingTimeout {
		return config{}, fmt.Errorf("dispatcher: options: visibility timeout %s must exceed the HTTP timeout %s and ping timeout %s",
			o.VisibilityTimeout, o.HTTPTimeout, o.PingTimeout)
	}
	if len(o.RetryLadder) == 0 {
		o.RetryLadder = DefaultRetryLadder
	}
	if o.Jitter == 0 {
		o.Jitter = DefaultJitter
	}
	if o.Jitter < 0 {
		o.Jitter = 0
	}
	if o.Jitter > 1 {
		o.Jitter = 1
	}
	dur(&o.OverloadFloor, DefaultOverloadFloor)
	num(&o.MaxFailures, DefaultMaxFailures)
	num(&o.MaxReceives, DefaultMaxReceives)
	num(&o.KeepDeliveries, DefaultKeepDeliveries)
	dur(&o.JobRetention, DefaultJobRetention)
	num(&o.MaxLogBody, DefaultMaxLogBody)
	num(&o.MaxConcurrent, DefaultMaxConcurrent)
	num(&o.MaxPerWebhook, DefaultMaxPerWebhook)
	num(&o.LaneQueue, DefaultLaneQueue)
	num(&o.ReadCount, DefaultReadCount)
	dur(&o.ReadBlock, DefaultReadBlock)
	dur(&o.PromoteInterval, DefaultPromoteInterval)
	dur(&o.ReclaimInterval, DefaultReclaimInterval)
	if o.WebhookCacheTTL == 0 {
		o.WebhookCacheTTL = DefaultWebhookCacheTTL
	}
	dur(&o.SiteRefresh, DefaultSiteRefresh)
	dur(&o.ConsumerExpiry, DefaultConsumerExpiry)
	if o.SiteDefaults == nil {
		o.SiteDefaults = func(name string) SiteOptions { return SiteOptions{HomeURL: "https://" + name + "/"} }
	}
	if o.ConsumerName == "" {
		o.ConsumerName = defaultConsumerName()
	}
	c := config{Options: o}
	for _, s := range o.AllowCIDRs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return config{}, fmt.Errorf("dispatcher: options: allow range %q: %w", s, err)
		}
		c.allow = append(c.allow, p.Masked())
	}
	return c, nil
}

func (c config) policy() redisstore.QueuePolicy {
	return redisstore.QueuePolicy{
		KeepDeliveries: c.KeepDeliveries, Retention: c.JobRetention,
		MaxFailures: c.MaxFailures, MaxReceives: c.MaxReceives,
		LeaseRenewAfter: max(time.Millisecond, min(time.Second, (c.VisibilityTimeout-max(c.HTTPTimeout, c.PingTimeout))/2)),
	}
}

func (c config) userAgent() string {
	return "WooCommerce/" + c.WooCommerceVersion + " Hookshot (WordPress/" + c.WordPressVersion + ")"
}

func defaultConsumerName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "host"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
