package wcevents

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// meta is what the rules need of one resource item.
type meta struct {
	id        int64
	status    string
	modified  string // UTC "YYYY-MM-DDTHH:MM:SS"
	role      string
	failed    bool   // a batch entry with an "error" member
	created   string // legacy created_at
	updatedAt string // legacy updated_at
}

// parseMeta reads the members of an item object; members of unexpected
// types are ignored. It fails when raw is not a JSON object.
func parseMeta(raw []byte) (meta, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return meta{}, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return meta{}, false
	}
	out := meta{
		id:        number(m["id"]),
		status:    text(m["status"]),
		role:      text(m["role"]),
		created:   text(m["created_at"]),
		updatedAt: text(m["updated_at"]),
	}
	if e, ok := m["error"]; ok && !bytes.Equal(bytes.TrimSpace(e), []byte("null")) {
		out.failed = true
	}
	for _, k := range []string{"date_modified_gmt", "updated_at", "last_update", "date_modified"} {
		if v := utcStamp(text(m[k])); v != "" {
			out.modified = v
			break
		}
	}
	return out, true
}

// Modified returns the UTC modification stamp of a REST item or a legacy
// wrapped item ({"order":{...}}), "" when it has none.
func Modified(item []byte, resource string) string {
	m, _ := itemMeta(item, resource)
	return m.modified
}

// Status returns the status member of a REST item or a legacy wrapped item.
func Status(item []byte, resource string) string {
	m, _ := itemMeta(item, resource)
	return m.status
}

// itemMeta parses a REST item, or the item inside a legacy wrapper
// ({"order":{...}}) when the outer object has no id.
func itemMeta(item []byte, resource string) (meta, bool) {
	m, ok := parseMeta(item)
	if ok && m.id == 0 && resource != "" {
		m, ok = parseMeta(unwrap(item, resource))
	}
	return m, ok
}

// number reads a JSON integer (or a string of digits, as PHP may emit).
func number(raw json.RawMessage) int64 {
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0
		}
		n = json.Number(s)
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// text reads a JSON string, "" for anything else.
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// utcStamp normalises "YYYY-MM-DDTHH:MM:SS" with an optional "Z" to the
// form without it; anything else gives "".
func utcStamp(s string) string {
	s = strings.TrimSuffix(s, "Z")
	if len(s) != len("2006-01-02T15:04:05") || s[10] != 'T' {
		return ""
	}
	return s
}

// EmptyObjectsToArrays rewrites every empty JSON object {} outside strings
// as [], as WooCommerce's JSON round trip of REST payloads does (decoded to
// PHP arrays, re-encoded). Other bytes are kept; b is not modified.
func EmptyObjectsToArrays(b []byte) []byte {
	var out []byte
	inString, escaped := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			continue
		}
		if c != '{' {
			continue
		}
		j := i + 1
		for j < len(b) && (b[j] == ' ' || b[j] == '\n' || b[j] == '\r' || b[j] == '\t') {
			j++
		}
		if j < len(b) && b[j] == '}' {
			if out == nil {
				out = append([]byte(nil), b...)
			}
			out[i], out[j] = '[', ']'
		}
	}
	if out == nil {
		return b
	}
	return out
}
