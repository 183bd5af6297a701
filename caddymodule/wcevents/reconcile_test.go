package wcevents

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shopItem is one resource of the fake shop.
type shopItem struct {
	id                int64
	status            string
	created, modified time.Time
}

// fakeShop is a Lister over in-memory resources that filters and pages
// as WooCommerce's wc/v3 list routes do.
type fakeShop struct {
	items map[string]map[int64]*shopItem
	lists int
	gets  int
}

func newFakeShop() *fakeShop { return &fakeShop{items: map[string]map[int64]*shopItem{}} }

func (s *fakeShop) put(res string, it shopItem) {
	if s.items[res] == nil {
		s.items[res] = map[int64]*shopItem{}
	}
	s.items[res][it.id] = &it
}

func (s *fakeShop) render(it *shopItem) map[string]any {
	return map[string]any{"id": it.id, "status": it.status,
		"date_created_gmt": it.created.UTC().Format(stampLayout), "date_modified_gmt": it.modified.UTC().Format(stampLayout),
		"_links": map[string]any{}}
}

func (s *fakeShop) List(_ context.Context, res string, q url.Values) ([]json.RawMessage, error) {
	s.lists++
	var sel []*shopItem
	after, _ := time.Parse(stampLayout, q.Get("modified_after"))
	before, _ := time.Parse(stampLayout, q.Get("modified_before"))
	for _, it := range s.items[res] {
		if (q.Get("status") == "trash") != (it.status == "trash") {
			continue
		}
		if q.Has("modified_after") && !it.modified.After(after) {
			continue
		}
		if q.Has("modified_before") && !it.modified.Before(before) {
			continue
		}
		sel = append(sel, it)
	}
	sort.Slice(sel, func(i, j int) bool {
		a, b := sel[i], sel[j]
		switch q.Get("orderby") {
		case "modified":
			if !a.modified.Equal(b.modified) {
				return a.modified.Before(b.modified)
			}
		case "registered_date":
			if !a.created.Equal(b.created) {
				return a.created.After(b.created)
			}
		}
		return a.id < b.id
	})
	per, _ := strconv.Atoi(q.Get("per_page"))
	page, _ := strconv.Atoi(q.Get("page"))
	from := min((page-1)*per, len(sel))
	sel = sel[from:min(from+per, len(sel))]
	var out []json.RawMessage
	for _, it := range sel {
		m := s.render(it)
		if f := q.Get("_fields"); f != "" {
			keep := map[string]any{}
			for _, k := range strings.Split(f, ",") {
				keep[k] = m[k]
			}
			m = keep
		}
		b, _ := json.Marshal(m)
		out = append(out, b)
	}
	return out, nil
}

func (s *fakeShop) Get(_ context.Context, res string, id int64) ([]byte, bool, error) {
	s.gets++
	it, ok := s.items[res][id]
	if !ok {
		return nil, false, nil
	}
	b, _ := json.Marshal(s.render(it))
	return b, true, nil
}

// memState is an in-memory ReconcileStore.
type memState struct {
	wm      time.Time
	floor   time.Time
	hasWM   bool
	trash   map[string][]int64
	markers map[string]bool
}

func newMemState() *memState {
	return &memState{trash: map[string][]int64{}, markers: map[string]bool{}}
}

func (m *memState) Watermark(context.Context) (time.Time, time.Time, bool, error) {
	return m.wm, m.floor, m.hasWM, nil
}
func (m *memState) SetWatermark(_ context.Context, t time.Time) error {
	if !m.hasWM {
		m.floor = t
	}
	m.wm, m.hasWM = t, true
	return nil
}
func (m *memState) Trashed(_ context.Context, res string) ([]int64, bool, error) {
	ids, ok := m.trash[res]
	return slices.Clone(ids), ok, nil
}
func (m *memState) ResetTrashed(_ context.Context, res string, ids []int64) error {
	m.trash[res] = append([]int64{}, ids...)
	return nil
}
func (m *memState) UpdateTrashed(_ context.Context, res string, add, remove []int64) error {
	ids := slices.DeleteFunc(m.trash[res], func(id int64) bool { return slices.Contains(remove, id) })
	m.trash[res] = append(ids, add...)
	return nil
}
func (m *memState) DropTrashed(_ context.Context, res string) error {
	delete(m.trash, res)
	return nil
}
func (m *memState) Exists(_ context.Context, keys ...string) (bool, error) {
	for _, k := range keys {
		if m.markers[k] {
			return true, nil
		}
	}
	return false, nil
}
func (m *memState) Claim(_ context.Context, k string) (bool, error) {
	if m.markers[k] {
		return false, nil
	}
	m.markers[k] = true
	return true, nil
}
func (m *memState) Mark(_ context.Context, k string) error {
	m.markers[k] = true
	return nil
}
func (m *memState) Take(_ context.Context, k string) (bool, error) {
	ok := m.markers[k]
	delete(m.markers, k)
	return ok, nil
}

