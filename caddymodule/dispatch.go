package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// Defaults of the app's dispatch settings (those of package dispatcher).
const (
	// DefaultHTTPTimeout bounds one delivery attempt (WooCommerce's 60s).
	DefaultHTTPTimeout = dispatcher.DefaultHTTPTimeout
	// DefaultPingTimeout bounds a ping (WordPress's 5s).
	DefaultPingTimeout = dispatcher.DefaultPingTimeout
	// DefaultJobRetention keeps finished jobs for redelivery (72h).
	DefaultJobRetention = dispatcher.DefaultJobRetention
	// DefaultMaxFailures consecutive failed deliveries disable a webhook.
	DefaultMaxFailures = dispatcher.DefaultMaxFailures
	// DefaultKeepDeliveries logged deliveries are kept per webhook.
	DefaultKeepDeliveries = dispatcher.DefaultKeepDeliveries
	// DefaultMaxLogBody caps logged bodies (64 KiB).
	DefaultMaxLogBody = dispatcher.DefaultMaxLogBody
	// DefaultMaxConcurrent bounds attempts in flight per process.
	DefaultMaxConcurrent = dispatcher.DefaultMaxConcurrent
	// DefaultMaxPerWebhook bounds attempts in flight per webhook.
	DefaultMaxPerWebhook = dispatcher.DefaultMaxPerWebhook
	// DefaultWooCommerceVersion is the WooCommerce version in the User-Agent.
	DefaultWooCommerceVersion = dispatcher.DefaultWooCommerceVersion
	// DefaultWordPressVersion is the WordPress version in the User-Agent.
	DefaultWordPressVersion = dispatcher.DefaultWordPressVersion
)

// Limits of the dispatch settings.
const (
	maxLadderSteps = 50
	maxVersionLen  = 32
)

// DispatchConfig is the `dispatch` object of the wc_webhooks app: how this
// process delivers webhooks. Every field is optional; zero values take the
// defaults named. One dispatcher runs per Redis (per `redis` URL) in the
// process; it starts with the app and keeps running across config reloads
// that keep the Redis. When a reload changes these settings (or the app's
// key_prefix or id_floor), a new dispatcher is started and the old one is
// then stopped.
type DispatchConfig struct {
	// Enabled runs delivery workers in this process. With false the process
	// still serves the API and queues events, pings and redeliveries in
	// Redis; other processes on the same Redis deliver them. Default: true.
	Enabled *bool `json:"enabled,omitempty"`

	// HTTPTimeout bounds one delivery attempt. Default: 60s.
	HTTPTimeout caddy.Duration `json:"http_timeout,omitempty"`

	// PingTimeout bounds the ping sent when a webhook is created. Default: 5s.
	PingTimeout caddy.Duration `json:"ping_timeout,omitempty"`

	// RetryLadder is the wait before each retry of a failed attempt (each
	// step ±20% jitter); its length is the number of retries (at most 50).
	// Default: 5s 5m 30m 2h 5h 10h.
	RetryLadder []caddy.Duration `json:"retry_ladder,omitempty"`

	// MaxFailures consecutive failed deliveries disable a webhook. Default: 5.
	MaxFailures int `json:"max_failures,omitempty"`

	// KeepDeliveries is how many logged deliveries are kept per webhook.
	// Default: 25.
	KeepDeliveries int `json:"keep_deliveries,omitempty"`

	// MaxLogBody caps the request and response bodies kept in the delivery
	// log, in bytes. Default: 65536 (64 KiB).
	MaxLogBody int `json:"max_log_body,omitempty"`

	// JobRetention is how long a finished job is kept in Redis for
	// redelivery (about 400 bytes plus the payload each); after it, a
	// redelivery is built from the delivery log when its body was logged
	// whole. Default: 72h.
	JobRetention caddy.Duration `json:"job_retention,omitempty"`

	// MaxConcurrent bounds the delivery attempts in flight in this process.
	// Default: 64.
	MaxConcurrent int `json:"max_concurrent,omitempty"`

	// MaxPerWebhook bounds the delivery attempts in flight per webhook.
	// Default: 4.
	MaxPerWebhook int `json:"max_per_webhook,omitempty"`

	// AllowNetworks are destination ranges (CIDRs, or single addresses)
	// deliveries may reach although the SSRF guard refuses them: loopback,
	// private, link-local and other non-global addresses. Default: none.
	AllowNetworks []string `json:"allow_networks,omitempty"`

	// WooCommerceVersion and WordPressVersion fill the User-Agent
	// "WooCommerce/<wc> Hookshot (WordPress/<wp>)". Defaults: 9.8.1 and 6.8.
	WooCommerceVersion string `json:"woocommerce_version,omitempty"`
	WordPressVersion   string `json:"wordpress_version,omitempty"`
}

// enabled reports whether delivery workers run (default true).
func (c *DispatchConfig) enabled() bool {
	return c == nil || c.Enabled == nil || *c.Enabled
}

