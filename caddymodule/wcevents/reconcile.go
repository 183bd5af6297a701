package wcevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Reconciliation defaults (see Reconciler).
const (
	// DefaultReconcileOverlap is how far before the watermark a pass looks
	// again, for clock skew and late commits.
	DefaultReconcileOverlap = time.Minute
	// DefaultReconcileSettle is how long a change is left to the proxy
	// before reconciliation looks at it.
	DefaultReconcileSettle = 15 * time.Second
	// DefaultReconcilePerPage is the page size of the list requests.
	DefaultReconcilePerPage = 100
	// DefaultReconcileMaxPages bounds the pages of one resource's listing
	// in one pass; the rest is left to the next pass.
	DefaultReconcileMaxPages = 50
)

// stampLayout is the layout of WooCommerce's *_gmt dates.
const stampLayout = "2006-01-02T15:04:05"

// ReconciledResources are the resources a pass looks at, in this order.
var ReconciledResources = []string{"order", "product", "coupon", "customer"}

// OnceKey is the part of a per-(topic, id) event marker key after the
// site's prefix: "evid:<topic>:<id>". The proxy sets it when it publishes
// a created, deleted or restored event; reconciliation then emits none
// for that resource (created) or that trash move (deleted, restored).
func OnceKey(topic string, id int64) string {
	return "evid:" + topic + ":" + strconv.FormatInt(id, 10)
}

// Lister reads WooCommerce's wc/v3 collection and item routes.
type Lister interface {
	// List returns the items of GET /wc/v3/<resource>s?<query> (one page).
	List(ctx context.Context, resource string, query url.Values) ([]json.RawMessage, error)
	// Get returns GET /wc/v3/<resource>s/<id>; found is false on 404.
	Get(ctx context.Context, resource string, id int64) (item []byte, found bool, err error)
}

// ReconcileStore keeps one site's reconciliation state; marker keys are
// suffixes after the site's prefix (DedupeKey, OnceKey).
// redisstore.Reconcile implements it.
type ReconcileStore interface {
	// Watermark returns the last watermark and the floor, the first
	// watermark ever stored (no pass looks before it).
	Watermark(ctx context.Context) (wm, floor time.Time, ok bool, err error)
	SetWatermark(ctx context.Context, t time.Time) error
	Trashed(ctx context.Context, resource string) ([]int64, bool, error)
	ResetTrashed(ctx context.Context, resource string, ids []int64) error
	UpdateTrashed(ctx context.Context, resource string, add, remove []int64) error
	DropTrashed(ctx context.Context, resource string) error
	Exists(ctx context.Context, suffixes ...string) (bool, error)
	Claim(ctx context.Context, suffix string) (bool, error)
	Mark(ctx context.Context, suffix string) error
	Take(ctx context.Context, suffix string) (bool, error)
}

// Reconciler finds the changes of one site that never crossed the proxy
// (cron, payment callbacks, WP-CLI) and emits the events WooCommerce
// would have fired. A pass lists, for each resource with subscribed
// topics, what changed between the last watermark (minus Overlap) and now
// (minus Settle) with modified_after/modified_before, and the trash
// (status=trash) to tell newly trashed (.deleted) and restored (.restored)
// ids from the remembered set. Customers have no date filter: new ones
// come from the registered_date order, updated ones from a scan of ids and
// dates. Events already emitted by the proxy are not repeated: .updated is
// skipped when a DedupeKey of the same state exists, .created when the
// OnceKey marker exists, .deleted/.restored when the proxy's marker for it
// is there (taken once).
type Reconciler struct {
	Lister Lister
	Store  ReconcileStore
	// Emitter publishes (Publisher, Subscribers and Reader are used; its
	// Dedupe is replaced by claims on Store).
	Emitter Emitter
	// Overlap, Settle, PerPage, MaxPages: see the defaults above.
	Overlap  time.Duration
	Settle   time.Duration
	PerPage  int
	MaxPages int
	// MinGap skips a pass when the watermark is more recent than this
	// (another process ran one). Default 0: never skip.
	MinGap time.Duration
	// MaxWindow bounds how far back a pass looks when the watermark lags
	// (failed passes keep it): changes older than the de-duplication keys
	// are not listed again. Default 0: no bound.
	MaxWindow time.Duration
}

