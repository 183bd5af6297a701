package wcevents

import (
	"net/http"
	"net/url"
	"strings"
)

// DoorAdmin is the wp-admin door, answered by WordPress with a 302 on
// success. Its requests (orders, products and coupons in post storage;
// orders in HPOS, WooCommerce's admin.php?page=wc-orders screens):
//
//   - trash and restore links: GET or POST wp-admin/post.php?post=<id>&
//     action=trash|untrash (Watch.Admin nil, see adminDoor);
//   - bulk trash and restore (AdminBulk): wp-admin/edit.php?post_type=
//     <type>&action=trash|untrash (or action2) with post[]=<id>... or
//     ids=<id>,<id> (the "Undo" link), and admin.php?page=wc-orders&
//     action=trash|untrash&id[]=<id>... (HPOS's row links too, id=<id>);
//   - saves (AdminSave): POST wp-admin/post.php with action=editpost in
//     its form, and POST admin.php?page=wc-orders&action=edit&id=<id>
//     with action=edit_order (see admin_save.go).
//
// Its value lies between the checkout doors' and the add-to-cart doors'
// (16 and up).
const DoorAdmin Door = 8

// AdminKind is the kind of a wp-admin request with Watch.Admin set.
type AdminKind uint8

// The wp-admin requests besides post.php's trash and restore links.
const (
	AdminBulk AdminKind = iota + 1 // bulk trash (Op OpDelete) or restore (OpUpdate)
	AdminSave                      // an edit screen's save (Op OpUpdate)
)

// Admin is what a wp-admin bulk or save request says.
type Admin struct {
	// Kind is the request.
	Kind AdminKind
	// HPOS is true for admin.php?page=wc-orders, false for post storage.
	HPOS bool
	// IDs are a bulk request's ids, in the request's order.
	IDs []int64
	// Original is a save form's original_post_status (post storage) or
	// original_order_status (HPOS), "" when it has none.
	Original string
}

// Succeeded reports whether the upstream's status is the success answer
// of w's door: 302 (WordPress's redirect) for DoorAdmin and DoorAccount,
// 2xx otherwise.
func (w Watch) Succeeded(status int) bool {
	if w.Door == DoorAdmin || w.Door == DoorAccount {
		return status == http.StatusFound
	}
	return status >= 200 && status <= 299
}

// adminDoor recognises the wp-admin requests of DoorAdmin. Paths not
// ending in ".php" cost one suffix check. Trash and restore links are
// read from the query; a POST to post.php without them, or a POST bulk
// or HPOS save, is a candidate whose form decides (WantForm, adminForm).
// For post.php the resource is told by the redirect (links) or the form
// (saves); for edit.php by its post_type; HPOS is "order".
func adminDoor(r *http.Request) (Watch, bool) {
	path := r.URL.Path
	if !strings.HasSuffix(path, ".php") || (r.Method != http.MethodGet && r.Method != http.MethodPost) {
		return Watch{}, false
	}
	var kind string
	switch {
	case strings.HasSuffix(path, "/wp-admin/post.php"):
		kind = "post"
	case strings.HasSuffix(path, "/wp-admin/edit.php"):
		kind = "edit"
	case strings.HasSuffix(path, "/wp-admin/admin.php"):
		kind = "hpos"
	default:
		return Watch{}, false
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return Watch{}, false
	}
	post := r.Method == http.MethodPost
	switch kind {
	case "post":
		return postDoor(q, post)
	case "edit":
		w := Watch{Door: DoorAdmin, Admin: &Admin{Kind: AdminBulk}}
		if post && urlencoded(r.Header.Get("Content-Type")) {
			w.WantForm = true // $_REQUEST: the form may hold the action and ids
			return w, true
		}
		return w, w.bulk(q)
	}
	if q.Get("page") != "wc-orders" {
		return Watch{}, false
	}
	if q.Get("action") == "edit" && post {
		return hposSave(q)
	}
	w := Watch{Door: DoorAdmin, Resource: "order", Admin: &Admin{Kind: AdminBulk, HPOS: true}}
	if post && urlencoded(r.Header.Get("Content-Type")) {
		w.WantForm = true
		return w, true
	}
	return w, w.bulk(q)
}

// postDoor classifies wp-admin/post.php: a trash or restore link in the
// query, else (POST) a save candidate.
func postDoor(q url.Values, post bool) (Watch, bool) {
	w := Watch{Door: DoorAdmin}
	switch q.Get("action") {
	case "trash":
		w.Op = OpDelete
	case "untrash":
		w.Op = OpUpdate
	default:
		if !post {
			return Watch{}, false
		}
		return Watch{Door: DoorAdmin, Op: OpUpdate, Admin: &Admin{Kind: AdminSave}, WantForm: true}, true
	}
	id, ok := digits(q.Get("post"))
	if !ok || id <= 0 {
		return Watch{}, false
	}
	w.ID = id
	return w, true
}

// adminForm decides a DoorAdmin candidate on its fields (w.Form): a
// post.php form with action=editpost (a save), or action=trash|untrash
// (a link posted as a form); a bulk request's action and ids; an HPOS
// save's action=edit_order.
func (w *Watch) adminForm() bool {
	a := w.Admin
	if a == nil {
		return true
	}
	f := w.Form
	if a.Kind == AdminBulk {
		return w.bulk(f)
	}
	if a.HPOS {
		if f.Get("action") != "edit_order" {
			return false
		}
		a.Original = f.Get("original_order_status")
		return true
	}
	switch f.Get("action") {
	case "editpost":
		return w.postSave(f)
	case "trash", "untrash":
		link, ok := postDoor(url.Values{"action": {f.Get("action")}, "post": {firstOf(f, "post", "post_ID")}}, false)
		*w = link
		return ok
	}
	return false
}

