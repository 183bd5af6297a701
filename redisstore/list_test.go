package redisstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

var (
	refBase     = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	refNames    = []string{"Alpha", "alpha", "ALPHA beta", "beta", "Beta hook", "gamma", "Ärger", "ärger", "Order created", "order", "", "zeta", "Z"}
	refStatuses = []string{redisstore.StatusActive, redisstore.StatusPaused, redisstore.StatusDisabled}
)

// randTime picks one of few instants (so ties are common), sometimes with a
// microsecond part.
func randTime(r *rand.Rand) time.Time {
	t := refBase.Add(time.Duration(r.IntN(40)) * time.Hour)
	if r.IntN(4) == 0 {
		t = t.Add(time.Duration(r.IntN(3)) * time.Microsecond)
	}
	return t
}

func randName(r *rand.Rand) string {
	n := refNames[r.IntN(len(refNames))]
	if r.IntN(3) == 0 {
		n += fmt.Sprintf(" %d", r.IntN(5))
	}
	return n
}

// refList is the brute-force reference for ListWebhooks.
func refList(all map[int64]redisstore.Webhook, q redisstore.ListQuery) redisstore.ListResult {
	incl := map[int64]bool{}
	for _, id := range q.Include {
		incl[id] = true
	}
	var match []redisstore.Webhook
	for _, w := range all {
		mod := w.Modified
		if mod.IsZero() {
			mod = time.Unix(0, 0)
		}
		switch {
		case q.Status != "" && q.Status != "all" && w.Status != q.Status:
		case len(q.Include) > 0 && !incl[w.ID]:
		case slices.Contains(q.Exclude, w.ID):
		case q.Search != "" && !strings.Contains(strings.ToLower(w.Name), strings.ToLower(q.Search)):
		case q.CreatedAfter != nil && w.Created.Before(*q.CreatedAfter):
		case q.CreatedBefore != nil && w.Created.After(*q.CreatedBefore):
		case q.ModifiedAfter != nil && mod.Before(*q.ModifiedAfter):
		case q.ModifiedBefore != nil && mod.After(*q.ModifiedBefore):
		default:
			match = append(match, w)
		}
	}
	slices.SortFunc(match, func(a, b redisstore.Webhook) int {
		var c int
		switch q.OrderBy {
		case redisstore.OrderByCreated, "":
			c = a.Created.Compare(b.Created)
		case redisstore.OrderByModified:
			ma, mb := a.Modified, b.Modified
			if ma.IsZero() {
				ma = time.Unix(0, 0)
			}
			if mb.IsZero() {
				mb = time.Unix(0, 0)
			}
			c = ma.Compare(mb)
		case redisstore.OrderByName:
			c = strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		}
		if c == 0 {
			c = int(a.ID - b.ID)
		}
		if q.Desc {
			c = -c
		}
		return c
	})
	res := redisstore.ListResult{Total: len(match), Items: []redisstore.Webhook{}}
	limit := q.Limit
	if limit == 0 {
		limit = 10
	}
	start := min(max(q.Offset, 0), len(match))
	end := len(match)
	if limit > 0 {
		end = min(end, start+limit)
	}
	res.Items = append(res.Items, match[start:end]...)
	return res
}

// populate creates, edits and deletes random webhooks and returns what the
// site should hold.
func populate(t *testing.T, ctx context.Context, site *redisstore.Site, r *rand.Rand, n int) map[int64]redisstore.Webhook {
	all := map[int64]redisstore.Webhook{}
	for range n {
		w := sampleWebhook(randName(r))
		w.Status = refStatuses[r.IntN(3)]
		w.Created = randTime(r)
		if r.IntN(3) > 0 {
			w.Modified = randTime(r)
		}
		require.NoError(t, site.CreateWebhook(ctx, w))
		all[w.ID] = *w
	}
	for id, w := range all {
		switch r.IntN(10) {
		case 0:
			ok, err := site.DeleteWebhook(ctx, id)
			require.NoError(t, err)
			require.True(t, ok)
			delete(all, id)
		case 1, 2, 3:
			w.Name = randName(r)
			w.Status = refStatuses[r.IntN(3)]
			w.Modified = randTime(r)
			if r.IntN(5) == 0 {
				w.Modified = time.Time{}
			}
			require.NoError(t, site.SaveWebhook(ctx, &w))
			all[id] = w
		}
	}
	return all
}

