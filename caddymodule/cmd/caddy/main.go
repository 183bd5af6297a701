// Command caddy is Caddy with the standard modules and wc_webhooks: what
// `xcaddy build --with github.com/wcwebhooks/caddy-wc-webhooks/caddymodule`
// produces, buildable with plain `go build ./caddymodule/cmd/caddy`.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/wcwebhooks/caddy-wc-webhooks/caddymodule"
)

func main() {
	caddycmd.Main()
}