// firstOf returns the first non-empty field of keys.
func firstOf(f url.Values, keys ...string) string {
	for _, k := range keys {
		if v := f.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// bulk reads a bulk request's action and ids from its fields, as
// WP_List_Table::current_action (filter_action wins; action, else
// action2, unless "-1") and edit.php (ids=<id>,<id> before post[]) or
// WooCommerce's ListTable (id[] or id) do. Only trash and untrash are
// watched; every id must be a positive integer (WordPress dies on the
// others before it redirects).
func (w *Watch) bulk(f url.Values) bool {
	a := w.Admin
	if f.Get("filter_action") != "" {
		return false
	}
	action := f.Get("action")
	if action == "" || action == "-1" {
		action = f.Get("action2")
	}
	switch action {
	case "trash":
		w.Op = OpDelete
	case "untrash":
		w.Op = OpUpdate
	default:
		return false
	}
	var raw []string
	switch {
	case a.HPOS:
		raw = append(f["id[]"], f["id"]...)
	case f.Get("ids") != "":
		raw = strings.Split(f.Get("ids"), ",")
	default:
		raw = f["post[]"]
	}
	if !a.HPOS {
		w.Resource = postTypes[f.Get("post_type")]
		if w.Resource == "" || f.Get("post_type") == "product_variation" {
			return false
		}
	}
	a.IDs = a.IDs[:0]
	for _, s := range raw {
		id, ok := digits(strings.TrimSpace(s))
		if !ok || id <= 0 {
			return false
		}
		a.IDs = append(a.IDs, id)
	}
	return len(a.IDs) > 0
}

// postTypes maps the post types of WooCommerce's resources in post storage.
var postTypes = map[string]string{"product": "product", "product_variation": "product", "shop_order": "order", "shop_coupon": "coupon"}

// deriveAdmin derives the changes of a wp-admin request's answer: only a
// 302 that says the request succeeded counts; a 302 elsewhere
// (wp-login.php for a lost session) or a wp_die page gives nothing.
func deriveAdmin(w Watch, status int, header http.Header) []Change {
	if status != http.StatusFound {
		return nil
	}
	loc, err := url.Parse(header.Get("Location"))
	if err != nil {
		return nil
	}
	switch {
	case w.Admin == nil:
		return deriveLink(w, loc)
	case w.Admin.Kind == AdminBulk:
		return deriveBulk(w, loc)
	case w.Admin.Kind == AdminSave:
		return deriveSave(w, loc, header)
	}
	return nil
}

// deriveLink derives the change of a trash or restore link: WordPress's
// 302 to a listing saying so (edit.php with trashed=N or untrashed=N, and
// ids naming the id when present). The post type comes from the
// Location's post_type; when it has none the resource cannot be told and
// nothing is derived. A trash gives <resource>.deleted, a restore
// <resource>.restored (read per version: there is no Item).
func deriveLink(w Watch, loc *url.URL) []Change {
	if w.ID <= 0 {
		return nil
	}
	q := loc.Query()
	flag, event := "trashed", ".deleted"
	if w.Op == OpUpdate {
		flag, event = "untrashed", ".restored"
	}
	if n, ok := digits(q.Get(flag)); !ok || n < 1 {
		return nil
	}
	if ids, ok := q["ids"]; ok && !hasID(ids[len(ids)-1], w.ID) {
		return nil
	}
	if !strings.HasSuffix(loc.Path, "/wp-admin/edit.php") {
		return nil
	}
	resource := postTypes[q.Get("post_type")]
	if resource == "" {
		return nil
	}
	return []Change{{Topic: resource + event, ID: w.ID}}
}

// deriveBulk derives one <resource>.deleted or .restored per id of a bulk
// request whose redirect reports every id done: edit.php's trashed=N
// (with locked=0 when present) or untrashed=N, HPOS's bulk_action=trashed|
// untrashed&changed=N (or trashed=N / untrashed=N), N the number of ids,
// and ids, when present, naming each; the redirect must stay in wp-admin. A partial answer (some posts
// locked, some orders not changed) does not tell which ids were done:
// nothing is derived (the reconciliation's trash listing finds them).
func deriveBulk(w Watch, loc *url.URL) []Change {
	a := w.Admin
	q := loc.Query()
	flag, event := "trashed", ".deleted"
	if w.Op == OpUpdate {
		flag, event = "untrashed", ".restored"
	}
	raw := q.Get(flag)
	if a.HPOS && q.Get("bulk_action") == flag {
		raw = q.Get("changed")
	}
	n, ok := digits(raw)
	if !ok || n < 1 || w.Resource == "" || !strings.Contains(loc.Path, "/wp-admin/") {
		return nil
	}
	if l := q.Get("locked"); l != "" && l != "0" {
		return nil
	}
	var out []Change
	seen := map[int64]bool{}
	for _, id := range a.IDs {
		if ids, ok := q["ids"]; ok && !hasID(ids[len(ids)-1], id) {
			return nil
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, Change{Topic: w.Resource + event, ID: id})
		}
	}
	if int64(len(a.IDs)) != n {
		return nil
	}
	return out
}

// hasID reports whether the comma-separated list names id.
func hasID(list string, id int64) bool {
	for _, s := range strings.Split(list, ",") {
		if n, ok := digits(strings.TrimSpace(s)); ok && n == id {
			return true
		}
	}
	return false
}
