package dispatcher

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWooSignatureVectors(t *testing.T) {
	// WooCommerce's CRUD test: generate_signature('secret') with an empty secret.
	require.Equal(t, "GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs=", WooSignature([]byte("secret"), ""))
	// The key is the entity-decoded secret.
	m := hmac.New(sha256.New, []byte(`a&b<'"`))
	m.Write([]byte(`{"id":1}`))
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	require.Equal(t, want, WooSignature([]byte(`{"id":1}`), "a&amp;b&lt;&#039;&quot;"))
}

func TestStandardSignatureVector(t *testing.T) {
	// Standard Webhooks spec example; its key is the base64 part of whsec_....
	key, err := base64.StdEncoding.DecodeString("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	require.NoError(t, err)
	got := StandardSignature("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", []byte(`{"test": 2432232314}`), string(key))
	require.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", got)
}

func TestDecodeSecret(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                 "plain",
		"a&amp;b":               "a&b",
		"&lt;&gt;":              "<>",
		"&#39;&#039;&#0039;":    "'''",
		"&#x27;&#X0027;":        "''",
		"&quot;&#34;&#x22;":     `"""`,
		"&#60;&#62;&#38;&#x26;": "<>&&",
		"&amp;lt;":              "&lt;",
		"&#x3c;":                "&#x3c;",
		"&nbsp;":                "&nbsp;",
	} {
		require.Equal(t, want, DecodeSecret(in), in)
	}
}

func TestPayloads(t *testing.T) {
	require.Equal(t, `{"id":123}`, string(DeletedPayload(123)))
	cases := []struct {
		arg  any
		want string
	}{
		{"a/b é 😀\n\"\\\x01\x7f", `"a\/b \u00e9 \ud83d\ude00\n\"\\\u0001` + "\x7f" + `"`},
		{42, `42`},
		{int64(-7), `-7`},
		{uint8(7), `7`},
		{1.0, `1`},
		{0.1, `0.1`},
		{1e25, `1.0e+25`},
		{1.5e-7, `1.5e-7`},
		{0.0001, `0.0001`},
		{0.00001, `1.0e-5`},
		{1e16, `10000000000000000`},
		{1e17, `1.0e+17`},

		{nil, `null`},
		{true, `true`},
		{[]int{1, 2}, `[1,2]`},
		{map[string]any{}, `[]`},
		{map[string]any{"b": 1, "a": "x"}, `{"a":"x","b":1}`},
		{json.RawMessage(`{"b":[1,2.50,"\u00e9/"],"a":null}`), `{"a":null,"b":[1,2.5,"\u00e9\/"]}`},
		{"\xff", `"\ufffd"`},
	}
	for _, c := range cases {
		got, err := ActionPayload("woocommerce_add_to_cart", c.arg)
		require.NoError(t, err)
		require.Equal(t, `{"action":"woocommerce_add_to_cart","arg":`+c.want+`}`, string(got), "%#v", c.arg)
	}
	_, err := ActionPayload("x", json.RawMessage(`{bad`))
	require.Error(t, err)
}

func TestAddressAllowed(t *testing.T) {
	refused := []string{
		"127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1",
		"224.0.0.1", "255.255.255.255", "240.0.0.1", "198.18.0.1", "192.0.2.1",
		"::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"::ffff:169.254.169.254", "64:ff9b::a00:1", "2002:a00:1::", "2001:db8::1", "fec0::1",
	}
	for _, s := range refused {
		require.False(t, AddressAllowed(netip.MustParseAddr(s), nil), s)
	}
	for _, s := range []string{"93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"} {
		require.True(t, AddressAllowed(netip.MustParseAddr(s), nil), s)
	}
	allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	require.True(t, AddressAllowed(netip.MustParseAddr("127.0.0.1"), allow))
	require.True(t, AddressAllowed(netip.MustParseAddr("::ffff:127.0.0.1"), allow))
	require.False(t, AddressAllowed(netip.MustParseAddr("::1"), allow))
	require.False(t, AddressAllowed(netip.Addr{}, allow))
}

func TestCheckURL(t *testing.T) {
	for _, u := range []string{"https://user:pass@example.com/", "https://user@example.com/", "ftp://example.com/", "example.com", "https:///x", "http://exa mple.com/", ":"} {
		_, err := checkURL(u)
		require.ErrorIs(t, err, ErrInvalidURL, u)
	}
	_, err := checkURL("https://example.com:8443/hook?x=1")
	require.NoError(t, err)
}

func TestRetryDelay(t *testing.T) {
	c, err := Options{Store: nil}.withDefaults()
	require.Error(t, err) // a store is required
	c = config{Options: Options{RetryLadder: []time.Duration{10 * time.Second, time.Minute}, Jitter: 0.2, OverloadFloor: 30 * time.Second}}
	now := time.Now()
	for range 50 {
		d, ok := c.retryDelay(1, attempt{}, now)
		require.True(t, ok)
		require.GreaterOrEqual(t, d, 8*time.Second)
		require.LessOrEqual(t, d, 12*time.Second)
	}
	_, ok := c.retryDelay(3, attempt{}, now)
	require.False(t, ok, "ladder exhausted")
	_, ok = c.retryDelay(1, attempt{final: true}, now)
	require.False(t, ok, "410 and refused URLs are final")
	d, _ := c.retryDelay(1, attempt{retryAfter: "15"}, now)
	require.Equal(t, 15*time.Second, d)
	d, _ = c.retryDelay(1, attempt{retryAfter: "3600"}, now)
	require.Equal(t, 20*time.Second, d, "Retry-After capped at 2x step")
	d, _ = c.retryDelay(1, attempt{retryAfter: "1"}, now)
	require.Equal(t, 10*time.Second, d, "Retry-After never shortens the step")
	d, _ = c.retryDelay(1, attempt{retryAfter: now.Add(16 * time.Second).UTC().Format(http1123)}, now)
	require.InDelta(t, float64(16*time.Second), float64(d), float64(time.Second))
	d, _ = c.retryDelay(1, attempt{overload: true}, now)
	require.Equal(t, 30*time.Second, d, "floor after 429 or timeout")
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestCapString(t *testing.T) {
	require.Equal(t, "abc", capString([]byte("abc"), 5))
	require.Equal(t, "ab", capString([]byte("abcd"), 2))
	require.Equal(t, "a", capString([]byte("aé"), 2), "never cut inside a rune")
	require.Equal(t, "aé", capString([]byte("aéb"), 3))
	require.Equal(t, "0.5", duration(500*time.Millisecond))
	require.Equal(t, "0.90226", duration(902261*time.Microsecond))
}
