package wcapi

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// TestDocsExamples checks every response example of WooCommerce's published
// webhooks documentation (legacy v2, wc/v1, wc/v2; testdata holds the JSON
// blocks taken from those pages) against what the API answers for the same
// request: the same members, recursively, with the same JSON types. Values
// (ids, dates, URLs, hook lists) differ by nature and are not compared.
func TestDocsExamples(t *testing.T) {
	raw, err := os.ReadFile("testdata/docs_examples.json")
	require.NoError(t, err)
	var examples map[string]any
	require.NoError(t, json.Unmarshal(raw, &examples))

	ta := newTestAPI(t)
	id := ta.create("Order updated", "order.updated")
	other := ta.create("Coupon created", "coupon.created")
	ta.do("PUT", fmt.Sprintf("/wp-json/wc/v3/webhooks/%d", id), `{"name":"Order updated"}`)
	ta.do("PUT", fmt.Sprintf("/wp-json/wc/v3/webhooks/%d", other), `{"name":"Coupon created"}`)
	d := &redisstore.Delivery{WebhookID: id, Duration: "0.5", Summary: "HTTP 200 OK: ok", RequestMethod: "POST",
		RequestURL: "http://r.example/", RequestHeaders: map[string]string{"X-WC-Webhook-ID": fmt.Sprint(id)},
		RequestBody: "{}", ResponseCode: "200", ResponseMessage: "OK", ResponseHeaders: map[string]string{"server": "x"},
		ResponseBody: "ok", Created: time.Now()}
	require.NoError(t, ta.site.AppendDelivery(t.Context(), d, 25))

	item := func(prefix string) string { return fmt.Sprintf("%s/webhooks/%d", prefix, id) }
	requests := map[string]func() response{
		"legacy_v2 | Create A Webhook": func() response {
			return ta.do("POST", "/wc-api/v2/webhooks", `{"webhook":{"topic":"action.woocommerce_add_to_cart","delivery_url":"http://requestb.in/1exdwip1"}}`)
		},
		"legacy_v2 | View A Webhook":                   func() response { return ta.do("GET", item("/wc-api/v2"), "") },
		"legacy_v2 | View List Of Webhooks":            func() response { return ta.do("GET", "/wc-api/v2/webhooks", "") },
		"legacy_v2 | Update A Webhook":                 func() response { return ta.do("PUT", item("/wc-api/v2"), `{"webhook":{"secret":"x"}}`) },
		"legacy_v2 | View Webhooks Count":              func() response { return ta.do("GET", "/wc-api/v2/webhooks/count", "") },
		"legacy_v2 | View A Webhooks Delivery":         func() response { return ta.do("GET", fmt.Sprintf("%s/deliveries/%d", item("/wc-api/v2"), d.ID), "") },
		"legacy_v2 | View List Of Webhooks Deliveries": func() response { return ta.do("GET", item("/wc-api/v2")+"/deliveries", "") },
		"wc_v1 | Create a Webhook": func() response {
			return ta.do("POST", "/wp-json/wc/v1/webhooks", `{"topic":"order.updated","delivery_url":"http://requestb.in/1g0sxmo1"}`)
		},
		"wc_v1 | View a Webhook":        func() response { return ta.do("GET", item("/wp-json/wc/v1"), "") },
		"wc_v1 | View List of Webhooks": func() response { return ta.do("GET", "/wp-json/wc/v1/webhooks", "") },
		"wc_v1 | Update a Webhook":      func() response { return ta.do("PUT", item("/wp-json/wc/v1"), `{"status":"active"}`) },
		"wc_v1 | View a Webhooks Delivery": func() response {
			return ta.do("GET", fmt.Sprintf("%s/deliveries/%d", item("/wp-json/wc/v1"), d.ID), "")
		},
		"wc_v1 | View List of Webhooks Deliveries": func() response { return ta.do("GET", item("/wp-json/wc/v1")+"/deliveries", "") },
		"wc_v2 | Create a webhook": func() response {
			return ta.do("POST", "/wp-json/wc/v2/webhooks", `{"topic":"order.updated","delivery_url":"http://requestb.in/1g0sxmo1"}`)
		},
		"wc_v2 | Retrieve a webhook": func() response { return ta.do("GET", item("/wp-json/wc/v2"), "") },
		"wc_v2 | List all webhooks":  func() response { return ta.do("GET", "/wp-json/wc/v2/webhooks", "") },
		"wc_v2 | Update a webhook":   func() response { return ta.do("PUT", item("/wp-json/wc/v2"), `{"status":"active"}`) },
		"wc_v2 | Retrieve webhook delivery": func() response {
			return ta.do("GET", fmt.Sprintf("%s/deliveries/%d", item("/wp-json/wc/v2"), d.ID), "")
		},
		"wc_v2 | List all webhook deliveries": func() response { return ta.do("GET", item("/wp-json/wc/v2")+"/deliveries", "") },
		"wc_v2 | Batch update webhooks": func() response {
			return ta.do("POST", "/wp-json/wc/v2/webhooks/batch", fmt.Sprintf(`{"create":[{"topic":"coupon.created","delivery_url":"http://r.example/"}],"delete":[%d]}`, other))
		},
		// Deletes last: the examples above need the webhook.
		"wc_v1 | Delete a Webhook": func() response {
			return ta.do("DELETE", fmt.Sprintf("/wp-json/wc/v1/webhooks/%d?force=true", ta.create("a", "order.created")), "")
		},
		"wc_v2 | Delete a webhook": func() response {
			return ta.do("DELETE", fmt.Sprintf("/wp-json/wc/v2/webhooks/%d?force=true", ta.create("b", "order.created")), "")
		},
		"legacy_v2 | Delete A Webhook": func() response { return ta.do("DELETE", item("/wc-api/v2"), "") },
	}
	names := make([]string, 0, len(examples))
	for name := range examples {
		names = append(names, name)
	}
	sort.Strings(names)
	require.Len(t, requests, len(examples), "every documented example has a request")
	order := append([]string{}, names...)
	sort.SliceStable(order, func(i, j int) bool { return !isDelete(order[i]) && isDelete(order[j]) })
	for _, name := range order {
		send, ok := requests[name]
		require.True(t, ok, "no request for example %q", name)
		res := send()
		require.Less(t, res.status, 300, "%s: %s", name, res.body)
		var got any
		require.NoError(t, json.Unmarshal([]byte(res.body), &got), name)
		assertSameShape(t, name, examples[name], got)
	}
}

