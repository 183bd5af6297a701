package wcapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// restParams are the parameters of a WP REST request, looked up with
// WordPress's precedence: JSON body, form body, query string, route
// captures.
type restParams struct {
	json  map[string]any
	form  url.Values
	query url.Values
	route map[string]any
}

// get returns the parameter key from the first source that has it. A JSON
// null counts as absent, as in WordPress.
func (p *restParams) get(key string) (any, bool) {
	if v, ok := p.json[key]; ok {
		return v, v != nil
	}
	if v, ok := phpQueryValue(p.form, key); ok {
		return v, true
	}
	if v, ok := phpQueryValue(p.query, key); ok {
		return v, true
	}
	v, ok := p.route[key]
	return v, ok
}

// argType is the JSON-schema type of a REST argument.
type argType int

const (
	typeString argType = iota
	typeInteger
	typeBoolean
	typeIntList
)

// argSpec is one registered REST argument, in registration order.
type argSpec struct {
	name     string
	typ      argType
	enum     []string
	min, max *int64
	dateTime bool
	required bool
}

func intPtr(v int64) *int64 { return &v }

// listArgs are the collection parameters of GET /webhooks, in WooCommerce's
// registration order.
var listArgs = []argSpec{
	{name: "context", typ: typeString, enum: []string{"view", "edit"}},
	{name: "page", typ: typeInteger, min: intPtr(1)},
	{name: "per_page", typ: typeInteger, min: intPtr(1), max: intPtr(100)},
	{name: "search", typ: typeString},
	{name: "after", typ: typeString, dateTime: true},
	{name: "before", typ: typeString, dateTime: true},
	{name: "exclude", typ: typeIntList},
	{name: "include", typ: typeIntList},
	{name: "offset", typ: typeInteger},
	{name: "order", typ: typeString, enum: []string{"asc", "desc"}},
	{name: "orderby", typ: typeString, enum: []string{"date", "id", "title"}},
	{name: "status", typ: typeString, enum: []string{"all", "active", "paused", "disabled"}},
}

var statusEnum = []string{"active", "paused", "disabled"}

// createArgs are the arguments of POST /webhooks.
var createArgs = []argSpec{
	{name: "name", typ: typeString},
	{name: "status", typ: typeString, enum: statusEnum},
	{name: "topic", typ: typeString, required: true},
	{name: "secret", typ: typeString},
	{name: "delivery_url", typ: typeString, required: true},
}

// editArgs are the arguments of update and of the batch route itself.
var editArgs = []argSpec{
	{name: "name", typ: typeString},
	{name: "status", typ: typeString, enum: statusEnum},
	{name: "topic", typ: typeString},
	{name: "secret", typ: typeString},
}

// contextArgs are the arguments of single-item reads.
var contextArgs = []argSpec{
	{name: "context", typ: typeString, enum: []string{"view", "edit"}},
}

// deleteArgs are the arguments of DELETE /webhooks/<id>.
var deleteArgs = []argSpec{
	{name: "force", typ: typeBoolean},
}

// validate checks params against specs as WordPress does before a
// controller runs: missing required parameters first, then each present
// parameter's type, enum, range and format.
func validate(p *restParams, specs []argSpec) *apiError {
	var missing []string
	for _, s := range specs {
		if _, ok := p.get(s.name); s.required && !ok {
			missing = append(missing, s.name)
		}
	}
	if len(missing) > 0 {
		e := newError(http.StatusBadRequest, "rest_missing_callback_param",
			"Missing parameter(s): "+strings.Join(missing, ", "))
		e.Data = object{{"params", missing}}
		return e
	}
	var names []string
	var params, details object
	for _, s := range specs {
		v, ok := p.get(s.name)
		if !ok {
			continue
		}
		code, msg := checkArg(s, v)
		if code == "" {
			continue
		}
		names = append(names, s.name)
		params = append(params, field{s.name, msg})
		var data any
		if code == "rest_invalid_type" {
			data = object{{"param", s.name}}
		}
		details = append(details, field{s.name, object{{"code", code}, {"message", msg}, {"data", data}}})
	}
	if len(names) == 0 {
		return nil
	}
	e := newError(http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): "+strings.Join(names, ", "))
	e.Data = object{{"params", params}, {"details", details}}
	return e
}

// checkArg validates one value; it returns WordPress's error code and
// message, or "" when the value is valid.
func checkArg(s argSpec, v any) (code, msg string) {
	switch s.typ {
	case typeString:
		str, ok := v.(string)
		if !ok {
			return "rest_invalid_type", fmt.Sprintf("%s is not of type string.", s.name)
		}
		if s.enum != nil && !contains(s.enum, str) {
			return "rest_not_in_enum", fmt.Sprintf("%s is not one of %s.", s.name, joinList(s.enum))
		}
		if s.dateTime && !rfc3339Like.MatchString(str) {
			return "rest_invalid_date", "Invalid date."
		}
	case typeInteger:
		n, ok := toInteger(v)
		if !ok {
			return "rest_invalid_type", fmt.Sprintf("%s is not of type integer.", s.name)
		}
		return checkRange(s, n)
	case typeBoolean:
		if _, ok := toBoolean(v); !ok {
			return "rest_invalid_type", fmt.Sprintf("%s is not of type boolean.", s.name)
		}
	case typeIntList:
		for i, item := range toList(v) {
			if _, ok := toInteger(item); !ok {
				return "rest_invalid_type", fmt.Sprintf("%s[%d] is not of type integer.", s.name, i)
			}
		}
	}
	return "", ""
}

