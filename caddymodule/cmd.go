package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// RedisEnv is the environment variable `caddy wc-webhooks` reads the Redis
// URL from when --redis is not given.
const RedisEnv = "WC_WEBHOOKS_REDIS"

// cliStdout receives the commands' output; tests replace it.
var cliStdout io.Writer = os.Stdout

// cliTimeout bounds each CLI command's Redis work.
const cliTimeout = 15 * time.Second

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "wc-webhooks",
		Usage: "add-key|list-keys|delete-key --redis <url> --site <name> [flags]",
		Short: "Manages the WooCommerce API keys of wc_webhooks (auth keys)",
		Long: `
Manages the WooCommerce REST API keys that the wc_webhooks handler checks
when it runs with "auth keys". Keys live in Redis, per site: --site must be
the handler's site name (by default the site's host name, lower case,
without port).

  add-key     creates a key and prints its consumer key and secret; they
              are shown only this once
  list-keys   lists a site's keys (never their secrets)
  delete-key  deletes a key by its id

--redis defaults to $WC_WEBHOOKS_REDIS. The embedded in-memory Redis used
when Caddy has no redis configured lives inside the running Caddy and cannot
be reached from here: API keys need a real Redis. --key-prefix and
--id-floor must match the wc_webhooks global option (defaults: wcwh,
100000).
`,
		CobraFunc: setupCLI,
	})
}

// setupCLI adds the subcommands and their flags to `caddy wc-webhooks`.
func setupCLI(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.String("redis", "", "Redis URL (default $"+RedisEnv+")")
	pf.String("site", "", "site name (the handler's site; by default its host name)")
	pf.String("key-prefix", DefaultKeyPrefix, "Redis key prefix, as in the wc_webhooks global option")
	pf.Int64("id-floor", DefaultIDFloor, "id floor, as in the wc_webhooks global option")

	add := &cobra.Command{
		Use:   "add-key --redis <url> --site <name> [--user-id 1] [--description <text>] [--permissions read_write]",
		Short: "Creates an API key and prints its consumer key and secret once",
		Args:  cobra.NoArgs,
		RunE:  caddycmd.WrapCommandFuncForCobra(cmdAddKey),
	}
	add.Flags().Int64("user-id", 1, "WordPress user id the key belongs to")
	add.Flags().String("description", "wc_webhooks", "description of the key")
	add.Flags().String("permissions", redisstore.PermReadWrite, "read, write or read_write")

	list := &cobra.Command{
		Use:   "list-keys --redis <url> --site <name>",
		Short: "Lists a site's API keys without their secrets",
		Args:  cobra.NoArgs,
		RunE:  caddycmd.WrapCommandFuncForCobra(cmdListKeys),
	}

	del := &cobra.Command{
		Use:   "delete-key --redis <url> --site <name> --id <key id>",
		Short: "Deletes an API key",
		Args:  cobra.NoArgs,
		RunE:  caddycmd.WrapCommandFuncForCobra(cmdDeleteKey),
	}
	del.Flags().Int64("id", 0, "id of the key to delete (see list-keys)")

	cmd.AddCommand(add, list, del)
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
}

// cliSite is what every subcommand needs: a site on an open client.
type cliSite struct {
	client *redis.Client
	site   *redisstore.Site
}

// openCLISite connects to the Redis named by the flags and opens the site.
func openCLISite(fl caddycmd.Flags) (*cliSite, error) {
	raw := strings.TrimSpace(fl.String("redis"))
	if raw == "" {
		raw = strings.TrimSpace(os.Getenv(RedisEnv))
	}
	if raw == "" {
		return nil, errors.New("--redis (or $" + RedisEnv + ") is required: API keys must be stored in the Redis " +
			"that Caddy uses, and the embedded in-memory Redis (used when Caddy has no redis configured) lives " +
			"inside the running Caddy where this command cannot reach it; configure a real Redis with the " +
			"wc_webhooks global option 'redis'")
	}
	opts, err := parseRedisURL(raw)
	if err != nil {
		return nil, err
	}
	name := fl.String("site")
	if name == "" {
		return nil, errors.New("--site is required")
	}
	floor, err := strconv.ParseInt(fl.String("id-floor"), 10, 64)
	if err != nil || floor < 0 {
		return nil, fmt.Errorf("--id-floor must be a non-negative integer")
	}
	prefix := fl.String("key-prefix")
	if prefix == "" || strings.ContainsAny(prefix, "{} \t\r\n") {
		return nil, fmt.Errorf("--key-prefix %q must be non-empty without braces or whitespace", prefix)
	}
	client := redis.NewClient(opts)
	site, err := redisstore.New(client, redisstore.Options{Prefix: prefix, IDFloor: floor}).Site(name)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("opening site: %w", err)
	}
	return &cliSite{client: client, site: site}, nil
}

