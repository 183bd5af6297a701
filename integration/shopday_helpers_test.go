package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/standin"
)

// dayHook is one webhook of the shop day: its id and the API version it
// was created through ("v1", "v2", "v3" or "legacy").
type dayHook struct {
	ID      int64
	Version string
}

// dayKey is one delivery: the webhook, the topic and what the payload
// names (the resource id, or the cart item key of an add to cart).
type dayKey struct {
	Hook  int64
	Topic string
	Ref   string
}

// shopDay is the scripted shop day's environment and recorder: each step
// says what WooCommerce would fire (fires), and the receiver must get
// exactly that multiset of deliveries.
type shopDay struct {
	*eventsEnv
	rc      *receiver
	hooks   map[string][]dayHook // by topic
	version map[int64]string     // by webhook id
	want    map[dayKey][]string  // expected deliveries, one step label each
	touched map[int64]bool       // every resource id the day made or changed
	cart    string               // the browser's woocommerce_cart_hash
	phases  []string             // timing log
	start   time.Time
}

// hookPaths are the webhook create routes per API version.
var hookPaths = map[string]string{
	"v1":     "/wp-json/wc/v1/webhooks",
	"v2":     "/wp-json/wc/v2/webhooks",
	"v3":     "/wp-json/wc/v3/webhooks",
	"legacy": "/wc-api/v3/webhooks",
}

// newShopDay starts one Caddy (service key, `reconcile 2s`), a stand-in
// and a real redis-server, with a read_write key for the shop's clients.
func newShopDay(t *testing.T) *shopDay {
	t.Helper()
	t.Setenv("WC_WEBHOOKS_RECONCILE_MIN", "1s")
	h := newHookEnv(t, dispatchBlock(true))
	shop := standin.NewKey(standin.ManagerID, standin.PermReadWrite)
	svc := standin.NewKey(standin.ManagerID, standin.PermRead)
	h.Standin.AddKey(shop)
	h.Standin.AddKey(svc)
	h.Caddy.reload(reconcileCaddyfile(t, h.testEnv, svc))
	return &shopDay{
		eventsEnv: &eventsEnv{hookEnv: h, Shop: shop},
		rc:        newHookReceiver(t, nil),
		hooks:     map[string][]dayHook{},
		version:   map[int64]string{},
		want:      map[dayKey][]string{},
		touched:   map[int64]bool{},
		start:     time.Now(),
	}
}

// hook creates a webhook on topic through each version's API.
func (d *shopDay) hook(t *testing.T, topic string, versions ...string) {
	t.Helper()
	for _, v := range versions {
		id := d.createHook(t, hookPaths[v], topic, d.rc.URL)
		d.hooks[topic] = append(d.hooks[topic], dayHook{ID: id, Version: v})
		d.version[id] = v
	}
}

// fires records that WooCommerce fires topic for ref (a resource id or a
// cart item key) at step: one delivery to every webhook of the topic.
func (d *shopDay) fires(step, topic string, ref any) {
	if id, ok := ref.(int64); ok {
		d.touched[id] = true
	}
	for _, h := range d.hooks[topic] {
		k := dayKey{Hook: h.ID, Topic: topic, Ref: fmt.Sprint(ref)}
		d.want[k] = append(d.want[k], step)
	}
}

// touch records a resource changed without an event (an auto-draft).
func (d *shopDay) touch(ids ...int64) {
	for _, id := range ids {
		d.touched[id] = true
	}
}

// phase logs how long the day has run.
func (d *shopDay) phase(t *testing.T, name string) {
	t.Helper()
	t.Logf("%6.1fs %s", time.Since(d.start).Seconds(), name)
}

// rest sends a write of the shop's API client and returns the answer's
// resource id (0 when the answer names none).
func (d *shopDay) rest(t *testing.T, method, path, body string, want int) (response, int64) {
	t.Helper()
	r := d.Write(t, method, path, body)
	require.Equal(t, want, r.Status, "%s %s: %s", method, path, r.Body)
	var m map[string]json.RawMessage
	if json.Unmarshal(r.Body, &m) != nil {
		return r, 0
	}
	for _, k := range []string{"order", "product", "customer", "coupon"} {
		if inner, ok := m[k]; ok {
			_ = json.Unmarshal(inner, &m)
		}
	}
	var id int64
	_ = json.Unmarshal(m["id"], &id)
	return r, id
}

