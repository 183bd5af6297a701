package caddymodule

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// maxImportInput caps a database export read by the import (64 MiB).
const maxImportInput = 64 << 20

// wpZeroDate is MySQL's zero datetime, WooCommerce's "never".
const wpZeroDate = "0000-00-00 00:00:00"

// wpDateLayout is how MySQL prints a datetime.
const wpDateLayout = "2006-01-02 15:04:05"

// requiredColumns are the wc_webhooks columns an export must have.
var requiredColumns = []string{"webhook_id", "status", "name", "user_id", "delivery_url", "secret", "topic", "api_version"}

// row is one exported wc_webhooks row: column → value, nil for SQL NULL
// (in TSV: the text NULL, which in a NOT NULL text column can only be the
// string "NULL" itself, see notNullText).
type row map[string]*string

// notNullText are the wc_webhooks text columns declared NOT NULL: mysql
// prints NULL there only for the string "NULL".
var notNullText = map[string]bool{"status": true, "name": true, "delivery_url": true, "secret": true, "topic": true}

// parseDBExport reads the wc_webhooks rows of a database export, in format
// "tsv" (what `wp db query "SELECT * FROM wp_wc_webhooks"` prints: a header
// line, tab-separated values with mysql's batch escapes \t \n \0 \\, NULL
// for SQL NULL), "json" (an array of objects, one per row, values strings,
// numbers or null) or "" (JSON when the input starts with '[' or '{',
// else TSV).
// An error names the line (TSV, the header is line 1) or the array index
// (JSON) of the first bad row; it never quotes a secret.
func parseDBExport(r io.Reader, format string) ([]redisstore.Webhook, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxImportInput+1))
	if err != nil {
		return nil, fmt.Errorf("reading the export: %w", err)
	}
	if len(raw) > maxImportInput {
		return nil, fmt.Errorf("the export is larger than %d MiB", maxImportInput>>20)
	}
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	if format == "" {
		format = "tsv"
		if t := bytes.TrimSpace(raw); len(t) > 0 && (t[0] == '[' || t[0] == '{') {
			format = "json"
		}
	}
	switch format {
	case "tsv":
		return parseTSV(raw)
	case "json":
		return parseJSONRows(raw)
	default:
		return nil, fmt.Errorf("unknown --format %q (tsv or json)", format)
	}
}

// parseTSV reads mysql batch output.
func parseTSV(raw []byte) ([]redisstore.Webhook, error) {
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), maxImportInput)
	var header []string
	var out []redisstore.Webhook
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if header == nil {
			if strings.TrimSpace(text) == "" {
				return nil, fmt.Errorf("line %d: the header line is empty", line)
			}
			header = strings.Split(text, "\t")
			for i := range header {
				header[i] = strings.ToLower(strings.TrimSpace(header[i]))
			}
			if err := checkHeader(header); err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			continue
		}
		if text == "" {
			continue
		}
		fields := strings.Split(text, "\t")
		if len(fields) != len(header) {
			return nil, fmt.Errorf("line %d: %d fields, the header has %d", line, len(fields), len(header))
		}
		rw := make(row, len(header))
		for i, f := range fields {
			if f == "NULL" && !notNullText[header[i]] {
				rw[header[i]] = nil
				continue
			}
			v := mysqlUnescape(f)
			rw[header[i]] = &v
		}
		w, err := webhookOfRow(rw)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, w)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	if header == nil {
		return nil, errors.New("the export is empty (no header line)")
	}
	return out, nil
}

// mysqlUnescape undoes the mysql client's batch-mode escapes: \0 \t \n \\
// (and \r, \b, \Z, which other dumpers use). Any other backslash is kept.
func mysqlUnescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '0':
			b.WriteByte(0)
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'Z':
			b.WriteByte(26)
		case '\\':
			b.WriteByte('\\')
		default:
			b.WriteByte('\\')
			continue
		}
		i++
	}
	return b.String()
}

// parseJSONRows reads an array of row objects.
func parseJSONRows(raw []byte) ([]redisstore.Webhook, error) {
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("decoding the JSON export (an array of row objects): %w", err)
	}
	out := make([]redisstore.Webhook, 0, len(items))
	for i, it := range items {
		rw := make(row, len(it))
		var cols []string
		for k, v := range it {
			k = strings.ToLower(k)
			cols = append(cols, k)
			s, err := jsonScalar(v)
			if err != nil {
				return nil, fmt.Errorf("row [%d]: column %s: %w", i, k, err)
			}
			rw[k] = s
		}
		if err := checkHeader(cols); err != nil {
			return nil, fmt.Errorf("row [%d]: %w", i, err)
		}
		w, err := webhookOfRow(rw)
		if err != nil {
			return nil, fmt.Errorf("row [%d]: %w", i, err)
		}
		out = append(out, w)
	}
	return out, nil
}

