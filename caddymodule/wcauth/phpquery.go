package wcauth

import (
	"bytes"
	"net/url"
	"strconv"
	"strings"
)

// PHP's default input limits (php.ini max_input_vars, max_input_nesting_level).
const (
	phpMaxInputVars    = 1000
	phpMaxInputNesting = 64
)

// ParsePHPQuery parses a raw query string the way PHP fills $_GET, and
// flattens the result to url.Values with one entry per PHP value:
//
//   - pairs are split on '&' (empty pairs skipped), names and values are
//     url-decoded with '+' as space; a pair without '=' has the value "";
//   - a repeated name keeps the last value ("a=1&a=2" gives a: [2]);
//   - leading spaces of a name are dropped, '.' and ' ' in the base name
//     become '_', a name is cut at a NUL byte, empty names are skipped;
//   - brackets build PHP arrays: "a[]=1&a[]=2" and "a[0]=1&a[1]=2" both give
//     a: [1 2] (an array whose keys are 0..n-1 and whose values are all
//     scalars is one multi-valued entry under its own name); "a[x]=1" gives
//     "a[x]": [1], "a[x][y]=1" gives "a[x][y]": [1], and "a[x][]=1&a[x][]=2"
//     gives "a[x]": [1 2];
//   - an unclosed bracket is not an array: "a[b" gives "a_b" (PHP 8);
//     text after the last ']' is ignored ("a[b]c=1" gives "a[b]");
//   - a scalar later overwritten by an array (or the reverse) keeps the
//     later one, as PHP does;
//   - at most 1000 pairs and 64 levels of nesting are read (PHP's defaults);
//     a name nested deeper drops the whole variable.
//
// It never panics.
func ParsePHPQuery(rawQuery string) url.Values {
	out := url.Values{}
	for _, e := range parsePHPQueryTree(rawQuery).entries {
		flattenPHP(out, e.key.String(), e.val)
	}
	return out
}

// flattenPHP adds v to out under name (see ParsePHPQuery).
func flattenPHP(out url.Values, name string, v *phpValue) {
	if v.arr == nil {
		out[name] = []string{v.s}
		return
	}
	if vals, ok := v.arr.scalarList(); ok {
		if len(vals) > 0 {
			out[name] = vals
		}
		return
	}
	for _, e := range v.arr.entries {
		flattenPHP(out, name+"["+e.key.String()+"]", e.val)
	}
}

// phpKey is a PHP array key: an integer or a string.
type phpKey struct {
	isInt bool
	i     int64
	s     string
}

// String returns the key as PHP converts it to a string.
func (k phpKey) String() string {
	if k.isInt {
		return strconv.FormatInt(k.i, 10)
	}
	return k.s
}

// symKey turns a string into a PHP array key: canonical decimal integers
// become integer keys (ZEND_HANDLE_NUMERIC_STR).
func symKey(s string) phpKey {
	if s == "" || len(s) > 20 || s == "-0" {
		return phpKey{s: s}
	}
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || (digits[0] == '0' && len(digits) > 1) {
		return phpKey{s: s}
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return phpKey{s: s}
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return phpKey{s: s}
	}
	return phpKey{isInt: true, i: n}
}

// phpValue is a PHP string or array (arr != nil).
type phpValue struct {
	s   string
	arr *phpArray
}

// phpEntry is one key/value pair of a phpArray.
type phpEntry struct {
	key phpKey
	val *phpValue
}

// phpArray is an ordered PHP array.
type phpArray struct {
	entries []phpEntry
	index   map[phpKey]int
	next    int64
	hasNext bool
}

func newPHPArray() *phpArray {
	return &phpArray{index: map[phpKey]int{}}
}

func (a *phpArray) get(k phpKey) (*phpValue, bool) {
	i, ok := a.index[k]
	if !ok {
		return nil, false
	}
	return a.entries[i].val, true
}

// set updates k in place or appends it.
func (a *phpArray) set(k phpKey, v *phpValue) {
	if k.isInt && (!a.hasNext || k.i >= a.next) {
		a.hasNext = true
		a.next = k.i
		if k.i < 1<<63-1 {
			a.next = k.i + 1
		}
	}
	if i, ok := a.index[k]; ok {
		a.entries[i].val = v
		return
	}
	a.index[k] = len(a.entries)
	a.entries = append(a.entries, phpEntry{key: k, val: v})
}

// push appends v under the next free integer key ($a[] = v); false when
// there is none.
func (a *phpArray) push(v *phpValue) bool {
	k := phpKey{isInt: true}
	if a.hasNext {
		k.i = a.next
	}
	if _, taken := a.index[k]; taken {
		return false
	}
	a.set(k, v)
	return true
}

func (a *phpArray) del(k phpKey) {
	i, ok := a.index[k]
	if !ok {
		return
	}
	a.entries = append(a.entries[:i], a.entries[i+1:]...)
	delete(a.index, k)
	for j := i; j < len(a.entries); j++ {
		a.index[a.entries[j].key] = j
	}
}

// scalarList returns the values when a is a list (keys 0..n-1 in order) of
// strings.
func (a *phpArray) scalarList() ([]string, bool) {
	out := make([]string, 0, len(a.entries))
	for i, e := range a.entries {
		if !e.key.isInt || e.key.i != int64(i) || e.val.arr != nil {
			return nil, false
		}
		out = append(out, e.val.s)
	}
	return out, true
}

// str returns the string value of top-level key k ("" and false when absent
// or an array).
func (a *phpArray) str(k string) (string, bool) {
	v, ok := a.get(symKey(k))
	if !ok || v.arr != nil {
		return "", false
	}
	return v.s, true
}

