package wcevents

import (
	"net/http"
	"net/url"
	"strings"
)

// DoorAdmin is the wp-admin trash and restore door: a GET or POST to
// wp-admin/post.php?post=<id>&action=trash|untrash (orders, products and
// coupons in post storage) or wp-admin/admin.php?page=wc-orders&
// action=trash|untrash&id=<id> (HPOS orders). Its value lies between the
// checkout doors' and the add-to-cart doors' (16 and up).
const DoorAdmin Door = 8

// Succeeded reports whether the upstream's status is the success answer
// of w's door: 302 (WordPress's redirect) for DoorAdmin, 2xx otherwise.
func (w Watch) Succeeded(status int) bool {
	if w.Door == DoorAdmin {
		return status == http.StatusFound
	}
	return status >= 200 && status <= 299
}

// adminDoor recognises a trash or restore request of wp-admin (see
// DoorAdmin). It costs two suffix checks on other paths. Only the query
// is read: a post.php action given in a form body alone is not watched.
// Op is OpDelete for trash and OpUpdate for untrash; Resource is "order"
// for HPOS and "" for post.php (the redirect tells the post type).
func adminDoor(r *http.Request) (Watch, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return Watch{}, false
	}
	path := r.URL.Path
	post := strings.HasSuffix(path, "/wp-admin/post.php")
	if !post && !strings.HasSuffix(path, "/wp-admin/admin.php") {
		return Watch{}, false
	}
	raw := r.URL.RawQuery
	if !strings.Contains(raw, "action=") {
		return Watch{}, false
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return Watch{}, false
	}
	w := Watch{Door: DoorAdmin}
	switch q.Get("action") {
	case "trash":
		w.Op = OpDelete
	case "untrash":
		w.Op = OpUpdate
	default:
		return Watch{}, false
	}
	idKey := "post"
	if !post {
		if q.Get("page") != "wc-orders" {
			return Watch{}, false
		}
		idKey, w.Resource = "id", "order"
	}
	id, ok := digits(q.Get(idKey))
	if !ok || id <= 0 {
		return Watch{}, false
	}
	w.ID = id
	return w, true
}

// postTypes maps the post types of WooCommerce's resources in post storage.
var postTypes = map[string]string{"product": "product", "product_variation": "product", "shop_order": "order", "shop_coupon": "coupon"}

// deriveAdmin derives the change of a trash or restore: only WordPress's
// 302 to a listing saying so counts (edit.php or admin.php?page=wc-orders
// with trashed=N or untrashed=N, and ids naming the id when present); a
// 302 elsewhere (wp-login.php for a lost session) or a wp_die page gives
// nothing. For post.php the post type comes from the Location's
// post_type; when it has none the resource cannot be told and nothing is
// derived. A trash gives <resource>.deleted, a restore <resource>.restored
// (read per version: there is no Item).
func deriveAdmin(w Watch, status int, header http.Header) []Change {
	if status != http.StatusFound || w.ID <= 0 {
		return nil
	}
	loc, err := url.Parse(header.Get("Location"))
	if err != nil {
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
	resource := w.Resource
	switch {
	case resource == "order":
		if !strings.HasSuffix(loc.Path, "/wp-admin/admin.php") && !strings.HasSuffix(loc.Path, "/wp-admin/edit.php") {
			return nil
		}
	case strings.HasSuffix(loc.Path, "/wp-admin/edit.php"):
		resource = postTypes[q.Get("post_type")]
	}
	if resource == "" {
		return nil
	}
	return []Change{{Topic: resource + event, ID: w.ID}}
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
