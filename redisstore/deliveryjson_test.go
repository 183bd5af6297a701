package redisstore

import (
	"encoding/json"
	"testing"
	"time"
)

// encodeDelivery writes exactly what json.Marshal writes for the record,
// for every kind of string encoding/json escapes.
func TestEncodeDeliveryMatchesJSON(t *testing.T) {
	tricky := []string{
		"", "plain", `{"id":1,"name":"a\"b\\c"}`, "<script>&amp;</script>", "tab\tnl\nret\r\b\f\x00\x1f\x7f",
		"é ü 日本 🎉", "bad \xff\xfe utf8 \xc3", "sep \u2028 \u2029 end", "\\u0041", string([]byte{0xe2, 0x80}),
	}
	for i, s := range tricky {
		d := &Delivery{
			ID: 99, WebhookID: int64(i), Duration: "0.00123", Summary: "HTTP 200 OK: " + s,
			RequestMethod: "POST", RequestURL: "https://example.com/h?x=" + s,
			RequestHeaders: map[string]string{"X-B": s, "A": "1", s: "k"}, RequestBody: s,
			ResponseCode: "200", ResponseMessage: s, ResponseHeaders: map[string]string{},
			ResponseBody: s, Created: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600)),
		}
		if i%3 == 0 {
			d.ResponseHeaders = nil
		}
		got, err := encodeDelivery(d)
		if err != nil {
			t.Fatal(err)
		}
		rec := *d
		rec.ID = 0
		want, err := json.Marshal(&rec)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