// hooks is Subscribers and Publisher: topic -> versions; published events.
type hooks struct {
	subs map[string][]string
	got  []string // "topic id version payload"
}

func (h *hooks) Versions(_ context.Context, topic string) ([]string, error) {
	return h.subs[topic], nil
}
func (h *hooks) Publish(_ context.Context, topic string, id int64, v string, payload []byte) error {
	h.got = append(h.got, fmt.Sprintf("%s %d %s %s", topic, id, v, payload))
	return nil
}

// v1Reader answers reads with a marker naming the version.
type v1Reader struct{ reads int }

func (r *v1Reader) Read(_ context.Context, res string, id int64, v string) ([]byte, error) {
	r.reads++
	return []byte(fmt.Sprintf(`{"id":%d,"read":%q}`, id, v)), nil
}

type reconcileFixture struct {
	shop   *fakeShop
	state  *memState
	hooks  *hooks
	reader *v1Reader
	r      *Reconciler
	now    time.Time
}

func newReconcileFixture() *reconcileFixture {
	f := &reconcileFixture{shop: newFakeShop(), state: newMemState(), hooks: &hooks{subs: map[string][]string{}}, reader: &v1Reader{},
		now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	f.r = &Reconciler{Lister: f.shop, Store: f.state, Settle: 5 * time.Second, Overlap: time.Minute, PerPage: 2,
		Emitter: Emitter{Publisher: f.hooks, Subscribers: f.hooks, Reader: f.reader}}
	return f
}

// pass advances the clock by a minute and runs a pass.
func (f *reconcileFixture) pass(t *testing.T) ReconcileResult {
	t.Helper()
	f.now = f.now.Add(time.Minute)
	f.hooks.got = nil
	res, err := f.r.Pass(context.Background(), f.now)
	require.NoError(t, err)
	return res
}

// at is a time shortly before the fixture's next pass.
func (f *reconcileFixture) at(sec int) time.Time { return f.now.Add(time.Duration(sec) * time.Second) }

func TestReconcileFirstPassReplaysNothing(t *testing.T) {
	f := newReconcileFixture()
	f.hooks.subs["order.created"] = []string{APIVersionWPV3}
	f.hooks.subs["order.deleted"] = []string{APIVersionWPV3}
	// Created 15s before the first pass's watermark: within the overlap
	// of the second pass, but before the floor.
	f.shop.put("order", shopItem{id: 1, status: "processing", created: f.at(40), modified: f.at(40)})
	f.shop.put("order", shopItem{id: 2, status: "trash", created: f.at(-30), modified: f.at(-20)})
	res := f.pass(t)
	assert.True(t, res.First)
	assert.Empty(t, f.hooks.got, "history is not replayed")
	assert.Equal(t, f.now.Add(-5*time.Second), f.state.wm, "watermark: now minus settle")
	assert.Equal(t, []int64{2}, f.state.trash["order"], "the trash is snapshotted")
	_, ok := f.state.trash["product"]
	assert.False(t, ok, "no snapshot without subscribers")

	res = f.pass(t)
	assert.False(t, res.First)
	assert.Empty(t, f.hooks.got, "nothing changed")
}

func TestReconcileEmitsMissedEventsOnce(t *testing.T) {
	f := newReconcileFixture()
	for _, ev := range []string{"created", "updated", "deleted", "restored"} {
		f.hooks.subs["order."+ev] = []string{APIVersionWPV3, APIVersionWPV1}
	}
	f.shop.put("order", shopItem{id: 10, status: "pending", created: f.at(-100), modified: f.at(-100)})
	f.shop.put("order", shopItem{id: 11, status: "trash", created: f.at(-100), modified: f.at(-100)})
	f.shop.put("order", shopItem{id: 12, status: "pending", created: f.at(-100), modified: f.at(-100)})
	f.shop.put("order", shopItem{id: 13, status: "pending", created: f.at(-100), modified: f.at(-100)})
	f.pass(t)

	// Behind the proxy's back: 20 created, 10 updated, 12 trashed, 11
	// restored. The proxy emitted 21 (created, then cron changed it: one
	// order.updated from here), 13's update (same state: nothing), and
	// trashed 30 (its marker is taken: nothing).
	f.shop.put("order", shopItem{id: 20, status: "processing", created: f.at(10), modified: f.at(12)})
	f.shop.items["order"][10].status, f.shop.items["order"][10].modified = "completed", f.at(11)
	f.shop.items["order"][12].status, f.shop.items["order"][12].modified = "trash", f.at(13)
	f.shop.items["order"][11].status, f.shop.items["order"][11].modified = "pending", f.at(14)
	f.shop.put("order", shopItem{id: 21, status: "processing", created: f.at(15), modified: f.at(20)})
	f.state.markers[OnceKey("order.created", 21)] = true
	f.state.markers[DedupeKey("order.created", 21, f.at(15).Format(stampLayout))] = true
	f.shop.items["order"][13].status, f.shop.items["order"][13].modified = "on-hold", f.at(16)
	f.state.markers[DedupeKey("order.updated", 13, f.at(16).Format(stampLayout))] = true
	f.shop.put("order", shopItem{id: 30, status: "trash", created: f.at(-200), modified: f.at(17)})
	f.state.markers[OnceKey("order.deleted", 30)] = true

	res := f.pass(t)
	v3 := func(id int64) string {
		it := f.shop.items["order"][id]
		return fmt.Sprintf(`{"_links":[],"date_created_gmt":%q,"date_modified_gmt":%q,"id":%d,"status":%q}`,
			it.created.Format(stampLayout), it.modified.Format(stampLayout), id, it.status)
	}
	want := []string{
		`order.deleted 12  {"id":12}`,
		`order.restored 11 wp_api_v1 {"id":11,"read":"wp_api_v1"}`,
		`order.restored 11 wp_api_v3 ` + v3(11),
		`order.updated 10 wp_api_v1 {"id":10,"read":"wp_api_v1"}`,
		`order.updated 10 wp_api_v3 ` + v3(10),
		`order.created 20 wp_api_v1 {"id":20,"read":"wp_api_v1"}`,
		`order.created 20 wp_api_v3 ` + v3(20),
		`order.updated 21 wp_api_v1 {"id":21,"read":"wp_api_v1"}`,
		`order.updated 21 wp_api_v3 ` + v3(21),
	}
	assert.Equal(t, want, f.hooks.got, "v3 payloads are the listed items ({} as []), other versions are read")
	assert.Equal(t, 9, res.Events)
	assert.ElementsMatch(t, []int64{12, 30}, f.state.trash["order"])
	assert.False(t, f.state.markers[OnceKey("order.deleted", 30)], "the proxy's marker is taken")
	assert.True(t, f.state.markers[OnceKey("order.created", 20)], "reconciliation marks what it created")

	// The overlap lists the same changes again: nothing is repeated.
	res = f.pass(t)
	assert.Empty(t, f.hooks.got)
	assert.Zero(t, res.Events)
}

func TestReconcilePagesThroughTiesAndCostsNothingUnsubscribed(t *testing.T) {
	f := newReconcileFixture()
	f.hooks.subs["product.updated"] = []string{APIVersionWPV3}
	for id := int64(1); id <= 7; id++ {
		f.shop.put("product", shopItem{id: id, status: "publish", created: f.at(-500), modified: f.at(-500)})
	}
	f.pass(t)
	// Seven products modified in the same second (pages of 2), and a
	// coupon nobody listens to.
	for id := int64(1); id <= 7; id++ {
		f.shop.items["product"][id].modified = f.at(10)
	}
	f.shop.put("coupon", shopItem{id: 50, status: "publish", created: f.at(10), modified: f.at(10)})
	f.shop.lists = 0
	f.pass(t)
	var ids []string
	for _, g := range f.hooks.got {
		ids = append(ids, strings.Fields(g)[1])
	}
	assert.Equal(t, []string{"1", "2", "3", "4", "5", "6", "7"}, ids, "every tied product once")
	// Pages: 1-2, the same again from the tie's second, 3-4, 5-6, 7.
	assert.Equal(t, 5, f.shop.lists, "five pages of products, no coupon listing")
	assert.Zero(t, f.reader.reads, "the listing item is the wp_api_v3 payload")
}

func TestReconcileSkipsWhenARecentPassRan(t *testing.T) {
	f := newReconcileFixture()
	f.r.MinGap = 2 * time.Minute
	f.pass(t)
	res := f.pass(t)
	assert.True(t, res.Skipped, "another process passed a minute ago")
	f.now = f.now.Add(time.Minute)
	res = f.pass(t)
	assert.False(t, res.Skipped)
}

func TestReconcileWindowIsBounded(t *testing.T) {
	f := newReconcileFixture()
	f.r.MaxWindow = 90 * time.Second
	f.hooks.subs["order.updated"] = []string{APIVersionWPV3}
	f.shop.put("order", shopItem{id: 1, status: "pending", created: f.at(-900), modified: f.at(-900)})
	f.pass(t)
	// The watermark lags 10 minutes (failed passes): a change 5 minutes
	// ago is beyond the window, one a minute ago within it.
	f.state.wm = f.state.wm.Add(-10 * time.Minute)
	f.state.floor = f.state.wm
	f.shop.put("order", shopItem{id: 2, status: "pending", created: f.at(-900), modified: f.at(-5 * 60)})
	f.shop.put("order", shopItem{id: 3, status: "pending", created: f.at(-900), modified: f.at(0)})
	f.pass(t)
	require.Len(t, f.hooks.got, 1)
	assert.Contains(t, f.hooks.got[0], "order.updated 3 ")
}

func TestReconcileCustomers(t *testing.T) {
	f := newReconcileFixture()
	f.hooks.subs["customer.created"] = []string{APIVersionLegacyV3}
	f.hooks.subs["customer.updated"] = []string{APIVersionWPV3}
	f.shop.put("customer", shopItem{id: 5, created: f.at(-900), modified: f.at(-900)})
	f.pass(t)
	f.shop.put("customer", shopItem{id: 6, created: f.at(10), modified: f.at(10)})
	f.shop.items["customer"][5].modified = f.at(20)
	f.pass(t)
	require.Len(t, f.hooks.got, 2)
	assert.Equal(t, `customer.created 6 legacy_v3 {"id":6,"read":"legacy_v3"}`, f.hooks.got[0])
	assert.Equal(t, `customer.updated 5 wp_api_v3 {"id":5,"read":"wp_api_v3"}`, f.hooks.got[1],
		"the id scan carries no payload: read")
	f.pass(t)
	assert.Empty(t, f.hooks.got)
}

// TestReconcileCreatedThenTrashed: an item created and trashed behind the
// proxy's back between two passes gives its .created (read per version,
// the modified listings leave the trash out) before its .deleted; one the
// proxy already announced gives only the .deleted.
func TestReconcileCreatedThenTrashed(t *testing.T) {
	f := newReconcileFixture()
	f.hooks.subs["product.created"] = []string{APIVersionWPV3}
	f.hooks.subs["product.deleted"] = []string{APIVersionWPV3}
	f.pass(t)

	f.shop.put("product", shopItem{id: 40, status: "trash", created: f.at(10), modified: f.at(12)})
	f.shop.put("product", shopItem{id: 41, status: "trash", created: f.at(10), modified: f.at(12)})
	f.state.markers[OnceKey("product.created", 41)] = true // the proxy saw its creation
	f.pass(t)
	assert.Equal(t, []string{
		`product.created 40 wp_api_v3 {"id":40,"read":"wp_api_v3"}`,
		`product.deleted 40  {"id":40}`,
		`product.deleted 41  {"id":41}`,
	}, f.hooks.got)

	f.pass(t)
	assert.Empty(t, f.hooks.got, "nothing twice")
}