func checkRange(s argSpec, n int64) (code, msg string) {
	switch {
	case s.min != nil && s.max != nil && (n < *s.min || n > *s.max):
		return "rest_out_of_bounds", fmt.Sprintf("%s must be between %d (inclusive) and %d (inclusive)", s.name, *s.min, *s.max)
	case s.min != nil && n < *s.min:
		return "rest_out_of_bounds", fmt.Sprintf("%s must be greater than or equal to %d", s.name, *s.min)
	}
	return "", ""
}

// rfc3339Like is WordPress's rest_parse_date pattern.
var rfc3339Like = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}(:?\d{2})?)?$`)

// parseRESTDate parses a date WordPress accepted; without an offset the
// time is read as UTC (the column it filters is GMT).
func parseRESTDate(s string) (time.Time, bool) {
	m := rfc3339Like.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	layout := "2006-01-02T15:04:05"
	norm := m[1] + "-" + m[2] + "-" + m[3] + "T" + m[4] + ":" + m[5] + ":" + m[6] + m[7]
	zone := strings.ToUpper(m[8])
	switch {
	case zone == "" || zone == "Z":
		t, err := time.ParseInLocation(layout, norm, time.UTC)
		return t, err == nil
	default:
		if !strings.Contains(zone, ":") {
			if len(zone) == 3 {
				zone += "00"
			}
			zone = zone[:3] + ":" + zone[3:]
		}
		t, err := time.Parse(layout+"Z07:00", norm+zone)
		return t.UTC(), err == nil
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// joinList joins values as WordPress's wp_sprintf_l: "a and b", "a, b, and c".
func joinList(v []string) string {
	switch len(v) {
	case 0:
		return ""
	case 1:
		return v[0]
	case 2:
		return v[0] + " and " + v[1]
	}
	return strings.Join(v[:len(v)-1], ", ") + ", and " + v[len(v)-1]
}

// toInteger accepts what rest_is_integer accepts: integers, and numeric
// strings or floats with no fractional part. Values beyond int64 saturate,
// as PHP's (int) cast does.
func toInteger(v any) (int64, bool) {
	var text string
	switch t := v.(type) {
	case json.Number:
		text = t.String()
	case string:
		text = strings.TrimSpace(t)
	case float64:
		text = strconv.FormatFloat(t, 'g', -1, 64)
	case int64:
		return t, true
	case int:
		return int64(t), true
	default:
		return 0, false
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(text, 64)
	if text == "" || (err != nil && !errors.Is(err, strconv.ErrRange)) || math.IsNaN(f) || f != math.Trunc(f) {
		return 0, false
	}
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64, true
	case f <= math.MinInt64:
		return math.MinInt64, true
	}
	return int64(f), true
}

// toBoolean accepts what rest_is_boolean accepts.
func toBoolean(v any) (bool, bool) {
	switch t := v.(type) {
	case bool:
		return t, true
	case json.Number:
		switch t.String() {
		case "0":
			return false, true
		case "1":
			return true, true
		}
	case string:
		switch strings.ToLower(t) {
		case "false", "0", "":
			return false, true
		case "true", "1":
			return true, true
		}
	}
	return false, false
}

// toList turns a list parameter into its items: a JSON or PHP array as it
// is, a string split on commas and spaces (wp_parse_list).
func toList(v any) []any {
	switch t := v.(type) {
	case []any:
		return t
	case string:
		var out []any
		for _, part := range strings.FieldsFunc(t, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
			out = append(out, part)
		}
		return out
	case nil:
		return nil
	}
	return []any{v}
}

// idList parses a validated list as wp_parse_id_list does: absint, unique,
// in first-seen order.
func idList(v any) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, item := range toList(v) {
		n, _ := toInteger(item)
		if n < 0 {
			n = -n
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// phpString converts a scalar parameter to the string PHP would see and
// reports whether it is non-empty in PHP's sense (not "", "0", null, false).
func phpString(v any) (string, bool) {
	var s string
	switch t := v.(type) {
	case nil:
		return "", false
	case string:
		s = t
	case json.Number:
		s = t.String()
	case bool:
		if !t {
			return "", false
		}
		s = "1"
	case []any:
		return "", len(t) > 0
	default:
		return "", false
	}
	return s, s != "" && s != "0"
}
