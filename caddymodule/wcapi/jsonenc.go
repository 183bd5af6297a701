package wcapi

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// field is one member of an ordered JSON object.
type field struct {
	Key   string
	Value any
}

// object is a JSON object that keeps its members in the order WooCommerce
// emits them.
type object []field

// MarshalJSON encodes the members in order.
func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		key, _ := json.Marshal(f.Key)
		buf.Write(key)
		buf.WriteByte(':')
		val, err := marshalPlain(f.Value)
		if err != nil {
			return nil, err
		}
		buf.Write(val)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// get returns the value of key and whether it is present.
func (o object) get(key string) (any, bool) {
	for _, f := range o {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// marshalPlain encodes v without Go's HTML escaping.
func marshalPlain(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// encodePHP encodes v as WordPress's wp_json_encode does: slashes escaped
// as `\/` and every non-ASCII character as a lower-case `\uXXXX` escape
// (surrogate pairs above the BMP), nothing else escaped.
func encodePHP(v any) ([]byte, error) {
	plain, err := marshalPlain(v)
	if err != nil {
		return nil, err
	}
	return phpEscape(plain), nil
}

// phpEscape rewrites valid JSON text into PHP's default escaping. A slash
// or a non-ASCII byte can only occur inside a string, so a byte-wise pass
// is enough.
func phpEscape(in []byte) []byte {
	out := make([]byte, 0, len(in)+len(in)/8)
	for i := 0; i < len(in); {
		c := in[i]
		if c == '/' {
			out = append(out, '\\', '/')
			i++
			continue
		}
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(in[i:])
		i += size
		if r >= 0x10000 {
			r -= 0x10000
			out = appendU(out, 0xD800+(r>>10))
			out = appendU(out, 0xDC00+(r&0x3FF))
			continue
		}
		out = appendU(out, r)
	}
	return out
}

func appendU(out []byte, r rune) []byte {
	hex := strconv.FormatInt(int64(r), 16)
	out = append(out, '\\', 'u')
	for n := len(hex); n < 4; n++ {
		out = append(out, '0')
	}
	return append(out, hex...)
}
