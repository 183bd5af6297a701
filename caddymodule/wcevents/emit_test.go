package wcevents

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type published struct {
	topic, version, payload string
	id                      int64
}

type fakes struct {
	versions map[string][]string
	reads    map[string]string // version -> body
	nreads   int
	pub      []published
	seen     map[string]string
}

func (f *fakes) Publish(_ context.Context, topic string, id int64, v string, p []byte) error {
	f.pub = append(f.pub, published{topic, v, string(p), id})
	return nil
}
func (f *fakes) Versions(_ context.Context, topic string) ([]string, error) {
	return append([]string(nil), f.versions[topic]...), nil
}
func (f *fakes) Read(_ context.Context, resource string, id int64, v string) ([]byte, error) {
	f.nreads++
	b, ok := f.reads[v]
	if !ok {
		return nil, errors.New("404")
	}
	return []byte(b), nil
}
func (f *fakes) Seen(_ context.Context, topic string, id int64, modified, hash string) (bool, error) {
	k := DedupeKey(topic, id, modified)
	old, ok := f.seen[k]
	f.seen[k] = hash
	return ok && old == hash, nil
}

func newEmitter(f *fakes) *Emitter {
	return &Emitter{Publisher: f, Subscribers: f, Reader: f, Dedupe: f}
}

func TestEmitPayloadPerVersion(t *testing.T) {
	f := &fakes{
		versions: map[string][]string{"order.updated": {"wp_api_v3", "legacy_v3", "wp_api_v1"}},
		reads:    map[string]string{"wp_api_v1": `{"id":5,"v":1,"meta":{}}`, "legacy_v3": `{"order":{"id":5,"status":"pending"}}`},
		seen:     map[string]string{},
	}
	e := newEmitter(f)
	c := Change{Topic: "order.updated", ID: 5, Item: []byte(`{"id":5,"v":3,"x":{}}`), ItemVersion: "wp_api_v3", Modified: "2024-01-01T00:00:00"}
	n, err := e.Emit(context.Background(), []Change{c})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, 2, f.nreads, "read once per version the answer does not carry")
	assert.ElementsMatch(t, []published{
		{"order.updated", "wp_api_v3", `{"id":5,"v":3,"x":[]}`, 5},
		{"order.updated", "wp_api_v1", `{"id":5,"v":1,"meta":[]}`, 5},
		{"order.updated", "legacy_v3", `{"order":{"id":5,"status":"pending"}}`, 5},
	}, f.pub)

	// The same state again (a retried request) is not published again ...
	n, err = e.Emit(context.Background(), []Change{c})
	require.NoError(t, err)
	assert.Zero(t, n)
	// ... a different state in the same second is.
	c.Item = []byte(`{"id":5,"v":3,"x":2}`)
	n, _ = e.Emit(context.Background(), []Change{c})
	assert.Equal(t, 3, n)
}

func TestEmitDeletedNoSubscribersAndDrafts(t *testing.T) {
	f := &fakes{versions: map[string][]string{"product.deleted": {"wp_api_v1", "wp_api_v3"}, "order.updated": {"wp_api_v3"}},
		reads: map[string]string{"wp_api_v3": `{"id":5,"status":"checkout-draft"}`}, seen: map[string]string{}}
	e := newEmitter(f)
	n, err := e.Emit(context.Background(), []Change{
		{Topic: "product.deleted", ID: 15},
		{Topic: "product.created", ID: 16, Item: []byte(`{"id":16}`), ItemVersion: "wp_api_v3"}, // nobody listens
		{Topic: "order.updated", ID: 5}, // read: a checkout draft
	})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, []published{{"product.deleted", "", `{"id":15}`, 15}}, f.pub)
	assert.Equal(t, 1, f.nreads)
}

func TestEmitReadFailureSkipsThatVersionOnly(t *testing.T) {
	f := &fakes{versions: map[string][]string{"coupon.updated": {"wp_api_v2", "wp_api_v3"}}, reads: map[string]string{}, seen: map[string]string{}}
	var warned int
	e := newEmitter(f)
	e.Warn = func(string, error) { warned++ }
	n, err := e.EmitOne(context.Background(), Change{Topic: "coupon.updated", ID: 9, Item: []byte(`{"id":9}`), ItemVersion: "wp_api_v3"})
	assert.Error(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, 1, warned)
	assert.Equal(t, "wp_api_v3", f.pub[0].version)
}

type markerLog []string

func (m *markerLog) Published(_ context.Context, topic string, id int64) {
	*m = append(*m, DedupeKey(topic, id, ""))
}

// TestEmitMarksOncePerChange: the Marker hears of a change once, however
// many versions it went out in, and never of one not published.
func TestEmitMarksOncePerChange(t *testing.T) {
	f := &fakes{
		versions: map[string][]string{"order.restored": {"wp_api_v3", "wp_api_v1"}, "order.deleted": {"wp_api_v3"}},
		reads:    map[string]string{"wp_api_v1": `{"id":5,"status":"processing"}`, "wp_api_v3": `{"id":5,"status":"processing"}`},
		seen:     map[string]string{},
	}
	var marks markerLog
	e := newEmitter(f)
	e.Marker = &marks
	_, err := e.Emit(context.Background(), []Change{
		{Topic: "order.restored", ID: 5},
		{Topic: "order.deleted", ID: 6},
		{Topic: "order.created", ID: 7}, // nobody listens
	})
	require.NoError(t, err)
	assert.Len(t, f.pub, 3)
	assert.Equal(t, markerLog{DedupeKey("order.restored", 5, ""), DedupeKey("order.deleted", 6, "")}, marks)

	f.reads = map[string]string{} // every read fails: nothing published, nothing marked
	marks = nil
	_, err = e.Emit(context.Background(), []Change{{Topic: "order.restored", ID: 8}})
	require.Error(t, err)
	assert.Empty(t, marks)
}

// TestEmitNeedsReads: only a change with a subscribed version its Item
// is not, or a user or save to resolve, needs a read.
func TestEmitNeedsReads(t *testing.T) {
	f := &fakes{versions: map[string][]string{"order.updated": {"wp_api_v3"}, "order.created": {"wp_api_v3", "wp_api_v1"}, "order.deleted": {"wp_api_v1"}}}
	e := newEmitter(f)
	ctx := context.Background()
	v3 := Change{Topic: "order.updated", ID: 1, Item: []byte(`{"id":1}`), ItemVersion: "wp_api_v3"}
	assert.False(t, e.NeedsReads(ctx, []Change{v3, {Topic: "order.deleted", ID: 2}, {Topic: "product.updated", ID: 3}}))
	assert.True(t, e.NeedsReads(ctx, []Change{{Topic: "order.updated", ID: 1}}), "no Item")
	assert.True(t, e.NeedsReads(ctx, []Change{{Topic: "order.created", ID: 1, Item: []byte(`{}`), ItemVersion: "wp_api_v3"}}), "a v1 subscriber")
	assert.True(t, e.NeedsReads(ctx, []Change{{Topic: "customer.created", User: &UserRef{Login: "ann"}}}), "a user to find")
}
