package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// BenchmarkListPage lists one page of 10 from sites holding 100 and 10,000
// webhooks; similar ns/op for both sizes shows the O(log n + page) cost.
// "first" is the default REST request (date created, descending); "deep" is
// a page in the middle ordered by name.
func BenchmarkListPage(b *testing.B) {
	ctx := context.Background()
	s, _, _ := newSite(b, "bench")
	for _, n := range []int{100, 10000} {
		site, err := s.Site(fmt.Sprintf("bench-%d", n))
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			w := sampleWebhook(fmt.Sprintf("Webhook %d", (i*7919)%n))
			w.Created = refBase.Add(time.Duration(i%1000) * time.Second)
			if err := site.CreateWebhook(ctx, w); err != nil {
				b.Fatal(err)
			}
		}
		for _, c := range []struct {
			name string
			q    redisstore.ListQuery
		}{
			{"first", redisstore.ListQuery{Limit: 10, Desc: true}},
			{"deep", redisstore.ListQuery{Limit: 10, Offset: n / 2, OrderBy: redisstore.OrderByName}},
		} {
			b.Run(fmt.Sprintf("n=%d/%s", n, c.name), func(b *testing.B) {
				for b.Loop() {
					res, err := site.ListWebhooks(ctx, c.q)
					if err != nil || len(res.Items) != 10 || res.Total != n {
						b.Fatalf("list: %d items of %d, %v", len(res.Items), res.Total, err)
					}
				}
			})
		}
	}
}