// ReconcileResult tells what a pass did.
type ReconcileResult struct {
	// Skipped: a recent pass made this one unnecessary. First: the pass
	// only set the watermark and snapshotted the trash.
	Skipped, First bool
	// Events is the number of events published.
	Events int
	// Watermark is the stored watermark after the pass.
	Watermark time.Time
}

type topicSubs map[string]bool // event ("created", ...) -> has subscribers

// Pass runs one reconciliation pass at now. Errors of one resource do not
// stop the others; the watermark only advances when every listing
// succeeded.
func (r *Reconciler) Pass(ctx context.Context, now time.Time) (ReconcileResult, error) {
	r.defaults()
	upper := now.UTC().Truncate(time.Second).Add(-r.Settle)
	wm, floor, ok, err := r.Store.Watermark(ctx)
	if err != nil {
		return ReconcileResult{}, err
	}
	if ok && (!upper.After(wm) || upper.Sub(wm) < r.MinGap) {
		return ReconcileResult{Skipped: true, Watermark: wm}, nil
	}
	em := r.Emitter
	em.Dedupe = claimDeduper{r.Store}
	lower := wm.Add(-r.Overlap)
	if lower.Before(floor) {
		lower = floor // no replay of what came before the first pass
	}
	if r.MaxWindow > 0 && lower.Before(upper.Add(-r.MaxWindow)) {
		lower = upper.Add(-r.MaxWindow)
	}
	p := &pass{r: r, em: &em, lower: lower, upper: upper, first: !ok}
	var errs []error
	next := upper
	for _, res := range ReconciledResources {
		progress, err := p.resource(ctx, res)
		if err != nil {
			errs = append(errs, fmt.Errorf("%ss: %w", res, err))
		}
		if progress.Before(next) {
			next = progress
		}
	}
	if len(errs) > 0 {
		return ReconcileResult{First: p.first, Events: p.events, Watermark: wm}, errors.Join(errs...)
	}
	if err := r.Store.SetWatermark(ctx, next); err != nil {
		return ReconcileResult{First: p.first, Events: p.events, Watermark: wm}, err
	}
	return ReconcileResult{First: p.first, Events: p.events, Watermark: next}, nil
}

func (r *Reconciler) defaults() {
	if r.Overlap <= 0 {
		r.Overlap = DefaultReconcileOverlap
	}
	if r.Settle < 0 {
		r.Settle = 0
	}
	if r.PerPage <= 0 {
		r.PerPage = DefaultReconcilePerPage
	}
	if r.MaxPages <= 0 {
		r.MaxPages = DefaultReconcileMaxPages
	}
}

// pass is the state of one Pass.
type pass struct {
	r            *Reconciler
	em           *Emitter
	lower, upper time.Time
	first        bool
	events       int
}

func hasTrash(res string) bool { return res != "customer" }

// resource reconciles one resource and returns how far its changes were
// covered (upper unless the listing was cut at MaxPages).
func (p *pass) resource(ctx context.Context, res string) (time.Time, error) {
	subs := topicSubs{}
	for _, ev := range []string{"created", "updated", "deleted", "restored"} {
		v, err := p.em.Subscribers.Versions(ctx, res+"."+ev)
		if err != nil {
			return p.upper, fmt.Errorf("listing webhooks: %w", err)
		}
		subs[ev] = len(v) > 0
	}
	trash := hasTrash(res) && (subs["deleted"] || subs["restored"])
	if hasTrash(res) && !trash {
		// Nobody listens: forget the trash, so no stale set is compared
		// when somebody does again.
		if err := p.r.Store.DropTrashed(ctx, res); err != nil {
			return p.upper, err
		}
	}
	if p.first {
		if trash {
			return p.upper, p.snapshotTrash(ctx, res)
		}
		return p.upper, nil
	}
	progress := p.upper
	var items []json.RawMessage
	if subs["created"] || subs["updated"] || (trash && subs["restored"]) {
		var err error
		if res == "customer" {
			items, err = p.customers(ctx, subs)
		} else {
			items, progress, err = p.modified(ctx, res)
		}
		if err != nil {
			return p.upper, err
		}
	}
	restored := map[int64]bool{}
	if trash {
		var err error
		if restored, err = p.trash(ctx, res, items, subs); err != nil {
			return p.upper, err
		}
	}
	for _, it := range items {
		m, _ := parseMeta(it)
		if restored[m.id] {
			continue
		}
		full := []byte(it)
		if res == "customer" && !isFull(it) {
			full = nil
		}
		p.changed(ctx, res, it, full, subs)
	}
	return progress, nil
}

