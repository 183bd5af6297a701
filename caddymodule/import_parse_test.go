package caddymodule

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

const tsvHeader = "webhook_id\tstatus\tname\tuser_id\tdelivery_url\tsecret\ttopic\tdate_created\tdate_created_gmt\t" +
	"date_modified\tdate_modified_gmt\tapi_version\tfailure_count\tpending_delivery\n"

// tsvExport is what `wp db query "SELECT * FROM wp_wc_webhooks"` prints for
// three rows: mysql batch escapes in the name and the secret, a never
// modified webhook, a legacy one and a NULL date.
var tsvExport = tsvHeader +
	"3\tactive\tOrders\\tto CRM\\nline two \\\\ back\t1\thttps://crm.example/hook?a=1&b=2\tk3y\\\\with&amp;stuff \t" +
	"order.created\t2023-01-02 08:34:05\t2023-01-02 03:04:05\t0000-00-00 00:00:00\t0000-00-00 00:00:00\t3\t0\t1\n" +
	"9\tpaused\tLegacy\t2\thttps://old.example/\tsecret9\tproduct.updated\t2022-06-01 00:00:00\t2022-06-01 00:00:00\t" +
	"2022-07-01 12:00:00\t2022-07-01 10:00:00\t-1\t4\t0\n" +
	"11\tdisabled\tNULL\t1\thttps://x.example/\tNULL\tcoupon.deleted\t2024-01-01 00:00:00\t2024-01-01 00:00:00\tNULL\tNULL\t2\t5\t0\n"

func TestParseTSV(t *testing.T) {
	got, err := parseDBExport(strings.NewReader(tsvExport), "")
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, redisstore.Webhook{
		ID: 3, Name: "Orders\tto CRM\nline two \\ back", Status: "active", Topic: "order.created",
		DeliveryURL: "https://crm.example/hook?a=1&b=2", Secret: "k3y\\with&amp;stuff ", APIVersion: "wp_api_v3", UserID: 1,
		FailureCount: 0, PendingDelivery: true, Created: time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC),
	}, got[0], "the _gmt date, a zero modified date is never")
	assert.Equal(t, "legacy_v3", got[1].APIVersion, "-1 is legacy_v3")
	assert.Equal(t, time.Date(2022, 7, 1, 10, 0, 0, 0, time.UTC), got[1].Modified)
	assert.Equal(t, 4, got[1].FailureCount)
	assert.Equal(t, "paused", got[1].Status)
	assert.Equal(t, "NULL", got[2].Name, "NULL in a NOT NULL text column is the string NULL")
	assert.Equal(t, "NULL", got[2].Secret)
	assert.True(t, got[2].Modified.IsZero(), "a NULL date is never")
	assert.Equal(t, "wp_api_v2", got[2].APIVersion)

	crlf, err := parseDBExport(strings.NewReader(strings.ReplaceAll(tsvExport, "\n", "\r\n")), "tsv")
	require.NoError(t, err)
	assert.Equal(t, got, crlf, "CRLF line ends are accepted")

	empty, err := parseDBExport(strings.NewReader(tsvHeader), "tsv")
	require.NoError(t, err)
	assert.Empty(t, empty, "a table without rows")
}

func TestParseJSON(t *testing.T) {
	in := `[{"webhook_id":"3","status":"active","name":"A \"q\"","user_id":1,"delivery_url":"https://a.example/",
	  "secret":"s\tx","topic":"order.created","date_created":"2023-01-02 03:04:05","date_created_gmt":"2023-01-02 03:04:05",
	  "date_modified":null,"date_modified_gmt":null,"api_version":"1","failure_count":"2","pending_delivery":false},
	 {"WEBHOOK_ID":12,"STATUS":"paused","NAME":"b","USER_ID":"3","DELIVERY_URL":"https://b.example/","SECRET":"z",
	  "TOPIC":"action.woocommerce_add_to_cart","DATE_CREATED_GMT":"2020-02-02 02:02:02","API_VERSION":"wp_api_v2"}]`
	got, err := parseDBExport(strings.NewReader(in), "")
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, redisstore.Webhook{
		ID: 3, Name: `A "q"`, Status: "active", Topic: "order.created", DeliveryURL: "https://a.example/", Secret: "s\tx",
		APIVersion: "wp_api_v1", UserID: 1, FailureCount: 2, Created: time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC),
	}, got[0])
	assert.Equal(t, int64(12), got[1].ID, "column names are case-insensitive")
	assert.Equal(t, "wp_api_v2", got[1].APIVersion)
}

func TestParseBadRows(t *testing.T) {
	row := func(fields ...string) string { return strings.Join(fields, "\t") + "\n" }
	good := row("1", "active", "n", "1", "https://a/", "s", "order.created", "2023-01-01 00:00:00", "2023-01-01 00:00:00",
		"0000-00-00 00:00:00", "0000-00-00 00:00:00", "3", "0", "0")
	with := func(i int, v string) string {
		f := strings.Split(strings.TrimSuffix(good, "\n"), "\t")
		f[0] = "2"
		f[i] = v
		return row(f...)
	}
	cases := []struct{ in, want string }{
		{tsvHeader + good + with(1, "pending"), `line 3: webhook 2: status "pending"`},
		{tsvHeader + good + good + with(0, "x"), `line 4: webhook_id "x"`},
		{tsvHeader + good + with(0, "0"), `line 3: webhook_id "0"`},
		{tsvHeader + good + with(11, "7"), "line 3: webhook 2: api_version 7"},
		{tsvHeader + good + with(8, "2023-13-01 00:00:00"), "line 3: webhook 2: date_created_gmt"},
		{tsvHeader + good + with(8, "0000-00-00 00:00:00")[:0] + "2\tactive\tn\n", "line 3: 3 fields, the header has 14"},
		{tsvHeader + good + with(13, "2"), "line 3: webhook 2: pending_delivery"},
		{tsvHeader + good + with(12, "-1"), "line 3: webhook 2: failure_count"},
		{"webhook_id\tstatus\n1\tactive\n", "line 1: missing column(s) name, user_id"},
		{"", "empty"},
		{`[{"webhook_id":1}]`, "row [0]: missing column(s) status"},
		{`[` + strings.Repeat(`{"webhook_id":1,"status":"active","name":"n","user_id":1,"delivery_url":"u","secret":"SECRETX","topic":"t","api_version":3,"date_created_gmt":"2023-01-01 00:00:00"},`, 2) +
			`{"webhook_id":1,"status":"active","name":"n","user_id":1,"delivery_url":"u","secret":"SECRETX","topic":"t","api_version":3,"date_created_gmt":"bad"}]`,
			`row [2]: webhook 1: date_created_gmt "bad"`},
		{`[{"webhook_id":{"x":1}}]`, "row [0]: column webhook_id"},
		{`{"webhook_id":1}`, "array of row objects"},
	}
	for _, c := range cases {
		_, err := parseDBExport(strings.NewReader(c.in), "")
		if assert.Error(t, err, c.want) {
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), "SECRETX", "no secret in errors")
		}
	}
	_, err := parseDBExport(strings.NewReader(tsvExport), "xml")
	assert.ErrorContains(t, err, "unknown --format")
}

func TestMySQLUnescape(t *testing.T) {
	assert.Equal(t, "a\tb\nc\\d\x00e\\qf\\", mysqlUnescape(`a\tb\nc\\d\0e\qf\`))
	assert.Equal(t, "plain", mysqlUnescape("plain"))
}