// randBound is a query bound near the stored dates: often exactly one of
// them (inclusiveness), sometimes between microseconds or in another zone.
func randBound(r *rand.Rand) *time.Time {
	t := randTime(r)
	switch r.IntN(6) {
	case 0:
		t = t.Add(500 * time.Nanosecond)
	case 1:
		t = t.Add(-time.Nanosecond)
	case 2:
		t = t.In(time.FixedZone("plus2", 2*3600))
	case 3:
		t = time.Unix(0, 0) // the never-modified score
	}
	return &t
}

func randIDs(r *rand.Rand, all map[int64]redisstore.Webhook, n int) []int64 {
	var ids []int64
	for id := range all {
		if len(ids) >= n {
			break
		}
		if r.IntN(3) == 0 {
			ids = append(ids, id)
		}
	}
	ids = append(ids, 99, 100000+int64(len(all))*10) // missing ids
	r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids
}

func TestListWebhooksMatchesReference(t *testing.T) {
	ctx := context.Background()
	_, site, _ := newSite(t, "shop")
	r := rand.New(rand.NewPCG(1, 2))
	all := populate(t, ctx, site, r, 300)

	statuses := []string{"", "all", redisstore.StatusActive, redisstore.StatusPaused, redisstore.StatusDisabled}
	orders := []redisstore.OrderField{"", redisstore.OrderByCreated, redisstore.OrderByID, redisstore.OrderByName, redisstore.OrderByModified}
	queries := 0
	for _, status := range statuses {
		for _, order := range orders {
			for _, desc := range []bool{false, true} {
				for variant := range 12 {
					q := redisstore.ListQuery{Status: status, OrderBy: order, Desc: desc}
					switch r.IntN(5) {
					case 0:
						q.Limit = -1
					case 1:
						q.Limit = 0
					default:
						q.Limit = 1 + r.IntN(30)
					}
					q.Offset = r.IntN(60)
					if r.IntN(4) == 0 {
						q.Offset = r.IntN(400)
					}
					switch variant {
					case 1: // created range, sometimes open on one side
						q.CreatedAfter, q.CreatedBefore = randBound(r), randBound(r)
						if r.IntN(3) == 0 {
							q.CreatedAfter = nil
						}
					case 2:
						q.ModifiedAfter, q.ModifiedBefore = randBound(r), randBound(r)
						if r.IntN(3) == 0 {
							q.ModifiedBefore = nil
						}
					case 3:
						q.CreatedAfter, q.ModifiedBefore = randBound(r), randBound(r)
					case 4:
						q.CreatedAfter, q.CreatedBefore = randBound(r), randBound(r)
						q.ModifiedAfter, q.ModifiedBefore = randBound(r), randBound(r)
					case 5:
						q.Search = []string{"ALPHA", "ärg", "a", "hook", " 1", "zzz"}[r.IntN(6)]
					case 6:
						q.Exclude = randIDs(r, all, 40)
					case 7:
						q.Include = randIDs(r, all, 30)
					case 8:
						q.Include = randIDs(r, all, 30)
						q.Exclude = randIDs(r, all, 30)
						q.Search = "a"
						q.CreatedAfter = randBound(r)
						q.ModifiedBefore = randBound(r)
					case 9:
						q.Search = "e"
						q.Exclude = randIDs(r, all, 20)
						q.CreatedBefore = randBound(r)
					case 10:
						q.Search = "a"
						q.ModifiedAfter, q.ModifiedBefore = randBound(r), randBound(r)
					case 11:
						q.Offset = 0 // first page, the common request
					}
					got, err := site.ListWebhooks(ctx, q)
					require.NoError(t, err)
					want := refList(all, q)
					require.Equal(t, want.Total, got.Total, "total of %+v", q)
					require.Equal(t, ids(want.Items), ids(got.Items), "ids of %+v", q)
					require.Equal(t, want.Items, got.Items, "items of %+v", q)
					queries++
				}
			}
		}
	}
	t.Logf("%d queries on %d webhooks matched the reference", queries, len(all))
}

