package caddymodule

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcapi"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// importTimeout bounds one import run: reading WordPress, the import and
// the pausing.
const importTimeout = 10 * time.Minute

// importCommand is `caddy wc-webhooks import`.
func importCommand() *cobra.Command {
	c := &cobra.Command{
		Use: "import --site <name> (--from-db <file>|- [--format tsv|json] | --from-api --new-secrets|--secrets <file>) " +
			"[--wordpress <url> [--wordpress-host <host>] --service-key ck:cs] [--pause-in-wordpress] [--dry-run]",
		Short: "Imports a shop's existing WooCommerce webhooks, keeping their ids",
		Long: `
Imports the webhooks stored in WordPress (table wc_webhooks) into the
module's store, keeping ids, secrets, statuses, topics, URLs, API versions,
failure counts, pending-delivery flags and dates. All or nothing: a bad row
is reported with its line number (or JSON index) and nothing is imported.
Importing the same input again changes nothing ("unchanged"). A webhook
already imported keeps the live state the module owns (status, failure
count, pending delivery, modified date), so WordPress's paused copy never
pauses the module's; the other fields are updated from the source. The
site's id counter is moved above the highest imported id.

Sources:
  --from-db FILE|-   the rows as 'wp db query "SELECT * FROM wp_wc_webhooks"'
                     prints them (tab-separated with a header line), or a
                     JSON array of row objects (--format json; default:
                     detected). Full fidelity, secrets included.
  --from-api         WordPress's REST API (GET /wp-json/wc/v3/webhooks at
                     --wordpress, with --service-key). The API never returns
                     secrets, so --new-secrets (generate 50-character secrets,
                     printed once: update each receiver) or --secrets FILE
                     (lines "id<TAB>secret") is required. The API does not
                     show api_version, user_id, failure_count or
                     pending_delivery: they become wp_api_v3, --user-id, 0
                     and false.

--pause-in-wordpress pauses each imported webhook in WordPress after the
import (PUT {"status":"paused"} to /wp-json/wc/v3/webhooks/<id>), so that
WordPress stops delivering what the module now delivers. --wordpress must
reach WordPress directly (the upstream, e.g. http://127.0.0.1:8081), never
through Caddy, whose wc_webhooks handler answers those routes itself; give
the shop's public host name with --wordpress-host when WordPress needs it.
Over https the service key goes as Basic auth, over http as OAuth 1.0a.

--dry-run shows what would be imported and paused and changes nothing.
`,
		Args: cobra.NoArgs,
		RunE: caddycmd.WrapCommandFuncForCobra(cmdImport),
	}
	f := c.Flags()
	f.String("from-db", "", "wc_webhooks rows exported with wp db query (file, or - for stdin)")
	f.String("format", "", "format of --from-db: tsv or json (default: detected)")
	f.Bool("from-api", false, "read the webhooks from WordPress's REST API at --wordpress")
	f.Bool("new-secrets", false, "with --from-api: generate new secrets and print them once")
	f.String("secrets", "", "with --from-api: file of id<TAB>secret lines")
	f.Int64("user-id", 1, "with --from-api: WordPress user id the webhooks are built as")
	f.String("wordpress", "", "WordPress's own base URL, reached directly (not through Caddy), e.g. http://127.0.0.1:8081")
	f.String("wordpress-host", "", "Host header (the shop's public host name) for requests to --wordpress")
	f.String("service-key", "", "WooCommerce REST API key ck_...:cs_... with read_write permissions (default $"+ServiceKeyEnv+")")
	f.Bool("pause-in-wordpress", false, "after the import, pause each imported webhook in WordPress")
	f.Bool("dry-run", false, "show what would be imported and paused; change nothing")
	return c
}

// importOptions are the parsed flags of `caddy wc-webhooks import`.
type importOptions struct {
	fromDB, format string
	fromAPI        bool
	newSecrets     bool
	secretsFile    string
	userID         int64
	pause, dry     bool
	wp             *wpClient
}

