package wcevents

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// CreatedWindow is how close to a wp-admin save a product's or coupon's
// creation date must be for WooCommerce to count the save as its
// creation: 10 s (WC_Webhook::is_valid_processing_action: created when
// time() - 10 <= the post date).
const CreatedWindow = 10 * time.Second

// hposSave classifies a POST to admin.php?page=wc-orders&action=edit&
// id=<id>, WooCommerce's HPOS order edit screen (Edit::handle_order_update;
// the "Add order" screen, action=new, makes an auto-draft order whose form
// posts here too). Its form decides (action=edit_order).
func hposSave(q url.Values) (Watch, bool) {
	id, ok := digits(q.Get("id"))
	if !ok || id <= 0 {
		return Watch{}, false
	}
	return Watch{Door: DoorAdmin, Resource: "order", Op: OpUpdate, ID: id, Admin: &Admin{Kind: AdminSave, HPOS: true}, WantForm: true}, true
}

// postSave reads a post.php save form (action=editpost): post_ID, and
// post_type naming an order, product or coupon; false for other posts.
func (w *Watch) postSave(f url.Values) bool {
	id, ok := digits(f.Get("post_ID"))
	pt := f.Get("post_type")
	if !ok || id <= 0 || postTypes[pt] == "" || pt == "product_variation" {
		return false
	}
	w.ID, w.Resource, w.Op = id, postTypes[pt], OpUpdate
	w.Admin.Original = f.Get("original_post_status")
	return true
}

// deriveSave derives the change of a save: only WordPress's redirect back
// to the edit screen with a message counts (post.php?post=<id>&action=
// edit&message=N; HPOS: admin.php?page=wc-orders&action=edit&id=<id>&
// message=N). What WooCommerce fires:
//
//   - orders: order.created (woocommerce_new_order) when the save moves the
//     order out of new, auto-draft or draft (the form's original status:
//     the "Add order" flow), order.updated (woocommerce_update_order)
//     otherwise. Without an original status in the form, the creation
//     date decides as for products (Change.Saved).
//   - products and coupons: woocommerce_process_*_meta fires .created when
//     the post date is within CreatedWindow of the save, and the save of
//     the object fires woocommerce_update_product / _coupon, so .updated
//     always: the change carries Saved and Emitter.ResolveSaves decides.
func deriveSave(w Watch, loc *url.URL, header http.Header) []Change {
	if w.ID <= 0 || w.Resource == "" {
		return nil
	}
	q := loc.Query()
	if _, ok := digits(q.Get("message")); !ok || q.Get("action") != "edit" {
		return nil
	}
	idKey, path := "post", "/wp-admin/post.php"
	if w.Admin.HPOS {
		idKey, path = "id", "/wp-admin/admin.php"
		if q.Get("page") != "wc-orders" {
			return nil
		}
	}
	if id, ok := digits(q.Get(idKey)); !ok || id != w.ID || !strings.HasSuffix(loc.Path, path) {
		return nil
	}
	c := Change{Topic: w.Resource + ".updated", ID: w.ID}
	if orig := strings.TrimPrefix(w.Admin.Original, "wc-"); w.Resource == "order" && orig != "" {
		if orig == "new" || orig == "auto-draft" || orig == "draft" {
			c.Topic = "order.created"
		}
		return []Change{c}
	}
	c.Saved = saveTime(header)
	return []Change{c}
}

// saveTime is when WordPress answered: the answer's Date (WordPress's
// clock, which its creation dates use), else now.
func saveTime(h http.Header) time.Time {
	if t, err := http.ParseTime(h.Get("Date")); err == nil {
		return t.UTC()
	}
	return time.Now().UTC()
}

// ResolveSaves turns every wp-admin save change (Change.Saved set) into
// the events WooCommerce fires for it, and returns the changes to
// publish: it reads the resource once (with e.Reader, in an api_version a
// webhook of the topics uses) and compares its creation date with the
// save: within CreatedWindow (or none yet: a draft, which WordPress dates
// at every save) it is created: <resource>.created, and for products and
// coupons <resource>.updated as well (see deriveSave); else
// <resource>.updated. The read becomes the changes' Item for its version,
// so it is not read again. Saves nobody listens to are dropped before any
// read; a save whose read fails counts as updated (EmitOne then reads it
// again, or reports why it cannot). The errors met are returned joined.
func (e *Emitter) ResolveSaves(ctx context.Context, changes []Change) ([]Change, error) {
	var out []Change
	var errs []error
	for _, c := range changes {
		if c.Saved.IsZero() {
			out = append(out, c)
			continue
		}
		res := c.Resource()
		created, updated := Change{Topic: res + ".created", ID: c.ID}, Change{Topic: res + ".updated", ID: c.ID}
		vc, err := e.Subscribers.Versions(ctx, created.Topic)
		vu, err2 := e.Subscribers.Versions(ctx, updated.Topic)
		if err = errors.Join(err, err2); err != nil {
			errs = append(errs, fmt.Errorf("listing webhooks of %s: %w", res, err))
			continue
		}
		switch {
		case len(vc) == 0 && len(vu) == 0:
			continue
		case len(vc) == 0 && res != "order":
			out = append(out, updated) // fired whether created or not
			continue
		}
		v := readVersion(vc, vu)
		var item []byte
		if e.Reader == nil {
			err = fmt.Errorf("%s %d: no reader to tell created from updated", res, c.ID)
		} else {
			item, err = e.Reader.Read(ctx, res, c.ID, v)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %s %d: %w", res, c.ID, err))
			e.warn("admin save: created or updated unknown", err)
			out = append(out, updated)
			continue
		}
		created.Item, created.ItemVersion = item, v
		updated.Item, updated.ItemVersion = item, v
		switch {
		case !createdWithin(item, v, res, c.Saved):
			out = append(out, updated)
		case res == "order":
			out = append(out, created)
		default:
			out = append(out, created, updated)
		}
	}
	return out, errors.Join(errs...)
}

// readVersion picks the api_version to read a saved resource in: one the
// created topic's webhooks use (both topics' when possible), else one of
// the updated topic's.
func readVersion(created, updated []string) string {
	both := slices.DeleteFunc(slices.Clone(created), func(v string) bool { return !slices.Contains(updated, v) })
	for _, vs := range [][]string{both, created, updated} {
		if len(vs) > 0 {
			return slices.Min(vs)
		}
	}
	return APIVersionWPV3
}

// createdWithin reports whether a resource read in api_version version
// was created at most CreatedWindow before at: its date_created_gmt
// (wp_api_v2/v3), date_created (wp_api_v1, UTC) or created_at (legacy_v3,
// wrapped). A null or empty date (a draft never published) counts as
// created, an absent or malformed one as not.
func createdWithin(item []byte, version, resource string, at time.Time) bool {
	key := "date_created_gmt"
	switch version {
	case APIVersionLegacyV3:
		item, key = unwrap(item, resource), "created_at"
	case APIVersionWPV1:
		key = "date_created"
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(item, &m) != nil {
		return false
	}
	raw, ok := m[key]
	if !ok {
		return false
	}
	if raw = bytes.TrimSpace(raw); string(raw) == "null" || string(raw) == `""` {
		return true
	}
	t, err := time.Parse("2006-01-02T15:04:05", strings.TrimSuffix(text(raw), "Z"))
	if err != nil {
		return false
	}
	return !t.Before(at.Add(-CreatedWindow))
}
