package caddymodule

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore/redistest"
)

// runCLI runs `caddy wc-webhooks <args>` and returns its standard output.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	old := cliStdout
	cliStdout = &out
	defer func() { cliStdout = old }()
	root := &cobra.Command{Use: "wc-webhooks", SilenceUsage: true, SilenceErrors: true}
	setupCLI(root)
	root.SetArgs(args)
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	err := root.Execute()
	return out.String(), err
}

func TestCLIKeys(t *testing.T) {
	t.Setenv(RedisEnv, "")
	addr := redistest.Start(t)
	url := "redis://" + addr + "/0"

	out, err := runCLI(t, "add-key", "--redis", url, "--site", "shop.example", "--user-id", "7", "--description", "Zapier  sync", "--permissions", "read")
	require.NoError(t, err)
	ck := regexp.MustCompile(`consumer_key:\s+(ck_[0-9a-f]+)`).FindStringSubmatch(out)
	cs := regexp.MustCompile(`consumer_secret:\s+(cs_[0-9a-f]+)`).FindStringSubmatch(out)
	id := regexp.MustCompile(`key_id:\s+(\d+)`).FindStringSubmatch(out)
	require.Len(t, ck, 2, out)
	require.Len(t, cs, 2, out)
	require.Len(t, id, 2, out)

	// The key is where the handler looks for it: default prefix, the site.
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	s, err := redisstore.New(rdb, redisstore.Options{}).Site("shop.example")
	require.NoError(t, err)
	key, err := s.LookupAPIKey(context.Background(), ck[1])
	require.NoError(t, err)
	assert.EqualValues(t, 7, key.UserID)
	assert.Equal(t, "read", key.Permissions)
	assert.Greater(t, key.KeyID, int64(DefaultIDFloor))

	// The environment variable stands in for --redis.
	t.Setenv(RedisEnv, url)
	out, err = runCLI(t, "list-keys", "--site", "shop.example")
	require.NoError(t, err)
	assert.Contains(t, out, id[1])
	assert.Contains(t, out, "Zapier sync")
	assert.Contains(t, out, "..."+ck[1][len(ck[1])-7:])
	assert.NotContains(t, out, cs[1], "list-keys never prints the secret")
	assert.NotContains(t, out, ck[1], "list-keys never prints the consumer key")

	out, err = runCLI(t, "list-keys", "--site", "other.example")
	require.NoError(t, err)
	assert.Contains(t, out, "no API keys")

	out, err = runCLI(t, "delete-key", "--site", "shop.example", "--id", id[1])
	require.NoError(t, err)
	assert.Contains(t, out, "deleted API key "+id[1])
	_, err = runCLI(t, "delete-key", "--site", "shop.example", "--id", id[1])
	assert.ErrorContains(t, err, "not found")
	_, err = s.LookupAPIKey(context.Background(), ck[1])
	assert.ErrorIs(t, err, redisstore.ErrNotFound)
}

func TestCLIErrors(t *testing.T) {
	t.Setenv(RedisEnv, "")
	_, err := runCLI(t, "add-key", "--site", "shop", "--address", "127.0.0.1:1")
	assert.ErrorContains(t, err, "admin API at 127.0.0.1:1", "without a Redis URL the running Caddy is asked")
	_, err = runCLI(t, "add-key", "--site", "shop", "--user-id", "0", "--address", "127.0.0.1:1")
	assert.ErrorContains(t, err, "--user-id")
	_, err = runCLI(t, "list-keys", "--redis", "redis://127.0.0.1:1/0")
	assert.ErrorContains(t, err, "--site")
	_, err = runCLI(t, "delete-key", "--redis", "redis://127.0.0.1:1/0", "--site", "s")
	assert.ErrorContains(t, err, "--id")
	_, err = runCLI(t, "add-key", "--redis", "redis://u:topsecret@127.0.0.1:notaport/0", "--site", "s")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "topsecret")
	_, err = runCLI(t, "list-keys", "--redis", "redis://:topsecret@127.0.0.1:1/0", "--site", "s")
	require.Error(t, err, "Redis down")
	assert.NotContains(t, err.Error(), "topsecret")
	_, err = runCLI(t, "add-key", "--redis", "redis://127.0.0.1:1/0", "--site", "s", "extra")
	assert.Error(t, err, "positional arguments are rejected")
}