// cmdAddKey implements `caddy wc-webhooks add-key`.
func cmdAddKey(fl caddycmd.Flags) (int, error) {
	cs, err := openCLISite(fl)
	if err != nil {
		return fail(err)
	}
	defer cs.client.Close()
	userID, err := strconv.ParseInt(fl.String("user-id"), 10, 64)
	if err != nil {
		return fail(fmt.Errorf("--user-id must be an integer"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	return exitCode(addKey(ctx, cliStdout, cs.site, userID, fl.String("description"), fl.String("permissions")))
}

// cmdListKeys implements `caddy wc-webhooks list-keys`.
func cmdListKeys(fl caddycmd.Flags) (int, error) {
	cs, err := openCLISite(fl)
	if err != nil {
		return fail(err)
	}
	defer cs.client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	return exitCode(listKeys(ctx, cliStdout, cs.site))
}

// cmdDeleteKey implements `caddy wc-webhooks delete-key`.
func cmdDeleteKey(fl caddycmd.Flags) (int, error) {
	id, err := strconv.ParseInt(fl.String("id"), 10, 64)
	if err != nil || id <= 0 {
		return fail(errors.New("--id must be a positive key id"))
	}
	cs, err := openCLISite(fl)
	if err != nil {
		return fail(err)
	}
	defer cs.client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	return exitCode(deleteKey(ctx, cliStdout, cs.site, id))
}

// addKey creates a key and prints its id, consumer key and secret.
func addKey(ctx context.Context, out io.Writer, site *redisstore.Site, userID int64, description, permissions string) error {
	ck, secret, key, err := site.AddAPIKey(ctx, userID, description, permissions)
	if err != nil {
		return fmt.Errorf("adding API key: %w", err)
	}
	_, err = fmt.Fprintf(out, "key_id:          %d\nconsumer_key:    %s\nconsumer_secret: %s\n"+
		"Keep the consumer key and secret now: they cannot be shown again.\n", key.KeyID, ck, secret)
	return err
}

// listKeys prints a site's keys without their secrets.
func listKeys(ctx context.Context, out io.Writer, site *redisstore.Site) error {
	keys, err := site.ListAPIKeys(ctx)
	if err != nil {
		return fmt.Errorf("listing API keys: %w", err)
	}
	if len(keys) == 0 {
		_, err = fmt.Fprintf(out, "no API keys for site %s\n", site.Name())
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY ID\tUSER ID\tPERMISSIONS\tCONSUMER KEY ENDING IN\tDESCRIPTION")
	for _, k := range keys {
		fmt.Fprintf(tw, "%d\t%d\t%s\t...%s\t%s\n", k.KeyID, k.UserID, k.Permissions, k.TruncatedKey, oneLine(k.Description))
	}
	return tw.Flush()
}

// deleteKey deletes one key, and fails when it does not exist.
func deleteKey(ctx context.Context, out io.Writer, site *redisstore.Site, id int64) error {
	ok, err := site.DeleteAPIKey(ctx, id)
	if err != nil {
		return fmt.Errorf("deleting API key %d: %w", id, err)
	}
	if !ok {
		return fmt.Errorf("API key %d not found for site %s", id, site.Name())
	}
	_, err = fmt.Fprintf(out, "deleted API key %d\n", id)
	return err
}

// oneLine keeps a description on one table row.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// fail is the exit of a failed command.
func fail(err error) (int, error) { return caddy.ExitCodeFailedStartup, err }

// exitCode maps a command's error to its exit status.
func exitCode(err error) (int, error) {
	if err != nil {
		return fail(err)
	}
	return caddy.ExitCodeSuccess, nil
}
