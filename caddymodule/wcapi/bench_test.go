package wcapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkServe measures the API answering from a real redis-server:
// one webhook by id, and the first page of 10 from a site of 1,000.
//
//	go test ./caddymodule/wcapi/ -run '^$' -bench Serve -benchmem
func BenchmarkServe(b *testing.B) {
	ta := newTestAPI(b)
	var id int64
	for i := 0; i < 1000; i++ {
		id = ta.create(fmt.Sprintf("hook %d", i), "order.created")
	}
	for _, bc := range []struct{ name, target string }{
		{"get", fmt.Sprintf("/wp-json/wc/v3/webhooks/%d", id)},
		{"list", "/wp-json/wc/v3/webhooks?per_page=10"},
		{"legacy-list", "/wc-api/v3/webhooks"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "http://shop.test"+bc.target, nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				ta.api.Serve(w, r, nil)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
