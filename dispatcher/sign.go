package dispatcher

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
)

// WooSignature is X-WC-Webhook-Signature: base64 (standard, padded) of
// HMAC-SHA256 over the exact body bytes, keyed with the secret decoded as
// WordPress's wp_specialchars_decode(secret, ENT_QUOTES) does. An empty
// secret is an empty key.
func WooSignature(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(DecodeSecret(secret)))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// StandardSignature is the Standard Webhooks webhook-signature value
// "v1,<base64 HMAC-SHA256 of msgID.timestamp.body>", keyed with the raw
// bytes of the webhook secret (a receiver using a Standard Webhooks
// library passes "whsec_" + base64(secret)).
func StandardSignature(msgID, timestamp string, body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msgID))
	m.Write([]byte{'.'})
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// The numeric-entity normalisations of wp_specialchars_decode, applied in
// order before the table below.
var entityNorm = []struct {
	re  *regexp.Regexp
	rep string
}{
	{regexp.MustCompile(`&#0*60;`), "&#060;"},
	{regexp.MustCompile(`&#0*62;`), "&#062;"},
	{regexp.MustCompile(`&#0*38;`), "&#038;"},
	{regexp.MustCompile(`(?i)&#x0*26;`), "&#x26;"},
	{regexp.MustCompile(`&#0*39;`), "&#039;"},
	{regexp.MustCompile(`(?i)&#x0*27;`), "&#x27;"},
	{regexp.MustCompile(`&#0*34;`), "&#034;"},
	{regexp.MustCompile(`(?i)&#x0*22;`), "&#x22;"},
}

var entityTable = strings.NewReplacer(
	"&lt;", "<", "&#060;", "<", "&gt;", ">", "&#062;", ">",
	"&amp;", "&", "&#038;", "&", "&#x26;", "&",
	"&#039;", "'", "&#x27;", "'",
	"&quot;", `"`, "&#034;", `"`, "&#x22;", `"`,
)

// DecodeSecret decodes a secret as wp_specialchars_decode(s, ENT_QUOTES):
// &lt; &gt; &amp; &quot; &#039; &#x27; and their zero-padded numeric forms
// become characters, in one pass (so "&amp;lt;" becomes "&lt;").
func DecodeSecret(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	for _, n := range entityNorm {
		s = n.re.ReplaceAllString(s, n.rep)
	}
	return entityTable.Replace(s)
}
