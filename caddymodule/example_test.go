package caddymodule

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// adaptCaddyfile adapts a Caddyfile to JSON in process, as `caddy adapt` does.
func adaptCaddyfile(body []byte) ([]byte, []caddyconfig.Warning, error) {
	return caddyconfig.GetAdapter("caddyfile").Adapt(body, map[string]any{"filename": "Caddyfile"})
}

// readExample reads a file at the top of the repository.
func readExample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", name))
	require.NoError(t, err)
	return b
}

// TestExampleMatchesXcaddyJSON keeps Caddyfile.example and xcaddy.json in
// sync: xcaddy.json must be what `caddy adapt` makes of Caddyfile.example.
func TestExampleMatchesXcaddyJSON(t *testing.T) {
	adapted, warnings, err := adaptCaddyfile(readExample(t, "Caddyfile.example"))
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.JSONEq(t, string(readExample(t, "xcaddy.json")), string(adapted),
		"regenerate with: go run ./caddymodule/cmd/caddy adapt --config Caddyfile.example --pretty > xcaddy.json")
}

// TestExampleValidatesWithoutRedis proves Provision dials nothing: the
// example config validates (every module provisioned and cleaned up) with
// the Redis URL pointing at a port where nothing listens, and with none.
func TestExampleValidatesWithoutRedis(t *testing.T) {
	for _, redisURL := range []string{"redis://:secret@127.0.0.1:1/0", ""} {
		t.Setenv(RedisEnv, redisURL)
		var cfg caddy.Config
		require.NoError(t, json.Unmarshal(readExample(t, "xcaddy.json"), &cfg))
		cfg.Admin = &caddy.AdminConfig{Disabled: true}
		before := poolReferences()
		require.NoError(t, caddy.Validate(&cfg), redisURL)
		assert.Equal(t, before, poolReferences(), "every pool reference taken in Provision is released")
	}
}

// TestValidateRejectsBadRedisURL shows a bad URL fails at load time and
// the error does not repeat the password.
func TestValidateRejectsBadRedisURL(t *testing.T) {
	cfgJSON := `{"admin":{"disabled":true},"apps":{"wc_webhooks":{"redis":"redis://user:hunter2@host:notaport/0"}}}`
	var cfg caddy.Config
	require.NoError(t, json.Unmarshal([]byte(cfgJSON), &cfg))
	err := caddy.Validate(&cfg)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
}

// poolReferences counts the references held in the Redis pool.
func poolReferences() int {
	n := 0
	redisPool.Range(func(key, _ any) bool {
		refs, _ := redisPool.References(key)
		n += refs
		return true
	})
	return n
}
