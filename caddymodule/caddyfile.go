package caddymodule

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcpage"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("wc_webhooks", parseGlobalOption)
	httpcaddyfile.RegisterHandlerDirective("wc_webhooks", parseHandlerDirective)
	// After encode: before every handle/route block and before
	// reverse_proxy and php_fastcgi, so the handler sees the request before
	// the site's proxy does even when the proxy sits inside a handle block,
	// and Caddy's compression wraps the API's responses.
	httpcaddyfile.RegisterDirectiveOrder("wc_webhooks", httpcaddyfile.After, "encode")
}

// parseGlobalOption parses the `wc_webhooks` global option into the
// wc_webhooks app.
func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	if existing != nil {
		return nil, d.Err("wc_webhooks global option specified more than once")
	}
	app := new(App)
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "wc_webhooks", Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile sets up the app from the global option:
//
//	wc_webhooks {
//	    redis      <url>      # default: embedded in-memory Redis
//	    key_prefix <prefix>   # default: wcwh
//	    id_floor   <n>        # default: 100000
//	    dispatch   off | { ... }  # see unmarshalDispatch; default: delivery on
//	}
//
// Unknown and repeated subdirectives are errors.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // option name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := make(map[string]bool)
	for d.NextBlock(0) {
		opt := d.Val()
		if seen[opt] {
			return d.Errf("wc_webhooks: %s specified more than once", opt)
		}
		seen[opt] = true
		if opt == "dispatch" {
			cfg, err := unmarshalDispatch(d)
			if err != nil {
				return err
			}
			a.Dispatch = cfg
			continue
		}
		val, err := singleArg(d)
		if err != nil {
			return err
		}
		switch opt {
		case "redis":
			a.Redis = val
		case "key_prefix":
			a.KeyPrefix = val
		case "id_floor":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 {
				return d.Errf("wc_webhooks: id_floor must be a non-negative integer, got %q", val)
			}
			a.IDFloor = n
		default:
			return d.Errf("wc_webhooks: unrecognized global subdirective %q", opt)
		}
	}
	return nil
}

// parseHandlerDirective builds the handler from the `wc_webhooks` directive.
func parseHandlerDirective(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	handler := new(Handler)
	if err := handler.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	return handler, nil
}

// UnmarshalCaddyfile sets up the handler from the site directive:
//
//	wc_webhooks [<matcher>] {
//	    site           <name>             # default: the request's host
//	    auth           upstream|keys      # default: upstream
//	    auth_cache_ttl <duration>         # default: 30s
//	    timezone       <IANA name>        # default: UTC
//	    home_url       <url>              # default: from each request
//	    max_body_size  <size>             # default: 1MiB
//	    operator_path  <path>             # operator page; default: off
//	    watch_writes   on|off             # events from REST writes; default: on
//	    service_key    <ck:cs>            # read key for payloads, e.g. {env.WC_SERVICE_KEY}; default: none
//	    reconcile      <interval>|off     # pass for changes behind the proxy (min 10s); default: 5m with service_key, else off
//	}
//
// The block is optional. Unknown and repeated subdirectives are errors.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := make(map[string]bool)
	for d.NextBlock(0) {
		opt := d.Val()
		if seen[opt] {
			return d.Errf("wc_webhooks: %s specified more than once", opt)
		}
		seen[opt] = true
		val, err := singleArg(d)
		if err != nil {
			return err
		}
		switch opt {
		case "site":
			h.Site = val
		case "auth":
			if val != AuthUpstream && val != AuthKeys {
				return d.Errf("wc_webhooks: auth must be %s or %s, got %q", AuthUpstream, AuthKeys, val)
			}
			h.Auth = val
		case "auth_cache_ttl":
			dur, err := caddy.ParseDuration(val)
			if err != nil || dur <= 0 {
				return d.Errf("wc_webhooks: auth_cache_ttl must be a positive duration, got %q", val)
			}
			h.AuthCacheTTL = caddy.Duration(dur)
		case "timezone":
			h.Timezone = val
		case "home_url":
			h.HomeURL = val
		case "max_body_size":
			size, err := humanize.ParseBytes(val)
			if err != nil || size == 0 || size > 1<<40 {
				return d.Errf("wc_webhooks: max_body_size must be a size such as 1MiB, got %q", val)
			}
			h.MaxBodySize = int64(size)
		case "operator_path":
			base, err := wcpage.CleanBasePath(val)
			if err != nil {
				return d.Errf("wc_webhooks: operator_path must be a path such as /wc-webhooks-admin, got %q", val)
			}
			h.OperatorPath = base
		case "watch_writes":
			if val != "on" && val != "off" {
				return d.Errf("wc_webhooks: watch_writes must be on or off, got %q", val)
			}
			on := val == "on"
			h.WatchWrites = &on
		case "service_key":
			h.ServiceKey = val
		case "reconcile":
			if val != reconcileOff {
				dur, err := caddy.ParseDuration(val)
				if err != nil || dur < minReconcileInterval() {
					return d.Errf("wc_webhooks: reconcile must be off or a duration of at least %s, got %q", minReconcileInterval(), val)
				}
			}
			h.Reconcile = val
		default:
			return d.Errf("wc_webhooks: unrecognized subdirective %q", opt)
		}
	}
	return nil
}

// singleArg reads exactly one argument of the current subdirective; a
// second argument, or a block ("{" counts as an argument), is an error.
func singleArg(d *caddyfile.Dispenser) (string, error) {
	if !d.NextArg() {
		return "", d.ArgErr()
	}
	val := d.Val()
	if d.NextArg() {
		return "", d.ArgErr()
	}
	return val, nil
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*App)(nil)
	_ caddyfile.Unmarshaler = (*Handler)(nil)
)