func isDelete(name string) bool {
	return name == "wc_v1 | Delete a Webhook" || name == "wc_v2 | Delete a webhook" || name == "legacy_v2 | Delete A Webhook"
}

// freeForm members hold maps whose keys vary from one delivery to another.
var freeForm = map[string]bool{"request_headers": true, "response_headers": true}

// extraMembers are members we add on purpose beyond the examples.
var extraMembers = map[string]bool{"targetHints": true}

// assertSameShape compares two decoded JSON values member by member. null
// on either side matches any type (never-set dates); lists compare their
// first items.
func assertSameShape(t *testing.T, path string, want, got any) {
	t.Helper()
	if want == nil || got == nil {
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !assert.True(t, ok, "%s: want an object, got %T", path, got) {
			return
		}
		for k, wv := range w {
			gv, present := g[k]
			if !assert.True(t, present, "%s: member %q missing", path, k) {
				continue
			}
			if !freeForm[k] {
				assertSameShape(t, path+"."+k, wv, gv)
			}
		}
		for k := range g {
			_, documented := w[k]
			assert.True(t, documented || extraMembers[k], "%s: member %q is not documented", path, k)
		}
	case []any:
		g, ok := got.([]any)
		if !assert.True(t, ok, "%s: want a list, got %T", path, got) {
			return
		}
		if len(w) > 0 && len(g) > 0 {
			assertSameShape(t, path+"[0]", w[0], g[0])
		}
	default:
		assert.IsType(t, want, got, "%s: type", path)
	}
}