// modified lists the resource's items modified in (lower, upper), oldest
// first, walking the modified order by keyset (modified_after moves to
// the last page's last second; ids already seen are skipped).
func (p *pass) modified(ctx context.Context, res string) ([]json.RawMessage, time.Time, error) {
	var out []json.RawMessage
	seen := map[int64]string{}
	after, page := p.lower, 1
	for n := 0; n < p.r.MaxPages; n++ {
		q := url.Values{
			"modified_after":  {after.Format(stampLayout)},
			"modified_before": {p.upper.Format(stampLayout)},
			"dates_are_gmt":   {"true"},
			"orderby":         {"modified"},
			"order":           {"asc"},
			"per_page":        {strconv.Itoa(p.r.PerPage)},
			"page":            {strconv.Itoa(page)},
		}
		list, err := p.r.Lister.List(ctx, res, q)
		if err != nil {
			return nil, p.upper, err
		}
		var last time.Time
		for _, it := range list {
			m, ok := parseMeta(it)
			if !ok || m.id <= 0 {
				continue
			}
			if t, err := time.Parse(stampLayout, m.modified); err == nil {
				last = t
			}
			if seen[m.id] == m.modified {
				continue
			}
			seen[m.id] = m.modified
			out = append(out, it)
		}
		if len(list) < p.r.PerPage {
			return out, p.upper, nil
		}
		if next := last.Add(-time.Second); next.After(after) {
			after, page = next, 1
		} else {
			page++
		}
	}
	// Cut: the next pass starts where this one stopped.
	return out, after, nil
}

// customers lists customers registered in (lower, upper) (full items) and,
// when customer.updated has subscribers, the ids and dates of all
// customers (WooCommerce has no modified filter for customers), keeping
// those modified in the window.
func (p *pass) customers(ctx context.Context, subs topicSubs) ([]json.RawMessage, error) {
	var out []json.RawMessage
	full := map[int64]bool{}
	lower, upper := p.lower.Format(stampLayout), p.upper.Format(stampLayout)
	for page := 1; page <= p.r.MaxPages; page++ {
		list, err := p.r.Lister.List(ctx, "customer", url.Values{
			"orderby": {"registered_date"}, "order": {"desc"},
			"per_page": {strconv.Itoa(p.r.PerPage)}, "page": {strconv.Itoa(page)},
		})
		if err != nil {
			return nil, err
		}
		older := false
		for _, it := range list {
			m, ok := parseMeta(it)
			created := createdStamp(it)
			if !ok || m.id <= 0 || created >= upper {
				continue
			}
			if created <= lower {
				older = true
				continue
			}
			full[m.id] = true
			out = append(out, it)
		}
		if older || len(list) < p.r.PerPage {
			break
		}
	}
	slices.Reverse(out) // oldest first
	if !subs["updated"] {
		return out, nil
	}
	for page := 1; ; page++ {
		list, err := p.r.Lister.List(ctx, "customer", url.Values{
			"orderby": {"id"}, "order": {"asc"}, "_fields": {"id,date_created_gmt,date_modified_gmt"},
			"per_page": {strconv.Itoa(p.r.PerPage)}, "page": {strconv.Itoa(page)},
		})
		if err != nil {
			return nil, err
		}
		for _, it := range list {
			m, ok := parseMeta(it)
			if ok && m.id > 0 && !full[m.id] && m.modified > lower && m.modified < upper {
				out = append(out, it)
			}
		}
		if len(list) < p.r.PerPage {
			return out, nil
		}
	}
}