// importOptionsOf checks the flag combinations.
func importOptionsOf(fl caddycmd.Flags) (importOptions, error) {
	o := importOptions{
		fromDB: fl.String("from-db"), format: strings.ToLower(fl.String("format")),
		fromAPI: fl.Bool("from-api"), newSecrets: fl.Bool("new-secrets"), secretsFile: fl.String("secrets"),
		pause: fl.Bool("pause-in-wordpress"), dry: fl.Bool("dry-run"),
	}
	uid, err := strconv.ParseInt(fl.String("user-id"), 10, 64)
	if err != nil || uid < 0 {
		return o, errors.New("--user-id must be a non-negative integer")
	}
	o.userID = uid
	switch {
	case (o.fromDB == "") == !o.fromAPI:
		return o, errors.New("give exactly one source: --from-db FILE|- or --from-api")
	case o.fromDB != "" && (o.newSecrets || o.secretsFile != ""):
		return o, errors.New("--new-secrets and --secrets go with --from-api; a database export holds the secrets")
	case o.fromAPI && o.newSecrets == (o.secretsFile != ""):
		return o, errors.New("WordPress's REST API never returns webhook secrets: with --from-api give --new-secrets " +
			"(new secrets, printed once; update every receiver) or --secrets FILE (id<TAB>secret lines)")
	case o.fromAPI && o.format != "":
		return o, errors.New("--format goes with --from-db")
	}
	if o.fromAPI || o.pause {
		key := fl.String("service-key")
		if key == "" {
			key = os.Getenv(ServiceKeyEnv)
		}
		if fl.String("wordpress") == "" {
			return o, errors.New("--from-api and --pause-in-wordpress need --wordpress, WordPress's own URL (not Caddy's)")
		}
		if o.wp, err = newWPClient(fl.String("wordpress"), fl.String("wordpress-host"), key); err != nil {
			return o, err
		}
	}
	return o, nil
}

// cmdImport implements `caddy wc-webhooks import`.
func cmdImport(fl caddycmd.Flags) (int, error) {
	o, err := importOptionsOf(fl)
	if err != nil {
		return fail(err)
	}
	b, name, err := openBackend(fl)
	if err != nil {
		return fail(err)
	}
	defer b.close()
	ctx, cancel := context.WithTimeout(context.Background(), importTimeout)
	defer cancel()
	return exitCode(runImportCmd(ctx, cliStdout, b.(webhookImporter), name, o))
}

// webhookImporter is a backend that can import webhooks.
type webhookImporter interface {
	importWebhooks(ctx context.Context, hooks []redisstore.Webhook, dry, keepSecrets, keepState bool) (ImportResponse, error)
}

// runImportCmd reads the source, imports, prints the report and pauses.
func runImportCmd(ctx context.Context, out io.Writer, b webhookImporter, site string, o importOptions) error {
	hooks, generated, err := loadImportSource(ctx, o)
	if err != nil {
		return err
	}
	resp, err := b.importWebhooks(ctx, hooks, o.dry, generated, true)
	if err != nil {
		return fmt.Errorf("importing into site %s (nothing was imported): %w", site, err)
	}
	printImport(out, site, hooks, resp, o)
	if generated && !o.dry {
		printNewSecrets(out, hooks, resp)
	}
	if !o.pause {
		return nil
	}
	return pauseInWordPress(ctx, out, o, hooks)
}

// loadImportSource returns the webhooks of the source; generated reports
// that their secrets were generated here.
func loadImportSource(ctx context.Context, o importOptions) (hooks []redisstore.Webhook, generated bool, err error) {
	if o.fromDB != "" {
		var r io.Reader = os.Stdin
		if o.fromDB != "-" {
			f, err := os.Open(o.fromDB)
			if err != nil {
				return nil, false, fmt.Errorf("opening --from-db: %w", err)
			}
			defer f.Close()
			r = f
		}
		hooks, err = parseDBExport(r, o.format)
		if err != nil {
			return nil, false, fmt.Errorf("reading %s (nothing was imported): %w", o.fromDB, err)
		}
		return hooks, false, nil
	}
	hooks, err = o.wp.listWebhooks(ctx, o.userID)
	if err != nil {
		return nil, false, err
	}
	if o.newSecrets {
		for i := range hooks {
			hooks[i].Secret = wcapi.GenerateSecret()
		}
		return hooks, true, nil
	}
	secrets, err := readSecretsFile(o.secretsFile)
	if err != nil {
		return nil, false, err
	}
	var missing []string
	for i := range hooks {
		s, ok := secrets[hooks[i].ID]
		if !ok {
			missing = append(missing, strconv.FormatInt(hooks[i].ID, 10))
		}
		hooks[i].Secret = s
	}
	if len(missing) > 0 {
		return nil, false, fmt.Errorf("--secrets has no secret for webhook(s) %s (nothing was imported)", strings.Join(missing, ", "))
	}
	return hooks, false, nil
}

// readSecretsFile reads "id<TAB>secret" lines; blank lines and lines
// starting with '#' are skipped. The secret is everything after the first
// tab (spaces included).
func readSecretsFile(path string) (map[int64]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening --secrets: %w", err)
	}
	defer f.Close()
	out := map[int64]string{}
	sc := bufio.NewScanner(io.LimitReader(f, maxImportInput))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		idText, secret, ok := strings.Cut(text, "\t")
		id, err := strconv.ParseInt(strings.TrimSpace(idText), 10, 64)
		switch {
		case !ok || err != nil || id <= 0:
			return nil, fmt.Errorf("--secrets line %d: want a webhook id, a tab, then the secret", line)
		case secret == "":
			return nil, fmt.Errorf("--secrets line %d: the secret of webhook %d is empty", line, id)
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("--secrets line %d: webhook %d appears twice", line, id)
		}
		out[id] = secret
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading --secrets: %w", err)
	}
	return out, nil
}