// provision fills in the defaults and checks every setting.
func (c *DispatchConfig) provision() error {
	durs := []struct {
		name string
		p    *caddy.Duration
		def  time.Duration
	}{{"http_timeout", &c.HTTPTimeout, DefaultHTTPTimeout}, {"ping_timeout", &c.PingTimeout, DefaultPingTimeout},
		{"job_retention", &c.JobRetention, DefaultJobRetention}}
	for _, d := range durs {
		if *d.p < 0 {
			return fmt.Errorf("dispatch: %s must not be negative", d.name)
		}
		if *d.p == 0 {
			*d.p = caddy.Duration(d.def)
		}
	}
	if len(c.RetryLadder) > maxLadderSteps {
		return fmt.Errorf("dispatch: retry_ladder has %d steps, at most %d allowed", len(c.RetryLadder), maxLadderSteps)
	}
	for i, step := range c.RetryLadder {
		if step <= 0 {
			return fmt.Errorf("dispatch: retry_ladder step %d must be positive", i+1)
		}
	}
	if len(c.RetryLadder) == 0 {
		for _, step := range dispatcher.DefaultRetryLadder {
			c.RetryLadder = append(c.RetryLadder, caddy.Duration(step))
		}
	}
	ints := []struct {
		name string
		p    *int
		def  int
	}{
		{"max_failures", &c.MaxFailures, DefaultMaxFailures},
		{"keep_deliveries", &c.KeepDeliveries, DefaultKeepDeliveries},
		{"max_log_body", &c.MaxLogBody, DefaultMaxLogBody},
		{"max_concurrent", &c.MaxConcurrent, DefaultMaxConcurrent},
		{"max_per_webhook", &c.MaxPerWebhook, DefaultMaxPerWebhook},
	}
	for _, n := range ints {
		if *n.p < 0 {
			return fmt.Errorf("dispatch: %s must not be negative, got %d", n.name, *n.p)
		}
		if *n.p == 0 {
			*n.p = n.def
		}
	}
	for i, raw := range c.AllowNetworks {
		p, err := parseNetwork(raw)
		if err != nil {
			return err
		}
		c.AllowNetworks[i] = p.String()
	}
	if c.WooCommerceVersion == "" {
		c.WooCommerceVersion = DefaultWooCommerceVersion
	}
	if c.WordPressVersion == "" {
		c.WordPressVersion = DefaultWordPressVersion
	}
	if !validVersion(c.WooCommerceVersion) {
		return fmt.Errorf("dispatch: woocommerce_version %q must be 1 to %d letters, digits, '.', '-', '+' or '_'", c.WooCommerceVersion, maxVersionLen)
	}
	if !validVersion(c.WordPressVersion) {
		return fmt.Errorf("dispatch: wordpress_version %q must be 1 to %d letters, digits, '.', '-', '+' or '_'", c.WordPressVersion, maxVersionLen)
	}
	return nil
}

// parseNetwork accepts a CIDR or a single address (as a /32 or /128).
func parseNetwork(raw string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(raw); err == nil {
		return p.Masked(), nil
	}
	addr, err := netip.ParseAddr(raw)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("dispatch: allow_networks entry %q is not a CIDR or an IP address", raw)
	}
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

// validVersion accepts what may appear in a User-Agent product version.
func validVersion(v string) bool {
	if v == "" || len(v) > maxVersionLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == '+', c == '_':
		default:
			return false
		}
	}
	return true
}

// options maps the provisioned settings onto dispatcher options for store.
func (c *DispatchConfig) options(store *redisstore.Store, logger *zap.Logger, metrics dispatcher.Metrics, homes func(string) dispatcher.SiteOptions) dispatcher.Options {
	ladder := make([]time.Duration, len(c.RetryLadder))
	for i, step := range c.RetryLadder {
		ladder[i] = time.Duration(step)
	}
	return dispatcher.Options{
		Store:              store,
		Logger:             logger,
		Metrics:            metrics,
		WooCommerceVersion: c.WooCommerceVersion,
		WordPressVersion:   c.WordPressVersion,
		HTTPTimeout:        time.Duration(c.HTTPTimeout),
		PingTimeout:        time.Duration(c.PingTimeout),
		RetryLadder:        ladder,
		MaxFailures:        c.MaxFailures,
		KeepDeliveries:     c.KeepDeliveries,
		JobRetention:       time.Duration(c.JobRetention),
		MaxLogBody:         c.MaxLogBody,
		MaxConcurrent:      c.MaxConcurrent,
		MaxPerWebhook:      c.MaxPerWebhook,
		AllowCIDRs:         append([]string(nil), c.AllowNetworks...),
		DiscoverSites:      true,
		SiteDefaults:       homes,
	}
}

// fingerprint identifies the settings a running dispatcher was built with,
// so a reload can tell whether it must be replaced.
func (c *DispatchConfig) fingerprint(prefix string, floor int64) string {
	b, _ := json.Marshal(struct {
		C      *DispatchConfig
		Prefix string
		Floor  int64
	}{c, prefix, floor})
	return string(b)
}