// clone copies a deeply.
func (a *phpArray) clone() *phpArray {
	c := newPHPArray()
	c.next, c.hasNext = a.next, a.hasNext
	for _, e := range a.entries {
		v := &phpValue{s: e.val.s}
		if e.val.arr != nil {
			v.arr = e.val.arr.clone()
		}
		c.index[e.key] = len(c.entries)
		c.entries = append(c.entries, phpEntry{key: e.key, val: v})
	}
	return c
}

// phpArrayMerge is PHP's array_merge: integer keys are renumbered and
// appended, string keys overwrite in place.
func phpArrayMerge(arrays ...*phpArray) *phpArray {
	out := newPHPArray()
	for _, a := range arrays {
		for _, e := range a.entries {
			if e.key.isInt {
				out.push(e.val)
				continue
			}
			out.set(e.key, e.val)
		}
	}
	return out
}

// parsePHPQueryTree parses rawQuery as PHP's php_default_treat_data does for
// $_GET (and the urlencoded $_POST handler, which splits the same way).
func parsePHPQueryTree(rawQuery string) *phpArray {
	out := newPHPArray()
	count := 0
	for pair := range strings.SplitSeq(rawQuery, "&") {
		if pair == "" {
			continue
		}
		count++
		if count > phpMaxInputVars {
			break
		}
		name, value, _ := strings.Cut(pair, "=")
		name = phpURLDecode(name)
		if i := strings.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		phpRegisterVariable(out, name, phpURLDecode(value))
	}
	return out
}

// isCSpace is C's isspace.
func isCSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

// phpRegisterVariable is php_register_variable_ex for one name/value pair.
func phpRegisterVariable(track *phpArray, varName, val string) {
	orig := strings.TrimLeft(varName, " ")
	b := []byte(orig)
	ip := -1
	for i, c := range b {
		if c == ' ' || c == '.' {
			b[i] = '_'
		} else if c == '[' {
			ip = i
			break
		}
	}
	varLen := len(b)
	if ip >= 0 {
		varLen = ip
	}
	base := string(b[:varLen])
	for _, p := range []string{"__Host-", "__Secure-"} {
		if strings.HasPrefix(base, p) && !strings.HasPrefix(orig, p) {
			return
		}
	}
	if varLen == 0 {
		return
	}
	value := &phpValue{s: val}
	sym := track
	index, hasIndex := base, true
	if ip < 0 {
		phpStore(sym, index, hasIndex, value)
		return
	}
	for nest := 1; ; nest++ {
		if nest > phpMaxInputNesting {
			track.del(symKey(base))
			return
		}
		ip++
		indexS := ip
		if ip < len(b) && isCSpace(b[ip]) {
			ip++
		}
		newIndex, newHas := "", true
		if ip < len(b) && b[ip] == ']' {
			newHas = false
		} else {
			j := bytes.IndexByte(b[ip:], ']')
			if j < 0 {
				// Not an index: the '[' becomes '_' and, at the first
				// level, the rest belongs to the variable name.
				if nest == 1 {
					rest := []byte(string(b[indexS:]))
					for k, c := range rest {
						if c == ' ' || c == '.' || c == '[' {
							rest[k] = '_'
						}
					}
					index = base + "_" + string(rest)
				}
				phpStore(sym, index, hasIndex, value)
				return
			}
			ip += j
			newIndex = string(b[indexS:ip])
		}
		sym = phpDescend(sym, index, hasIndex)
		if sym == nil {
			return
		}
		index, hasIndex = newIndex, newHas
		ip++
		if ip >= len(b) || b[ip] != '[' {
			phpStore(sym, index, hasIndex, value)
			return
		}
	}
}

// phpDescend returns the array under index in sym, creating it (or
// replacing a string) as PHP does; nil when no key is free for "[]".
func phpDescend(sym *phpArray, index string, hasIndex bool) *phpArray {
	if !hasIndex {
		child := newPHPArray()
		if !sym.push(&phpValue{arr: child}) {
			return nil
		}
		return child
	}
	k := symKey(index)
	if v, ok := sym.get(k); ok {
		if v.arr == nil {
			v.arr, v.s = newPHPArray(), ""
		}
		return v.arr
	}
	child := newPHPArray()
	sym.set(k, &phpValue{arr: child})
	return child
}

// phpStore stores value under index (or appends it when there is none).
func phpStore(sym *phpArray, index string, hasIndex bool, value *phpValue) {
	if !hasIndex {
		sym.push(value)
		return
	}
	sym.set(symKey(index), value)
}

// phpURLDecode is PHP's urldecode: '+' is a space, valid %XX escapes are
// decoded, anything else is kept.
func phpURLDecode(s string) string {
	return phpDecode(s, true)
}

// phpRawURLDecode is PHP's rawurldecode ('+' stays).
func phpRawURLDecode(s string) string {
	return phpDecode(s, false)
}

func phpDecode(s string, plus bool) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var out strings.Builder
	out.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+' && plus:
			out.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			out.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			out.WriteByte(c)
		}
	}
	return out.String()
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// phpRawURLEncode is PHP's rawurlencode (RFC 3986: A-Z a-z 0-9 - _ . ~ kept).
func phpRawURLEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var out strings.Builder
	out.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '-' || c == '_' || c == '.' || c == '~' {
			out.WriteByte(c)
			continue
		}
		out.WriteByte('%')
		out.WriteByte(hexDigits[c>>4])
		out.WriteByte(hexDigits[c&15])
	}
	return out.String()
}
