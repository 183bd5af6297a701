package dispatcher

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DeletedPayload is the body WooCommerce sends for a `deleted` event:
// {"id":N}.
func DeletedPayload(id int64) []byte {
	return []byte(`{"id":` + strconv.FormatInt(id, 10) + `}`)
}

// ActionPayload is the body WooCommerce sends for an action.* topic,
// {"action":"<hook>","arg":<arg>}, encoded as PHP's json_encode does by
// default: "/" as "\/", non-ASCII as lower-case \uXXXX (surrogate pairs
// above U+FFFF), floats in shortest form (integral floats without ".0").
// arg may be nil, bool, string, any integer or float, json.Number,
// json.RawMessage (re-encoded the PHP way), a slice or array, or a map
// with string keys (sorted; an empty map is "[]" like an empty PHP array);
// other values go through encoding/json first. Invalid UTF-8 becomes
// U+FFFD (WordPress repairs it similarly before encoding).
func ActionPayload(action string, arg any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"action":`)
	phpString(&b, action)
	b.WriteString(`,"arg":`)
	if err := phpValue(&b, arg, 0); err != nil {
		return nil, fmt.Errorf("dispatcher: action payload: %w", err)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

const maxDepth = 512 // PHP json_encode's default depth

func phpValue(b *bytes.Buffer, v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("nesting deeper than %d", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
		return nil
	case bool:
		b.WriteString(strconv.FormatBool(x))
		return nil
	case string:
		phpString(b, x)
		return nil
	case json.Number:
		return phpNumber(b, x)
	case json.RawMessage:
		return phpRaw(b, x, depth)
	case float64:
		return phpFloat(b, x)
	case float32:
		return phpFloat(b, float64(x))
	case []any:
		return phpList(b, len(x), func(i int) any { return x[i] }, depth)
	case map[string]any:
		return phpMap(b, x, depth)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(rv.Int(), 10))
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		b.WriteString(strconv.FormatUint(rv.Uint(), 10))
		return nil
	case reflect.Pointer:
		if rv.IsNil() {
			b.WriteString("null")
			return nil
		}
		return phpValue(b, rv.Elem().Interface(), depth+1)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			b.WriteString("[]")
			return nil
		}
		return phpList(b, rv.Len(), func(i int) any { return rv.Index(i).Interface() }, depth)
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			m := make(map[string]any, rv.Len())
			for _, k := range rv.MapKeys() {
				m[k.String()] = rv.MapIndex(k).Interface()
			}
			return phpMap(b, m, depth)
		}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return phpRaw(b, raw, depth)
}

func phpRaw(b *bytes.Buffer, raw []byte, depth int) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return fmt.Errorf("decode raw JSON: %w", err)
	}
	return phpValue(b, v, depth+1)
}

func phpList(b *bytes.Buffer, n int, at func(int) any, depth int) error {
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := phpValue(b, at(i), depth+1); err != nil {
			return err
		}
	}
	b.WriteByte(']')
	return nil
}

func phpMap(b *bytes.Buffer, m map[string]any, depth int) error {
	if len(m) == 0 {
		b.WriteString("[]")
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		phpString(b, k)
		b.WriteByte(':')
		if err := phpValue(b, m[k], depth+1); err != nil {
			return err
		}
	}
	b.WriteByte('}')
	return nil
}

func phpNumber(b *bytes.Buffer, n json.Number) error {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			b.WriteString(s)
			return nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("number %q: %w", s, err)
	}
	return phpFloat(b, f)
}

// phpFloat writes f as PHP json_encode with serialize_precision -1:
// shortest round-trip digits; exponent form "1.0e+25" when the decimal
// point would sit more than 17 digits right or more than 4 left.
func phpFloat(b *bytes.Buffer, f float64) error {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Errorf("float %v cannot be encoded", f)
	}
	if f == 0 {
		if math.Signbit(f) {
			b.WriteString("-0")
		} else {
			b.WriteString("0")
		}
		return nil
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, exps, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(exps)
	decpt := exp + 1
	if decpt < -3 || decpt > 17 {
		if !strings.Contains(mant, ".") {
			mant += ".0"
		}
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		b.WriteString(mant + "e" + sign + strconv.Itoa(exp))
		return nil
	}
	b.WriteString(strconv.FormatFloat(f, 'f', -1, 64))
	return nil
}

const hexDigits = "0123456789abcdef"

// phpString writes s as json_encode does with default flags.
func phpString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '/':
			b.WriteString(`\/`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r >= 0x80:
			if r >= 0x10000 {
				r -= 0x10000
				hex4(b, 0xd800+(r>>10))
				hex4(b, 0xdc00+(r&0x3ff))
			} else {
				hex4(b, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

func hex4(b *bytes.Buffer, r rune) {
	b.WriteString(`\u`)
	b.WriteByte(hexDigits[(r>>12)&0xf])
	b.WriteByte(hexDigits[(r>>8)&0xf])
	b.WriteByte(hexDigits[(r>>4)&0xf])
	b.WriteByte(hexDigits[r&0xf])
}
