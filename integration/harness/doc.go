// Package harness starts the real parts the integration tests, the
// benchmark program (integration/bench) and the fault suite
// (integration/faults) run against: redis-server (with or without AOF),
// the Caddy binary built with the module, and local HTTP servers on free
// loopback ports. It returns errors instead of failing a testing.TB, so
// programs and tests share it.
package harness
