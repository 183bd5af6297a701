package wcauth

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzOAuthParams feeds arbitrary Authorization headers and queries to the
// OAuth header parser and to every Keys flow: nothing may panic, and the
// header parser only yields oauth_* names.
func FuzzOAuthParams(f *testing.F) {
	f.Add(`OAuth oauth_consumer_key="ck", oauth_nonce="0", oauth_signature=:"a%2Bb"`, "oauth_timestamp=1&a[]=1")
	f.Add(`OAuth oauth_x=unquoted,oauth_y="open`, "filter[a][b]=1&filter=2&oauth_signature[]=x")
	f.Add(`OAuth realm="oauth_nonce=1"`, "oauth_consumer_key="+ckRW+"&oauth_timestamp=1700000000&oauth_nonce=n&oauth_signature=x&oauth_signature_method=HMAC-SHA1")
	keys := newTestKeys(newFakeStore())
	f.Fuzz(func(t *testing.T, header, rawQuery string) {
		for _, e := range parseOAuthHeader(header).entries {
			if !strings.HasPrefix(e.key.s, "oauth_") || e.val.arr != nil {
				t.Fatalf("header parser yielded %q", e.key.s)
			}
		}
		r := httptest.NewRequest("GET", "/wp-json/wc/v3/webhooks", nil)
		r.URL.RawQuery = rawQuery
		r.Header.Set("Authorization", header)
		for _, api := range []API{REST, LegacyV1, LegacyV2, LegacyV3} {
			for _, secure := range []bool{false, true} {
				keys.Authenticate(context.Background(), Request{HTTP: r, API: api, Method: "GET", Secure: secure, HomeURL: home})
			}
		}
	})
}