// changed emits .created for an item created in the window (unless the
// proxy did), else .updated when its state was not emitted yet. item
// gives the dates; full is the wp_api_v3 payload, nil when item is partial.
func (p *pass) changed(ctx context.Context, res string, item, full []byte, subs topicSubs) {
	m, _ := parseMeta(item)
	created := createdStamp(item)
	isNew := created > p.lower.Format(stampLayout)
	if isNew && subs["created"] {
		marked, err := p.r.Store.Exists(ctx, OnceKey(res+".created", m.id))
		if err != nil {
			p.em.warn("reconcile: event markers unavailable", err)
			return
		}
		if !marked {
			if n, _ := p.emit(ctx, Change{Topic: res + ".created", ID: m.id, Item: full, ItemVersion: v3If(full), Status: m.status, Modified: m.modified}); n > 0 {
				if err := p.r.Store.Mark(ctx, OnceKey(res+".created", m.id)); err != nil {
					p.em.warn("reconcile: event markers unavailable", err)
				}
			}
			return
		}
	}
	if !subs["updated"] || m.modified == "" || (isNew && m.modified <= created) {
		return
	}
	covered, err := p.r.Store.Exists(ctx,
		DedupeKey(res+".created", m.id, m.modified),
		DedupeKey(res+".updated", m.id, m.modified),
		DedupeKey(res+".restored", m.id, m.modified))
	if err != nil {
		p.em.warn("reconcile: event markers unavailable", err)
		return
	}
	if !covered {
		_, _ = p.emit(ctx, Change{Topic: res + ".updated", ID: m.id, Item: full, ItemVersion: v3If(full), Status: m.status, Modified: m.modified})
	}
}

// createdInTrash emits the .created of an item created and trashed since
// the last pass (the modified listings leave the trash out), unless the
// proxy or a pass already did; its payload is read per version.
func (p *pass) createdInTrash(ctx context.Context, res string, id int64) {
	marked, err := p.r.Store.Exists(ctx, OnceKey(res+".created", id))
	if err != nil || marked {
		return
	}
	if n, _ := p.emit(ctx, Change{Topic: res + ".created", ID: id}); n > 0 {
		if err := p.r.Store.Mark(ctx, OnceKey(res+".created", id)); err != nil {
			p.em.warn("reconcile: event markers unavailable", err)
		}
	}
}

// snapshotTrash remembers the current trash without emitting anything.
func (p *pass) snapshotTrash(ctx context.Context, res string) error {
	ids, _, err := p.trashIDs(ctx, res)
	if err != nil {
		return err
	}
	return p.r.Store.ResetTrashed(ctx, res, ids)
}

