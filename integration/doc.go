// Package integration holds the end-to-end tests of the module: a real
// redis-server, a Caddy binary built from ./caddymodule/cmd/caddy, the
// stand-in WooCommerce upstream of ./standin, and the real npm clients of
// ./js. Run them with `go test ./integration/` (they need redis-server,
// node and npm on PATH; see README.md, "Testing").
package integration
