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
	"github.com/spf13/cobra"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// RedisEnv is the environment variable `caddy wc-webhooks` reads the Redis
// URL from when --redis is not given.
const RedisEnv = "WC_WEBHOOKS_REDIS"

// cliStdout receives the commands' output; tests replace it.
var cliStdout io.Writer = os.Stdout

// cliTimeout bounds each CLI command's Redis or admin API work.
const cliTimeout = 15 * time.Second

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "wc-webhooks",
		Usage: "add-key|list-keys|delete-key|import --site <name> [--redis <url> | --address <admin>] [flags]",
		Short: "Manages the WooCommerce API keys of wc_webhooks (auth keys) and imports webhooks",
		Long: `
Manages the WooCommerce REST API keys that the wc_webhooks handler checks
when it runs with "auth keys". Keys live in Redis, per site: --site must be
the handler's site name (by default the site's host name, lower case,
without port).

  add-key     creates a key and prints its consumer key and secret; they
              are shown only this once
  list-keys   lists a site's keys (never their secrets)
  delete-key  deletes a key by its id
  import      imports a shop's existing WordPress webhooks, keeping ids
              (see caddy wc-webhooks import --help)

With --redis (default $WC_WEBHOOKS_REDIS) the command writes to that Redis
directly; --key-prefix and --id-floor must then match the wc_webhooks
global option (defaults: wcwh, 100000). Without a Redis URL it asks the
running Caddy through its admin API (--address, or the admin address of
--config; default localhost:2019), which also reaches the embedded
in-memory Redis used when Caddy has no redis configured.
`,
		CobraFunc: setupCLI,
	})
}

// setupCLI adds the subcommands and their flags to `caddy wc-webhooks`.
func setupCLI(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.String("site", "", "site name (the handler's site; by default its host name)")
	pf.String("redis", "", "Redis URL (default $"+RedisEnv+"); without one, the running Caddy's admin API is used")
	pf.String("key-prefix", DefaultKeyPrefix, "with --redis: Redis key prefix, as in the wc_webhooks global option")
	pf.Int64("id-floor", DefaultIDFloor, "with --redis: id floor, as in the wc_webhooks global option")
	pf.String("address", "", "without --redis: address of Caddy's admin API (default from --config, else localhost:2019)")
	pf.StringP("config", "c", "", "without --redis: config file to read the admin address from")
	pf.StringP("adapter", "a", "", "name of the config adapter of --config")

	add := &cobra.Command{
		Use:   "add-key --site <name> [--user-id 1] [--description <text>] [--permissions read_write]",
		Short: "Creates an API key and prints its consumer key and secret once",
		Args:  cobra.NoArgs,
		RunE:  caddycmd.WrapCommandFuncForCobra(cmdAddKey),
	}
	add.Flags().Int64("user-id", 1, "WordPress user id the key belongs to")
	add.Flags().String("description", "wc_webhooks", "description of the key")
	add.Flags().String("permissions", redisstore.PermReadWrite, "read, write or read_write")

	list := &cobra.Command{
		Use:   "list-keys --site <name>",
		Short: "Lists a site's API keys without their secrets",
		Args:  cobra.NoArgs,
		RunE:  caddycmd.WrapCommandFuncForCobra(cmdListKeys),
	}

	del := &cobra.Command{
		Use:   "delete-key --site <name> --id <key id>",
		Short: "Deletes an API key",
		Args:  cobra.NoArgs,
		RunE:  caddycmd.WrapCommandFuncForCobra(cmdDeleteKey),
	}
	del.Flags().Int64("id", 0, "id of the key to delete (see list-keys)")

	cmd.AddCommand(add, list, del, importCommand())
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
}

// keyBackend is where the CLI manages keys: a Redis directly, or the
// running Caddy's admin API.
type keyBackend interface {
	add(ctx context.Context, userID int64, description, permissions string) (NewKeyView, error)
	list(ctx context.Context) ([]KeyView, error)
	remove(ctx context.Context, id int64) (bool, error)
	close()
}

// openBackend picks the backend the flags name.
func openBackend(fl caddycmd.Flags) (keyBackend, string, error) {
	name := fl.String("site")
	if name == "" {
		return nil, "", errors.New("--site is required")
	}
	raw := strings.TrimSpace(fl.String("redis"))
	if raw == "" {
		raw = strings.TrimSpace(os.Getenv(RedisEnv))
	}
	if raw == "" {
		b, err := newAdminBackend(fl, name)
		return b, name, err
	}
	b, err := newRedisBackend(fl, raw, name)
	return b, name, err
}

// cmdAddKey implements `caddy wc-webhooks add-key`.
func cmdAddKey(fl caddycmd.Flags) (int, error) {
	userID, err := strconv.ParseInt(fl.String("user-id"), 10, 64)
	if err != nil || userID <= 0 {
		return fail(errors.New("--user-id must be a positive integer"))
	}
	return withBackend(fl, func(ctx context.Context, b keyBackend, _ string) error {
		return addKey(ctx, cliStdout, b, userID, fl.String("description"), fl.String("permissions"))
	})
}

// cmdListKeys implements `caddy wc-webhooks list-keys`.
func cmdListKeys(fl caddycmd.Flags) (int, error) {
	return withBackend(fl, func(ctx context.Context, b keyBackend, name string) error {
		return listKeys(ctx, cliStdout, b, name)
	})
}

// cmdDeleteKey implements `caddy wc-webhooks delete-key`.
func cmdDeleteKey(fl caddycmd.Flags) (int, error) {
	id, err := strconv.ParseInt(fl.String("id"), 10, 64)
	if err != nil || id <= 0 {
		return fail(errors.New("--id must be a positive key id"))
	}
	return withBackend(fl, func(ctx context.Context, b keyBackend, name string) error {
		return deleteKey(ctx, cliStdout, b, name, id)
	})
}

// withBackend opens the backend the flags name, runs do with a bounded
// context and turns its error into the command's exit code.
func withBackend(fl caddycmd.Flags, do func(ctx context.Context, b keyBackend, site string) error) (int, error) {
	b, name, err := openBackend(fl)
	if err != nil {
		return fail(err)
	}
	defer b.close()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	return exitCode(do(ctx, b, name))
}

// addKey creates a key and prints its id, consumer key and secret.
func addKey(ctx context.Context, out io.Writer, b keyBackend, userID int64, description, permissions string) error {
	k, err := b.add(ctx, userID, description, permissions)
	if err != nil {
		return fmt.Errorf("adding API key: %w", err)
	}
	_, err = fmt.Fprintf(out, "key_id:          %d\nconsumer_key:    %s\nconsumer_secret: %s\n"+
		"Keep the consumer key and secret now: they cannot be shown again.\n", k.KeyID, k.ConsumerKey, k.ConsumerSecret)
	return err
}

// listKeys prints a site's keys without their secrets.
func listKeys(ctx context.Context, out io.Writer, b keyBackend, site string) error {
	keys, err := b.list(ctx)
	if err != nil {
		return fmt.Errorf("listing API keys: %w", err)
	}
	if len(keys) == 0 {
		_, err = fmt.Fprintf(out, "no API keys for site %s\n", site)
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
func deleteKey(ctx context.Context, out io.Writer, b keyBackend, site string, id int64) error {
	ok, err := b.remove(ctx, id)
	if err != nil {
		return fmt.Errorf("deleting API key %d: %w", id, err)
	}
	if !ok {
		return fmt.Errorf("API key %d not found for site %s", id, site)
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
