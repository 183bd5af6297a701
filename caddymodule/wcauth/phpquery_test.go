package wcauth

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestParsePHPQuery(t *testing.T) {
	cases := []struct {
		raw  string
		want url.Values
	}{
		{"", url.Values{}},
		{"a=1&a=2", url.Values{"a": {"2"}}},
		{"per_page=5&oauth_nonce=x&per_page=5", url.Values{"per_page": {"5"}, "oauth_nonce": {"x"}}},
		{"a", url.Values{"a": {""}}},
		{"&&a=1&&", url.Values{"a": {"1"}}},
		{"a+b=c+d&e%20f=%41", url.Values{"a_b": {"c d"}, "e_f": {"A"}}},
		{"a.b=1", url.Values{"a_b": {"1"}}},
		{"  lead=1", url.Values{"lead": {"1"}}},
		{"=x&%00=y", url.Values{}},
		{"a%00b=1", url.Values{"a": {"1"}}},
		{"bad%zz=%", url.Values{"bad%zz": {"%"}}},
		{"a[]=1&a[]=2", url.Values{"a": {"1", "2"}}},
		{"a[0]=1&a[1]=2", url.Values{"a": {"1", "2"}}},
		{"a[1]=x", url.Values{"a[1]": {"x"}}},
		{"filter[limit]=5&filter[q]=z", url.Values{"filter[limit]": {"5"}, "filter[q]": {"z"}}},
		{"a[x][y]=1", url.Values{"a[x][y]": {"1"}}},
		{"a[x][]=1&a[x][]=2", url.Values{"a[x]": {"1", "2"}}},
		{"a[b=1", url.Values{"a_b": {"1"}}},
		{"a[b.c d=1", url.Values{"a_b_c_d": {"1"}}},
		{"a[b]c=1", url.Values{"a[b]": {"1"}}},
		{"a[ b]=1", url.Values{"a[ b]": {"1"}}},
		{"a[ ]=1", url.Values{"a": {"1"}}},
		{"a[b][c=1", url.Values{"a[b]": {"1"}}},
		{"a=1&a[]=2", url.Values{"a": {"2"}}},
		{"a[]=2&a=1", url.Values{"a": {"1"}}},
		{"a[x]=1&a[x][y]=2", url.Values{"a[x][y]": {"2"}}},
		{"._Host-x=1&__Host-y=2", url.Values{"__Host-y": {"2"}}},
		{"[x]=1", url.Values{}},
	}
	for _, c := range cases {
		if got := ParsePHPQuery(c.raw); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParsePHPQuery(%q) = %v, want %v", c.raw, got, c.want)
		}
	}
}

func TestParsePHPQueryLimits(t *testing.T) {
	deep := "d" + strings.Repeat("[x]", 65) + "=1&ok" + strings.Repeat("[x]", 64) + "=1"
	got := ParsePHPQuery(deep)
	if _, ok := got["d"+strings.Repeat("[x]", 65)]; ok || len(got) != 1 {
		t.Errorf("nesting over 64 kept: %v", got)
	}
	var parts []string
	for i := range 1001 {
		parts = append(parts, "k"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+"="+"v")
	}
	parts[1000] = "last=1"
	if got := ParsePHPQuery(strings.Join(parts, "&")); got.Has("last") {
		t.Error("the 1001st variable was read")
	}
}

func TestPHPArrayMergeRenumbers(t *testing.T) {
	a := parsePHPQueryTree("5=a&x=1")
	b := parsePHPQueryTree("7=b&x=2")
	m := phpArrayMerge(a, b)
	var keys []string
	for _, e := range m.entries {
		keys = append(keys, e.key.String()+"="+e.val.s)
	}
	if got := strings.Join(keys, ","); got != "0=a,x=2,1=b" {
		t.Errorf("array_merge = %s", got)
	}
}

func TestPHPHelpers(t *testing.T) {
	if got := sanitizeKey(`CK_Ab-c'd "\x`); got != "ck_ab-cdx" {
		t.Errorf("sanitize_key = %q", got)
	}
	if got := sanitizeTextField("  a\t\n b%41 <b>x</b> "); got != "a b x" {
		t.Errorf("sanitize_text_field = %q", got)
	}
	if got := addSlashes(`a'b"c\d`); got != `a\'b\"c\\d` || stripSlashes(got) != `a'b"c\d` {
		t.Errorf("addslashes = %q", got)
	}
	for ts, outside := range map[string]bool{
		"1700000000": false, " 1700000900 ": false, "1700000901": true, "1.7e9": false,
		"abc": true, "1700000000abc": false, "": true, "1699999099": true,
	} {
		if got := phpTimestampOutside(ts, 1700000000, 900); got != outside {
			t.Errorf("timestamp %q outside = %v, want %v", ts, got, outside)
		}
	}
}

func FuzzParsePHPQuery(f *testing.F) {
	for _, s := range []string{"a=1", "a[]=1&a[]=2", "a[b][c]=d", "a[b=1", "%00[x]=1", "a[ ]=1&a[\t]=2", "x[][][]=1&x[][]=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v := ParsePHPQuery(raw)
		for k, vals := range v {
			if k == "" || len(vals) == 0 {
				t.Fatalf("empty name or no values: %q=%v", k, vals)
			}
		}
		// Signing over the parsed tree must not panic either.
		tree := parsePHPQueryTree(raw)
		for _, s := range []sigScheme{sigREST, sigLegacyV3, sigLegacyV2} {
			stringToSign(s, "GET", "http://x/", tree)
		}
	})
}
