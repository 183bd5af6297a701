package standin

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestResourceListFilters: the wc/v3 lists filter by status and dates,
// order, page and project as WooCommerce's do, and the behind-the-back
// changes move resources in and out of the trash.
func TestResourceListFilters(t *testing.T) {
	s, base, keys := setup(t)
	list := func(res string, q url.Values) ([]map[string]any, resp) {
		t.Helper()
		r := do(t, "GET", base+"/wp-json/wc/v3/"+res+"?"+q.Encode(), "", withBasic(keys["readonly"]))
		require.Equal(t, 200, r.status, r.body)
		var items []map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.body), &items))
		return items, r
	}
	ids := func(items []map[string]any) []float64 {
		var out []float64
		for _, it := range items {
			out = append(out, it["id"].(float64))
		}
		return out
	}
	a := s.CreateResource("order", "pending")
	b := s.CreateResource("order", "processing")
	c := s.CreateResource("order", "")
	require.True(t, s.TrashResource(c))
	ra, _ := s.Resource(a)
	rb, _ := s.Resource(b)

	items, r := list("orders", url.Values{"orderby": {"id"}, "order": {"asc"}})
	assert.Equal(t, []float64{float64(a), float64(b)}, ids(items), "the trash is left out")
	assert.Equal(t, "2", r.header.Get("X-WP-Total"))
	items, _ = list("orders", url.Values{"status": {"trash"}, "_fields": {"id"}})
	assert.Equal(t, []map[string]any{{"id": float64(c)}}, items, "status=trash, _fields=id")

	gmt := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }
	items, _ = list("orders", url.Values{"modified_after": {gmt(ra.Modified)}, "dates_are_gmt": {"true"}})
	assert.Equal(t, []float64{float64(b)}, ids(items), "modified_after is exclusive, in GMT")
	local := ra.Modified.In(storeZone).Format("2006-01-02T15:04:05")
	items, _ = list("orders", url.Values{"modified_after": {local}})
	assert.Equal(t, []float64{float64(b)}, ids(items), "without dates_are_gmt the date is the shop's local time")
	items, _ = list("orders", url.Values{"modified_before": {gmt(rb.Modified)}, "dates_are_gmt": {"true"}})
	assert.Equal(t, []float64{float64(a)}, ids(items))

	require.True(t, s.TouchResource(a, "completed"))
	items, r = list("orders", url.Values{"orderby": {"modified"}, "order": {"asc"}, "per_page": {"1"}, "page": {"2"}})
	assert.Equal(t, []float64{float64(a)}, ids(items), "modified order, paged")
	assert.Equal(t, "2", r.header.Get("X-WP-TotalPages"))

	require.True(t, s.RestoreResource(c))
	rc, _ := s.Resource(c)
	assert.Equal(t, "pending", rc.Status, "restored to its status before the trash")
	assert.False(t, s.RestoreResource(c), "not in the trash")
	require.True(t, s.DeleteResource(c))
	_, ok := s.Resource(c)
	assert.False(t, ok)

	r = do(t, "GET", base+"/wp-json/wc/v3/orders?per_page=101", "", withBasic(keys["readonly"]))
	assert.Equal(t, 400, r.status)
	r = do(t, "GET", base+"/wp-json/wc/v3/orders?modified_after=yesterday", "", withBasic(keys["readonly"]))
	assert.Equal(t, 400, r.status)

	p := s.CreateResource("product", "publish")
	cu := s.CreateResource("customer", "")
	items, _ = list("products", nil)
	assert.Equal(t, []float64{float64(p)}, ids(items))
	items, _ = list("customers", url.Values{"orderby": {"registered_date"}, "order": {"desc"}})
	assert.Equal(t, []float64{float64(cu)}, ids(items))
	assert.Equal(t, "customer", items[0]["role"])
}