// browser sends a front-end or wp-admin request with cookie and an
// urlencoded form body ("" for none), carrying the cart cookie as a
// browser does.
func (d *shopDay) browser(t *testing.T, method, path, body, cookie, referer string) response {
	t.Helper()
	h := http.Header{}
	var b []byte
	if body != "" {
		h.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
		b = []byte(body)
	}
	if strings.HasPrefix(body, "{") {
		h.Set("Content-Type", "application/json")
	}
	var cookies []string
	if cookie != "" {
		cookies = append(cookies, cookie)
	}
	if d.cart != "" {
		cookies = append(cookies, "woocommerce_cart_hash="+d.cart)
	}
	if len(cookies) > 0 {
		h.Set("Cookie", strings.Join(cookies, "; "))
	}
	if referer != "" {
		h.Set("Referer", referer)
	}
	r := do(t, d.C, method, d.HTTPSBase+path, b, h)
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "woocommerce_cart_hash" {
			d.cart = c.Value
		}
	}
	return r
}

// redirected checks a 302 whose Location query has the pairs want.
func redirected(t *testing.T, r response, want ...string) {
	t.Helper()
	require.Equal(t, http.StatusFound, r.Status, "%s", r.Body)
	loc := r.Header.Get("Location")
	for i := 0; i+1 < len(want); i += 2 {
		assert.Contains(t, loc, want[i]+"="+want[i+1], "redirect %s", loc)
	}
}

// lastStamp is the latest date_modified of every resource the day touched
// that still exists (the stand-in's clock runs ahead of the wall clock
// when changes come faster than one a second).
func (d *shopDay) lastStamp() time.Time {
	var last time.Time
	for id := range d.touched {
		if r, ok := d.Standin.Resource(id); ok && r.Modified.After(last) {
			last = r.Modified
		}
	}
	return last
}

// watermark is the site's reconciliation watermark (zero before a pass).
func (d *shopDay) watermark(t *testing.T) time.Time {
	t.Helper()
	wm, _, _, err := d.Site.Reconcile(0).Watermark(context.Background())
	require.NoError(t, err)
	return wm
}

// inTrashSnapshot reports whether reconciliation remembers id of resource
// in the trash (so a later restore behind the proxy's back is seen).
func (d *shopDay) inTrashSnapshot(resource string, id int64) bool {
	return d.RDB.SIsMember(context.Background(), "wcwh:{shop}:rc:trash:"+resource, strconv.FormatInt(id, 10)).Val()
}

// got reads the receiver's deliveries as keys, checking each payload: a
// deleted event is {"id":N}, an add to cart WooCommerce's action payload,
// anything else the resource in the webhook's API version.
func (d *shopDay) got(t *testing.T, check bool) map[dayKey]int {
	t.Helper()
	out := map[dayKey]int{}
	for _, r := range d.rc.Deliveries() {
		hook, _ := strconv.ParseInt(r.Header.Get("X-WC-Webhook-ID"), 10, 64)
		topic := r.Header.Get("X-WC-Webhook-Topic")
		if check {
			verifyDelivery(t, r, wantDelivery{WebhookID: hook, Topic: topic, Secret: hookSecret{"s3cret", "s3cret"}, Sources: d.Sources()})
		}
		var m map[string]json.RawMessage
		if !assert.NoError(t, json.Unmarshal(r.Body, &m), "%s", r.Body) {
			continue
		}
		if topic == "action.woocommerce_add_to_cart" {
			var arg string
			_ = json.Unmarshal(m["arg"], &arg)
			out[dayKey{hook, topic, arg}]++
			if check {
				assert.Equal(t, fmt.Sprintf(`{"action":"woocommerce_add_to_cart","arg":"%s"}`, arg), string(r.Body), "WooCommerce's action payload")
			}
			continue
		}
		resource, _, _ := strings.Cut(topic, ".")
		item := m
		if inner, ok := m[resource]; ok {
			_ = json.Unmarshal(inner, &item)
		}
		var id int64
		_ = json.Unmarshal(item["id"], &id)
		out[dayKey{hook, topic, strconv.FormatInt(id, 10)}]++
		if !check {
			continue
		}
		switch {
		case strings.HasSuffix(topic, ".deleted"):
			assert.JSONEq(t, fmt.Sprintf(`{"id":%d}`, id), string(r.Body), "%s %d to webhook %d", topic, id, hook)
		case d.version[hook] != "":
			assertVersion(t, d.version[hook], topic, r.Body)
		}
	}
	return out
}