// trash compares the trash with the remembered one: newly trashed ids give
// .deleted, ids that left it and still exist give .restored (their
// payload from items when listed, else read). It returns the restored ids.
func (p *pass) trash(ctx context.Context, res string, items []json.RawMessage, subs topicSubs) (map[int64]bool, error) {
	current, created, err := p.trashIDs(ctx, res)
	if err != nil {
		return nil, err
	}
	prev, ok, err := p.r.Store.Trashed(ctx, res)
	if err != nil {
		return nil, err
	}
	if !ok {
		return map[int64]bool{}, p.r.Store.ResetTrashed(ctx, res, current)
	}
	inPrev, inCur := idSet(prev), idSet(current)
	var add, remove []int64
	for _, id := range current {
		if inPrev[id] {
			continue
		}
		if subs["created"] && created[id] > p.lower.Format(stampLayout) {
			p.createdInTrash(ctx, res, id)
		}
		if subs["deleted"] {
			taken, err := p.r.Store.Take(ctx, OnceKey(res+".deleted", id))
			if err != nil {
				return nil, err
			}
			if !taken {
				if _, err := p.emit(ctx, Change{Topic: res + ".deleted", ID: id}); err != nil {
					continue // retried by the next pass
				}
			}
		}
		add = append(add, id)
	}
	byID := map[int64][]byte{}
	for _, it := range items {
		if m, ok := parseMeta(it); ok {
			byID[m.id] = it
		}
	}
	restored := map[int64]bool{}
	slices.Sort(prev)
	for _, id := range prev {
		if inCur[id] {
			continue
		}
		if !subs["restored"] {
			remove = append(remove, id)
			continue
		}
		item, listed := byID[id]
		if !listed {
			got, found, err := p.r.Lister.Get(ctx, res, id)
			if err != nil {
				p.em.warn("reconcile: reading a restored "+res, err)
				continue
			}
			if !found {
				remove = append(remove, id) // deleted for good: no event
				continue
			}
			item = got
		}
		m, _ := parseMeta(item)
		if m.status == "trash" {
			continue // still trashed; the listing missed it
		}
		restored[id] = true
		taken, err := p.r.Store.Take(ctx, OnceKey(res+".restored", id))
		if err != nil {
			return nil, err
		}
		if !taken {
			c := Change{Topic: res + ".restored", ID: id, Item: item, ItemVersion: APIVersionWPV3, Status: m.status, Modified: m.modified}
			if _, err := p.emit(ctx, c); err != nil {
				continue // retried by the next pass
			}
		}
		remove = append(remove, id)
	}
	return restored, p.r.Store.UpdateTrashed(ctx, res, add, remove)
}

// trashIDs lists the ids of the resource's trash, page by page, with
// each one's creation stamp (see createdStamp).
func (p *pass) trashIDs(ctx context.Context, res string) ([]int64, map[int64]string, error) {
	var ids []int64
	created := map[int64]string{}
	for page := 1; ; page++ {
		list, err := p.r.Lister.List(ctx, res, url.Values{
			"status": {"trash"}, "_fields": {"id,date_created_gmt"}, "orderby": {"id"}, "order": {"asc"},
			"per_page": {strconv.Itoa(p.r.PerPage)}, "page": {strconv.Itoa(page)},
		})
		if err != nil {
			return nil, nil, err
		}
		for _, it := range list {
			if m, ok := parseMeta(it); ok && m.id > 0 {
				ids = append(ids, m.id)
				created[m.id] = createdStamp(it)
			}
		}
		if len(list) < p.r.PerPage {
			return ids, created, nil
		}
	}
}

// emit publishes c and counts the events. An error with nothing
// published means the change is to be tried again; (0, nil) means there
// was nothing to publish (already emitted, or a status that fires nothing).
func (p *pass) emit(ctx context.Context, c Change) (int, error) {
	n, err := p.em.EmitOne(ctx, c)
	if err != nil {
		p.em.warn("reconcile: "+c.Topic+" not published", err)
	}
	p.events += n
	if n > 0 {
		return n, nil
	}
	return 0, err
}

// claimDeduper de-duplicates by the existence of the DedupeKey: a state
// emitted by anybody is not emitted again by reconciliation.
type claimDeduper struct{ store ReconcileStore }

// Seen implements Deduper.
func (d claimDeduper) Seen(ctx context.Context, topic string, id int64, modified, _ string) (bool, error) {
	fresh, err := d.store.Claim(ctx, DedupeKey(topic, id, modified))
	return !fresh, err
}

// createdStamp is the item's date_created_gmt (or a v1 item's
// date_created, which is UTC), normalised like Modified.
func createdStamp(item []byte) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(item, &m) != nil {
		return ""
	}
	if s := utcStamp(text(m["date_created_gmt"])); s != "" {
		return s
	}
	return utcStamp(text(m["date_created"]))
}

// isFull reports whether a listed item is more than the id-and-dates
// projection of the customers scan.
func isFull(item []byte) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(item, &m) == nil && len(m) > 3
}

func v3If(full []byte) string {
	if full == nil {
		return ""
	}
	return APIVersionWPV3
}

func idSet(ids []int64) map[int64]bool {
	out := make(map[int64]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out
}
