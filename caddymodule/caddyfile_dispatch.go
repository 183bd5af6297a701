package caddymodule

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"
)

// maxLogBodyLimit caps max_log_body in the Caddyfile (1 GiB).
const maxLogBodyLimit = 1 << 30

// unmarshalDispatch parses the `dispatch` subdirective of the global
// option, the cursor on "dispatch":
//
//	dispatch off
//	dispatch {
//	    off                                  # default: delivery on
//	    http_timeout        <duration>       # default: 60s
//	    ping_timeout        <duration>       # default: 5s
//	    retry_ladder        <duration>...    # default: 5s 5m 30m 2h 5h 10h
//	    max_failures        <n>              # default: 5
//	    keep_deliveries     <n>              # default: 25
//	    max_log_body        <size>           # default: 64KiB
//	    job_retention       <duration>       # default: 72h
//	    max_concurrent      <n>              # default: 64
//	    max_per_webhook     <n>              # default: 4
//	    allow_networks      <cidr>...        # default: none
//	    woocommerce_version <version>        # default: 9.8.1
//	    wordpress_version   <version>        # default: 6.8
//	}
//
// Unknown and repeated subdirectives are errors.
func unmarshalDispatch(d *caddyfile.Dispenser) (*DispatchConfig, error) {
	cfg := new(DispatchConfig)
	off := false
	switch args := d.RemainingArgs(); {
	case len(args) == 1 && args[0] == "off":
		off = true
	case len(args) > 0:
		return nil, d.Errf("wc_webhooks: dispatch takes no argument but off, got %q", args[0])
	}
	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if seen[opt] {
			return nil, d.Errf("wc_webhooks: dispatch %s specified more than once", opt)
		}
		seen[opt] = true
		if opt == "off" {
			if d.NextArg() {
				return nil, d.ArgErr()
			}
			off = true
			continue
		}
		args := d.RemainingArgs()
		if len(args) == 0 {
			return nil, d.ArgErr()
		}
		if err := setDispatchOption(d, cfg, opt, args); err != nil {
			return nil, err
		}
	}
	if off {
		no := false
		cfg.Enabled = &no
	}
	return cfg, nil
}

// setDispatchOption sets one dispatch subdirective from its arguments.
func setDispatchOption(d *caddyfile.Dispenser, cfg *DispatchConfig, opt string, args []string) error {
	switch opt {
	case "retry_ladder":
		for _, a := range args {
			dur, err := caddy.ParseDuration(a)
			if err != nil || dur <= 0 {
				return d.Errf("wc_webhooks: dispatch retry_ladder steps must be positive durations, got %q", a)
			}
			cfg.RetryLadder = append(cfg.RetryLadder, caddy.Duration(dur))
		}
		return nil
	case "allow_networks":
		for _, a := range args {
			p, err := parseNetwork(a)
			if err != nil {
				return d.Errf("wc_webhooks: %v", err)
			}
			cfg.AllowNetworks = append(cfg.AllowNetworks, p.String())
		}
		return nil
	}
	if len(args) != 1 {
		return d.ArgErr()
	}
	val := args[0]
	switch opt {
	case "http_timeout", "ping_timeout", "job_retention":
		dur, err := caddy.ParseDuration(val)
		if err != nil || dur <= 0 {
			return d.Errf("wc_webhooks: dispatch %s must be a positive duration, got %q", opt, val)
		}
		*map[string]*caddy.Duration{
			"http_timeout": &cfg.HTTPTimeout, "ping_timeout": &cfg.PingTimeout, "job_retention": &cfg.JobRetention,
		}[opt] = caddy.Duration(dur)
	case "max_failures", "keep_deliveries", "max_concurrent", "max_per_webhook":
		n, err := strconv.Atoi(val)
		if err != nil || n <= 0 {
			return d.Errf("wc_webhooks: dispatch %s must be a positive integer, got %q", opt, val)
		}
		*map[string]*int{
			"max_failures": &cfg.MaxFailures, "keep_deliveries": &cfg.KeepDeliveries,
			"max_concurrent": &cfg.MaxConcurrent, "max_per_webhook": &cfg.MaxPerWebhook,
		}[opt] = n
	case "max_log_body":
		size, err := humanize.ParseBytes(val)
		if err != nil || size == 0 || size > maxLogBodyLimit {
			return d.Errf("wc_webhooks: dispatch max_log_body must be a size such as 64KiB (at most 1GiB), got %q", val)
		}
		cfg.MaxLogBody = int(size)
	case "woocommerce_version", "wordpress_version":
		if !validVersion(val) {
			return d.Errf("wc_webhooks: dispatch %s %q must be letters, digits, '.', '-', '+' or '_'", opt, val)
		}
		if opt == "woocommerce_version" {
			cfg.WooCommerceVersion = val
		} else {
			cfg.WordPressVersion = val
		}
	default:
		return d.Errf("wc_webhooks: unrecognized dispatch subdirective %q", opt)
	}
	return nil
}