func ids(ws []redisstore.Webhook) []int64 {
	out := make([]int64, len(ws))
	for i, w := range ws {
		out[i] = w.ID
	}
	return out
}

func TestListWebhooksDefaultsAndErrors(t *testing.T) {
	ctx := context.Background()
	_, site, _ := newSite(t, "shop")
	for i := range 15 {
		w := sampleWebhook(fmt.Sprintf("hook %02d", i))
		w.Created = refBase.Add(time.Duration(15-i) * time.Minute) // created order is reverse id order
		require.NoError(t, site.CreateWebhook(ctx, w))
	}
	res, err := site.ListWebhooks(ctx, redisstore.ListQuery{})
	require.NoError(t, err)
	assert.Equal(t, 15, res.Total)
	require.Len(t, res.Items, 10, "limit 0 means 10")
	assert.Equal(t, "hook 14", res.Items[0].Name, "default order is date created ascending")

	res, err = site.ListWebhooks(ctx, redisstore.ListQuery{Offset: 15})
	require.NoError(t, err)
	assert.Equal(t, 15, res.Total)
	assert.NotNil(t, res.Items)
	assert.Empty(t, res.Items)

	res, err = site.ListWebhooks(ctx, redisstore.ListQuery{Offset: -5, Limit: -1, OrderBy: redisstore.OrderByName, Desc: true})
	require.NoError(t, err)
	require.Len(t, res.Items, 15)
	assert.Equal(t, "hook 14", res.Items[0].Name)
	assert.Equal(t, "hook 00", res.Items[14].Name)

	_, err = site.ListWebhooks(ctx, redisstore.ListQuery{Status: "publish"})
	assert.Error(t, err)
	_, err = site.ListWebhooks(ctx, redisstore.ListQuery{OrderBy: "price"})
	assert.Error(t, err)

	// Far-away bounds are clamped, not overflowed.
	far, early := time.Date(200000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	res, err = site.ListWebhooks(ctx, redisstore.ListQuery{CreatedAfter: &early, CreatedBefore: &far})
	require.NoError(t, err)
	assert.Equal(t, 15, res.Total)
	res, err = site.ListWebhooks(ctx, redisstore.ListQuery{CreatedAfter: &far})
	require.NoError(t, err)
	assert.Equal(t, 0, res.Total)
	res, err = site.ListWebhooks(ctx, redisstore.ListQuery{CreatedBefore: &early, OrderBy: redisstore.OrderByID})
	require.NoError(t, err)
	assert.Equal(t, 0, res.Total)
}

func TestListSearchIsPlainText(t *testing.T) {
	ctx := context.Background()
	_, site, _ := newSite(t, "shop")
	names := []string{"100% OFF. [sale]", "100 off sale", "nul\x00inside", "ÜBER Straße", "%"}
	for _, n := range names {
		require.NoError(t, site.CreateWebhook(ctx, sampleWebhook(n)))
	}
	for search, want := range map[string]int{"% off. [": 1, "%": 2, ".": 1, "über": 1, "STRASSE": 0, "\x00i": 1, "100": 2} {
		res, err := site.ListWebhooks(ctx, redisstore.ListQuery{Search: search, Limit: -1})
		require.NoError(t, err)
		assert.Equal(t, want, res.Total, "search %q", search)
		assert.Len(t, res.Items, want, "search %q", search)
	}
	res, err := site.ListWebhooks(ctx, redisstore.ListQuery{OrderBy: redisstore.OrderByName, Limit: -1})
	require.NoError(t, err)
	var got []string
	for _, w := range res.Items {
		got = append(got, w.Name)
	}
	assert.Equal(t, []string{"%", "100 off sale", "100% OFF. [sale]", "nul\x00inside", "ÜBER Straße"}, got)
}
