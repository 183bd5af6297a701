package wcapi

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMatch(t *testing.T) {
	yes := []string{
		"/wp-json/wc/v3/webhooks", "/wp-json/wc/v1/webhooks/5", "/wp-json/wc/v2/webhooks/batch",
		"/wp-json/wc/v3/webhook/5", "/wp-json/wc/v3/webhooks/", "/wc-api/v1/webhooks", "/wc-api/v3/webhooks/count",
		"/wc-api/v2/webhooks/5/deliveries/1", "/?rest_route=/wc/v3/webhooks", "/index.php?rest_route=/wc/v2/webhooks/9",
		"/?wc-api-version=3&wc-api-route=/webhooks", "/wp-json/wc/v3/Webhooks", "/wp-json/WC/V3/WEBHOOKS/5",
		"/index.php/wp-json/wc/v3/webhooks", "//wp-json/wc/v3/webhooks", "/shop/?rest_route=/wc/v3/webhooks",
		"/?rest_route=/wc/v3/Webhooks", "/wc-api/v3/Webhooks", "/?rest_route=wc/v3/webhooks",
	}
	no := []string{
		"/", "/wp-json/wc/v3/orders", "/wp-json/wc/v3/webhooksx", "/wp-json/wc/v4/webhooks", "/wp-json/wc/v3/webhook",
		"/wp-json/wp/v2/webhooks", "/wc-api/v3/orders", "/?rest_route=/wc/v3/orders", "/wp-json/wc/v3/webhooks?rest_route=/wp/v2/users",
		"/WP-JSON/wc/v3/webhooks", "/wp-json/wc/v3//webhooks",
		"/?wc-api-version=9&wc-api-route=/webhooks", "/wp-admin/admin-ajax.php", "/?p=5",
	}
	for _, target := range yes {
		assert.True(t, Match(httptest.NewRequest("GET", target, nil)), target)
	}
	for _, target := range no {
		assert.False(t, Match(httptest.NewRequest("GET", target, nil)), target)
	}
}

// BenchmarkMatchPassThrough measures the only work pass-through requests pay.
func BenchmarkMatchPassThrough(b *testing.B) {
	r := httptest.NewRequest("GET", "/shop/product/some-product/?add-to-cart=5", nil)
	b.ReportAllocs()
	for b.Loop() {
		if Match(r) {
			b.Fatal("matched")
		}
	}
}