// complete reports whether every expected delivery has arrived.
func (d *shopDay) complete(t *testing.T) bool {
	got := d.got(t, false)
	for k, steps := range d.want {
		if got[k] < len(steps) {
			return false
		}
	}
	return true
}

// diff lists the expected deliveries that did not arrive as often as
// expected, and the ones that arrived but were not expected (or more
// often), each with the steps that expected it.
func (d *shopDay) diff(got map[dayKey]int) []string {
	keys := map[dayKey]bool{}
	for k := range d.want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		want, have := len(d.want[k]), got[k]
		if want == have {
			continue
		}
		kind := "MISSING"
		if have > want {
			kind = "EXTRA"
		}
		out = append(out, fmt.Sprintf("%s %s %s to webhook %d (%s): want %d, got %d; expected by %v",
			kind, k.Topic, k.Ref, k.Hook, d.version[k.Hook], want, have, d.want[k]))
	}
	sort.Strings(out)
	return out
}

// total is the number of expected deliveries.
func (d *shopDay) total() int {
	n := 0
	for _, steps := range d.want {
		n += len(steps)
	}
	return n
}

// finish waits for every expected delivery, bounded by the stand-in's
// clock (reconciliation sees a change once the wall clock has passed its
// date_modified; the bound is for a broken module, not a timing check),
// then until a pass has covered the last change and one more has run, then
// settles, and asserts the receiver got exactly the expected deliveries.
func (d *shopDay) finish(t *testing.T) {
	t.Helper()
	last := d.lastStamp()
	deadline := last.Add(15 * time.Second)
	for !d.complete(t) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	d.phase(t, fmt.Sprintf("expected deliveries arrived: %v (last change stamped %s)", d.complete(t), last.Format(time.TimeOnly)))
	waitUntil(t, time.Until(last)+30*time.Second, "a reconciliation pass covering the last change", func() bool { return d.watermark(t).After(last) })
	wm := d.watermark(t)
	waitUntil(t, 30*time.Second, "one more reconciliation pass", func() bool { return d.watermark(t).After(wm) })
	time.Sleep(settle)
	d.phase(t, "settled")

	got := d.got(t, true)
	n := 0
	for _, c := range got {
		n += c
	}
	t.Logf("%d deliveries, %d expected", n, d.total())
	diffs := d.diff(got)
	assert.Empty(t, diffs, "the receiver must get exactly what WooCommerce fires, once each:\n%s", strings.Join(diffs, "\n"))
}

// adminTrashRestoreOrder trashes an order from wp-admin's list (post.php)
// and restores it at once, expecting order.deleted and order.restored.
func (d *shopDay) adminTrashRestoreOrder(t *testing.T, id int64, trashStep, restoreStep string) {
	t.Helper()
	redirected(t, d.adminForm(t, "GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=trash&_wpnonce=n", id), "", "https://shop.example/wp-admin/edit.php?post_type=shop_order"), "trashed", "1")
	d.fires(trashStep, "order.deleted", id)
	redirected(t, d.adminForm(t, "GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=untrash&_wpnonce=n", id), "", ""), "untrashed", "1")
	d.fires(restoreStep, "order.restored", id)
}

// trashRestoreBehindBack trashes an order in the stand-in (no proxy),
// waits until a reconciliation pass has seen it in the trash, then
// restores it, expecting order.deleted and order.restored. A pass that ran
// while an earlier trash lasted leaves the id in the snapshot until the
// next pass sees it restored; that must happen first, or the wait below
// would end before any pass saw this trash (and a trash and restore
// between two passes are invisible to polling: they read as an update).
func (d *shopDay) trashRestoreBehindBack(t *testing.T, id int64, trashStep, restoreStep string) {
	t.Helper()
	waitUntil(t, 30*time.Second, "a pass seeing the order out of the trash", func() bool { return !d.inTrashSnapshot("order", id) })
	require.True(t, d.Standin.TrashResource(id))
	d.fires(trashStep, "order.deleted", id)
	waitUntil(t, 30*time.Second, "the order in reconciliation's trash snapshot", func() bool { return d.inTrashSnapshot("order", id) })
	require.True(t, d.Standin.RestoreResource(id))
	d.fires(restoreStep, "order.restored", id)
}