// printImport prints one row per webhook and a summary (never secrets).
func printImport(out io.Writer, site string, hooks []redisstore.Webhook, resp ImportResponse, o importOptions) {
	if o.dry {
		fmt.Fprintf(out, "DRY RUN: nothing was changed; this is what the import would do to site %s.\n", site)
	}
	if o.fromAPI {
		fmt.Fprintln(out, "Read from WordPress's REST API, which shows no api_version: every webhook is imported with api_version wp_api_v3"+
			" (payloads rendered as wc/v3), user_id "+strconv.FormatInt(o.userID, 10)+", failure_count 0.")
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRESULT\tSTATUS\tTOPIC\tAPI VERSION\tNAME\tDELIVERY URL")
	counts := map[string]int{}
	for i, w := range hooks {
		act := resp.Results[i].Action
		counts[act]++
		if o.dry {
			act = "would be " + act
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", w.ID, act, w.Status, oneLine(w.Topic), w.APIVersion, oneLine(w.Name), oneLine(w.DeliveryURL))
	}
	_ = tw.Flush()
	verb := ""
	if o.dry {
		verb = "would be "
	}
	fmt.Fprintf(out, "site %s: %d webhook(s): %s%d created, %s%d updated, %d unchanged; id counter %d (new webhooks get higher ids)\n",
		site, len(hooks), verb, counts[redisstore.ImportCreated], verb, counts[redisstore.ImportUpdated], counts[redisstore.ImportUnchanged], resp.Counter)
}

// printNewSecrets prints the generated secrets that were stored, once.
func printNewSecrets(out io.Writer, hooks []redisstore.Webhook, resp ImportResponse) {
	kept := map[int64]bool{}
	for _, id := range resp.KeptSecrets {
		kept[id] = true
	}
	var lines []string
	for _, w := range hooks {
		if !kept[w.ID] {
			lines = append(lines, strconv.FormatInt(w.ID, 10)+"\t"+w.Secret)
		}
	}
	if len(kept) > 0 {
		fmt.Fprintf(out, "%d webhook(s) were already imported and keep their stored secret.\n", len(kept))
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintln(out, "NEW SECRETS (shown only this once; set each in its receiver, which signs-checks with it from now on):")
	fmt.Fprintln(out, "WEBHOOK ID\tSECRET")
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
}

// pauseInWordPress pauses every imported webhook in WordPress (or, dry,
// reads each there and says it would pause it). It stops at the first failure; running the import again
// is harmless (the import is unchanged, pausing again is a no-op).
func pauseInWordPress(ctx context.Context, out io.Writer, o importOptions, hooks []redisstore.Webhook) error {
	for i, w := range hooks {
		if o.dry {
			st, err := o.wp.status(ctx, w.ID)
			if err != nil {
				return fmt.Errorf("dry run: webhook %d could not be read in WordPress, so it could not be paused: %w", w.ID, err)
			}
			fmt.Fprintf(out, "would pause in WordPress: webhook %d (%s), now %s there\n", w.ID, oneLine(w.Name), st)
			continue
		}
		if err := o.wp.pause(ctx, w.ID); err != nil {
			return fmt.Errorf("the import succeeded, but pausing in WordPress failed after %d of %d webhooks "+
				"(run the same command again to finish): webhook %d: %w", i, len(hooks), w.ID, err)
		}
		fmt.Fprintf(out, "paused in WordPress: webhook %d (%s)\n", w.ID, oneLine(w.Name))
	}
	if !o.dry {
		fmt.Fprintf(out, "%d webhook(s) paused in WordPress; the module delivers them from now on.\n", len(hooks))
	}
	return nil
}

// importWebhooks imports straight into Redis.
func (b *redisBackend) importWebhooks(ctx context.Context, hooks []redisstore.Webhook, dry, keepSecrets, keepState bool) (ImportResponse, error) {
	return importInto(ctx, b.site, hooks, dry, keepSecrets, keepState)
}

// importWebhooks imports through the running Caddy's admin API.
func (b *adminBackend) importWebhooks(_ context.Context, hooks []redisstore.Webhook, dry, keepSecrets, keepState bool) (ImportResponse, error) {
	var resp ImportResponse
	if hooks == nil {
		hooks = []redisstore.Webhook{}
	}
	err := b.do(http.MethodPost, adminImportPath, ImportRequest{Site: b.site, Webhooks: hooks, DryRun: dry, KeepStoredSecrets: keepSecrets, KeepStoredState: keepState}, &resp)
	if err == nil && len(resp.Results) != len(hooks) {
		err = errors.New("the admin API answered an incomplete import report")
	}
	return resp, err
}

// Interface guards
var (
	_ webhookImporter = (*redisBackend)(nil)
	_ webhookImporter = (*adminBackend)(nil)
)