// jsonScalar turns a JSON string, number, boolean or null into a column
// value (nil for null).
func jsonScalar(v json.RawMessage) (*string, error) {
	t := bytes.TrimSpace(v)
	switch {
	case bytes.Equal(t, []byte("null")):
		return nil, nil
	case bytes.Equal(t, []byte("true")):
		s := "1"
		return &s, nil
	case bytes.Equal(t, []byte("false")):
		s := "0"
		return &s, nil
	case len(t) > 0 && t[0] == '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return nil, errors.New("not a valid JSON string")
		}
		return &s, nil
	case len(t) > 0 && (t[0] == '-' || ('0' <= t[0] && t[0] <= '9')):
		s := string(t)
		return &s, nil
	}
	return nil, errors.New("must be a string, number, boolean or null")
}

// checkHeader reports missing or repeated columns.
func checkHeader(cols []string) error {
	seen := map[string]bool{}
	for _, c := range cols {
		if seen[c] {
			return fmt.Errorf("column %q appears twice", c)
		}
		seen[c] = true
	}
	var missing []string
	for _, c := range requiredColumns {
		if !seen[c] {
			missing = append(missing, c)
		}
	}
	if !seen["date_created_gmt"] && !seen["date_created"] {
		missing = append(missing, "date_created_gmt")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing column(s) %s (export with SELECT * FROM <prefix>wc_webhooks)", strings.Join(missing, ", "))
	}
	return nil
}

// webhookOfRow maps one wc_webhooks row to a webhook. Dates are the _gmt
// columns (the local ones when a _gmt one is zero); a zero modified date
// means never modified.
func webhookOfRow(rw row) (redisstore.Webhook, error) {
	str := func(col string) string {
		if v := rw[col]; v != nil {
			return *v
		}
		return ""
	}
	var w redisstore.Webhook
	var err error
	if w.ID, err = intColumn(rw, "webhook_id", 1, 1<<53); err != nil {
		return w, err
	}
	w.Name, w.Topic, w.DeliveryURL, w.Secret = str("name"), str("topic"), str("delivery_url"), str("secret")
	w.Status = str("status")
	switch w.Status {
	case redisstore.StatusActive, redisstore.StatusPaused, redisstore.StatusDisabled:
	default:
		return w, fmt.Errorf("webhook %d: status %q is not active, paused or disabled", w.ID, oneLine(w.Status))
	}
	if w.UserID, err = intColumn(rw, "user_id", 0, 1<<53); err != nil {
		return w, fmt.Errorf("webhook %d: %w", w.ID, err)
	}
	if w.APIVersion, err = apiVersionOf(str("api_version")); err != nil {
		return w, fmt.Errorf("webhook %d: %w", w.ID, err)
	}
	fc, err := intColumn(rw, "failure_count", 0, 1<<31)
	if err != nil && rw["failure_count"] != nil {
		return w, fmt.Errorf("webhook %d: %w", w.ID, err)
	}
	w.FailureCount = int(fc)
	switch strings.TrimSpace(str("pending_delivery")) {
	case "", "0":
	case "1":
		w.PendingDelivery = true
	default:
		return w, fmt.Errorf("webhook %d: pending_delivery %q is not 0 or 1", w.ID, oneLine(str("pending_delivery")))
	}
	if w.Created, err = dateColumns(rw, "date_created"); err != nil {
		return w, fmt.Errorf("webhook %d: %w", w.ID, err)
	}
	if w.Created.IsZero() {
		return w, fmt.Errorf("webhook %d: date_created_gmt is empty", w.ID)
	}
	if w.Modified, err = dateColumns(rw, "date_modified"); err != nil {
		return w, fmt.Errorf("webhook %d: %w", w.ID, err)
	}
	return w, nil
}

// intColumn parses an integer column within [lo, hi].
func intColumn(rw row, col string, lo, hi int64) (int64, error) {
	v := rw[col]
	if v == nil {
		return 0, fmt.Errorf("%s is NULL", col)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(*v), 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s %q is not an integer from %d to %d", col, oneLine(*v), lo, hi)
	}
	return n, nil
}

// apiVersionOf maps the api_version column (smallint −1/1/2/3, or one of
// the names) to the stored name; a value ≤ 0 reads as legacy_v3, as in
// WooCommerce.
func apiVersionOf(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch s {
	case redisstore.APIVersionLegacyV3, redisstore.APIVersionWPV1, redisstore.APIVersionWPV2, redisstore.APIVersionWPV3:
		return s, nil
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("api_version %q is not a number", oneLine(s))
	case n <= 0:
		return redisstore.APIVersionLegacyV3, nil
	case n == 1:
		return redisstore.APIVersionWPV1, nil
	case n == 2:
		return redisstore.APIVersionWPV2, nil
	case n == 3:
		return redisstore.APIVersionWPV3, nil
	}
	return "", fmt.Errorf("api_version %d is not -1, 1, 2 or 3", n)
}

// dateColumns reads <base>_gmt, falling back to <base> (the site's local
// time, taken as UTC) when the GMT column is absent, NULL or zero. Both
// zero, NULL or absent give the zero time.
func dateColumns(rw row, base string) (time.Time, error) {
	for _, col := range []string{base + "_gmt", base} {
		v := rw[col]
		if v == nil {
			continue
		}
		s := strings.TrimSpace(*v)
		if s == "" || s == wpZeroDate {
			continue
		}
		t, err := time.Parse(wpDateLayout, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s %q is not a date like 2024-01-31 13:45:00", col, oneLine(s))
		}
		return t, nil
	}
	return time.Time{}, nil
}
