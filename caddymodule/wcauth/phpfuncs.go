package wcauth

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The PHP and WordPress functions WooCommerce's authentication runs its
// input through, reproduced so that the same credentials pass and fail.

// phpEmpty is PHP's empty() for a string: "" and "0" are empty.
func phpEmpty(s string) bool {
	return s == "" || s == "0"
}

// valueEmpty is empty() for a request value (arrays from a query are never
// empty).
func valueEmpty(v *phpValue) bool {
	return v == nil || (v.arr == nil && phpEmpty(v.s))
}

// addSlashes is PHP's addslashes, which WordPress applies to $_GET, $_POST
// and $_SERVER (wp_magic_quotes).
func addSlashes(s string) string {
	if !strings.ContainsAny(s, "'\"\\\x00") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			b.WriteString(`\0`)
		case '\'', '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// stripSlashes is WordPress's wp_unslash (stripslashes) for a string.
func stripSlashes(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) {
			i++
			if s[i] == '0' {
				b.WriteByte(0)
			} else {
				b.WriteByte(s[i])
			}
		}
	}
	return b.String()
}

// slashValues applies addslashes to every string of a (add_magic_quotes).
func slashValues(a *phpArray) *phpArray {
	c := a.clone()
	var walk func(*phpArray)
	walk = func(x *phpArray) {
		for _, e := range x.entries {
			if e.val.arr != nil {
				walk(e.val.arr)
				continue
			}
			e.val.s = addSlashes(e.val.s)
		}
	}
	walk(c)
	return c
}

// sanitizeKey is WordPress's sanitize_key: lower case, then only a-z, 0-9,
// '_' and '-' are kept.
func sanitizeKey(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

var (
	reTag        = regexp.MustCompile(`<[^>]*>?`)
	reWhitespace = regexp.MustCompile(`[\r\n\t ]+`)
	rePercent    = regexp.MustCompile(`(?i)%[a-f0-9]{2}`)
	reSpaces     = regexp.MustCompile(` +`)
)

// sanitizeTextField approximates WordPress's sanitize_text_field: invalid
// UTF-8 gives "", tags are stripped, runs of whitespace become one space,
// the ends are trimmed and percent-encoded octets are removed. Real
// consumer keys ("ck_" + hex) pass through unchanged.
func sanitizeTextField(s string) string {
	if !utf8.ValidString(s) {
		return ""
	}
	if strings.Contains(s, "<") {
		s = reTag.ReplaceAllString(s, "")
	}
	s = strings.TrimSpace(reWhitespace.ReplaceAllString(s, " "))
	found := false
	for rePercent.MatchString(s) {
		s = rePercent.ReplaceAllString(s, "")
		found = true
	}
	if found {
		s = strings.TrimSpace(reSpaces.ReplaceAllString(s, " "))
	}
	return s
}

// phpTimestampOutside reports whether PHP 8 finds ts outside
// [now-window, now+window] with `$ts < $lo || $ts > $hi`: numeric strings
// compare as numbers, other strings compare byte-wise with the decimal
// form of the bounds.
func phpTimestampOutside(ts string, now, window int64) bool {
	lo, hi := now-window, now+window
	if n, ok := phpNumeric(ts); ok {
		return n < float64(lo) || n > float64(hi)
	}
	return ts < strconv.FormatInt(lo, 10) || ts > strconv.FormatInt(hi, 10)
}

var reNumeric = regexp.MustCompile(`^[ \t\n\r\v\f]*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t\n\r\v\f]*$`)

// phpNumeric parses a PHP numeric string (leading and trailing whitespace,
// sign, decimals and exponent allowed).
func phpNumeric(s string) (float64, bool) {
	if !reNumeric.MatchString(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.Trim(s, " \t\n\r\v\f"), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return f, true
}

// phpTruthy is PHP's truthiness of a string.
func phpTruthy(s string) bool {
	return !phpEmpty(s)
}
