package standin

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The stand-in's wp-admin, answering like WordPress and WooCommerce:
//
//   - post storage trash and restore links, GET or POST /wp-admin/post.php?
//     post=<id>&action=trash|untrash&_wpnonce=... (the action and post may
//     also come in a form body, as $_REQUEST): wp_trash_post /
//     wp_untrash_post, then wp_redirect (302) to the referer when it is
//     not post.php or post-new.php, else to edit.php?post_type=<type>, with
//     trashed=1&ids=<id> or untrashed=1&ids=<id> added. Orders are
//     shop_order, coupons shop_coupon, products product.
//   - bulk trash and restore (admin_bulk.go): edit.php's list actions and
//     WooCommerce's HPOS list (admin.php?page=wc-orders, whose row links
//     are bulk actions of one id).
//   - edit screens and saves (admin_save.go): post-new.php's auto-draft,
//     post.php's editpost, HPOS's action=new and action=edit screens.
//
// Without a wordpress_logged_in_* cookie the answer is auth_redirect's 302
// to wp-login.php; without _wpnonce, check_admin_referer's wp_die (403).
// A missing item, or trashing a trashed one (restoring one not in the
// trash), is wp_die's 500 page. A restore gives the item back the status
// it had before the trash (WC_Post_Data::wp_untrash_post_status). Answers
// to saves and bulk actions carry a Date header from the admin clock
// (AdvanceAdminClock), WordPress's time().

// AdminURL is the stand-in's admin URL (admin_url()).
const AdminURL = "https://shop.example/wp-admin/"

// postTypeOf maps stored kinds to post types.
var postTypeOf = map[string]string{"product": "product", "order": "shop_order", "coupon": "shop_coupon"}

// trashMeta holds _wp_trash_meta_status: per store, the status an item had
// before it was trashed. Guarded by the store's mutex.
var trashMeta sync.Map // *resourceStore -> map[int64]string

// serveAdmin answers the wp-admin doors; false when the request is none.
func (c *call) serveAdmin() bool {
	path := c.r.URL.Path
	req := c.request()
	action := req["action"]
	switch {
	case strings.HasSuffix(path, "/wp-admin/post.php"):
		switch action {
		case "trash", "untrash":
			id := atoi(req["post"])
			if id == 0 {
				id = atoi(req["post_ID"])
			}
			c.adminTrash(action, id, "", "edit.php")
			return true
		case "editpost":
			c.savePost()
			return true
		}
	case strings.HasSuffix(path, "/wp-admin/post-new.php"):
		c.newPost(req["post_type"])
		return true
	case strings.HasSuffix(path, "/wp-admin/edit.php"):
		return c.bulkPosts()
	case strings.HasSuffix(path, "/wp-admin/admin.php") && req["page"] == "wc-orders":
		switch c.query["action"] {
		case "new":
			c.newOrder()
			return true
		case "edit":
			c.saveOrder()
			return true
		}
		return c.bulkOrders()
	}
	return false
}

// request is $_REQUEST: the query, a form body's fields over it.
func (c *call) request() map[string]string {
	out := map[string]string{}
	for k, v := range c.query {
		out[k] = v
	}
	if c.r.Method == http.MethodPost && strings.HasPrefix(c.r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		for k, v := range phpQuery(string(c.body)) {
			out[k] = v
		}
	}
	return out
}

// requestValues is $_REQUEST with arrays (post[]=1&post[]=2): the
// query's values, an urlencoded form body's first in each list.
func (c *call) requestValues() url.Values {
	out, _ := url.ParseQuery(c.r.URL.RawQuery)
	if out == nil {
		out = url.Values{}
	}
	if c.r.Method == http.MethodPost && strings.HasPrefix(c.r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, _ := url.ParseQuery(string(c.body))
		for k, v := range body {
			out[k] = append(v, out[k]...)
		}
	}
	return out
}

// adminTrash trashes or restores item id (of kind, "" for any post type)
// and redirects to the listing (list, below the admin URL).
func (c *call) adminTrash(action string, id int64, kind, list string) {
	if !c.loggedIn() {
		c.redirect("https://shop.example/wp-login.php?redirect_to=" + phpURLEncode(c.r.URL.RequestURI()) + "&reauth=1")
		return
	}
	if c.request()["_wpnonce"] == "" {
		c.wpDie(403, "The link you followed has expired.")
		return
	}
	st := c.s.resources()
	st.mu.Lock()
	r, ok := st.items[id]
	if ok && (postTypeOf[r.Kind] == "" || (kind != "" && r.Kind != kind)) {
		ok = false
	}
	var done bool
	var postType string
	if ok {
		postType = postTypeOf[r.Kind]
		done = st.trash(r, action == "trash")
	}
	st.mu.Unlock()
	switch {
	case !ok:
		c.wpDie(500, "The item you are trying to move to the Trash no longer exists.")
		return
	case !done && action == "trash":
		c.wpDie(500, "Error in moving the item to Trash.")
		return
	case !done:
		c.wpDie(500, "Error in restoring the item from Trash.")
		return
	}
	flag := "trashed"
	if action == "untrash" {
		flag = "untrashed"
	}
	back := c.r.Header.Get("Referer")
	if back == "" || strings.Contains(back, "post.php") || strings.Contains(back, "post-new.php") {
		back = AdminURL + list
		if kind == "" {
			back = addQueryArg(back, "post_type", postType)
		}
	} else {
		back = removeQueryArgs(back, "trashed", "untrashed", "deleted", "ids")
	}
	c.redirect(addQueryArg(addQueryArg(back, flag, "1"), "ids", strconv.FormatInt(id, 10)))
}

// trash moves r to the trash (or out of it); false when it already is
// there (or is not). The caller holds st.mu.
func (st *resourceStore) trash(r *Resource, in bool) bool {
	v, _ := trashMeta.LoadOrStore(st, map[int64]string{})
	meta := v.(map[int64]string)
	if (r.Status == "trash") == in {
		return false
	}
	if in {
		meta[r.ID] = r.Status
		r.Status = "trash"
	} else {
		r.Status = meta[r.ID]
		if r.Status == "" {
			r.Status = "draft"
		}
		delete(meta, r.ID)
	}
	r.Modified = st.tick()
	return true
}

// loggedIn reports whether the request carries a login cookie.
func (c *call) loggedIn() bool {
	for _, ck := range c.r.Cookies() {
		if strings.HasPrefix(ck.Name, "wordpress_logged_in_") && ck.Value != "" {
			return true
		}
	}
	return false
}

// redirect answers as wp_redirect: 302, Location, an empty HTML body.
func (c *call) redirect(to string) {
	c.w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	c.w.Header().Set("Location", to)
	c.w.WriteHeader(http.StatusFound)
}

// wpDie answers as wp_die's HTML page.
func (c *call) wpDie(status int, msg string) {
	c.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	c.w.WriteHeader(status)
	_, _ = c.w.Write([]byte("<!DOCTYPE html>\n<html><head><title>WordPress &rsaquo; Error</title></head><body id=\"error-page\"><div class=\"wp-die-message\">" + msg + "</div></body></html>\n"))
}

// addQueryArg is add_query_arg: key replaced if present, else appended.
func addQueryArg(u, key, value string) string {
	u = removeQueryArgs(u, key)
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + phpURLEncode(key) + "=" + phpURLEncode(value)
}

// removeQueryArgs is remove_query_arg for flat keys.
func removeQueryArgs(u string, keys ...string) string {
	base, raw, ok := strings.Cut(u, "?")
	if !ok {
		return u
	}
	var kept []string
	for _, part := range strings.Split(raw, "&") {
		k, _, _ := strings.Cut(part, "=")
		drop := part == ""
		for _, key := range keys {
			drop = drop || phpUnescape(k) == key
		}
		if !drop {
			kept = append(kept, part)
		}
	}
	if len(kept) == 0 {
		return base
	}
	return base + "?" + strings.Join(kept, "&")
}

// phpURLEncode is PHP's urlencode.
func phpURLEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '-', ch == '_', ch == '.':
			b.WriteByte(ch)
		case ch == ' ':
			b.WriteByte('+')
		default:
			const hex = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hex[ch>>4])
			b.WriteByte(hex[ch&15])
		}
	}
	return b.String()
}

// adminSkew holds AdvanceAdminClock's offsets: *Server -> time.Duration.
var adminSkew sync.Map

// AdvanceAdminClock moves the admin screens' clock forward by d: the dates
// saves give posts and the Date of their answers. Tests use it to make a
// post older than WooCommerce's 10 s "created" window without waiting.
func (s *Server) AdvanceAdminClock(d time.Duration) {
	for {
		old, _ := adminSkew.LoadOrStore(s, time.Duration(0))
		if adminSkew.CompareAndSwap(s, old, old.(time.Duration)+d) {
			return
		}
	}
}

// adminNow is the admin clock (UTC, whole seconds, as MySQL dates).
func (s *Server) adminNow() time.Time {
	v, _ := adminSkew.Load(s)
	skew, _ := v.(time.Duration)
	return time.Now().Add(skew).UTC().Truncate(time.Second)
}

// stamp moves the store clock up to now when it is behind and returns a
// new modification time. The caller holds st.mu.
func (st *resourceStore) stamp(now time.Time) time.Time {
	if st.clock.Before(now) {
		st.clock = now
	}
	return st.tick()
}

// dated gives the answer the Date of the admin clock's now.
func (c *call) dated(now time.Time) {
	c.w.Header().Set("Date", now.Format(http.TimeFormat))
}

// loginRedirect is auth_redirect's answer to a request without a session.
func (c *call) loginRedirect() {
	c.redirect("https://shop.example/wp-login.php?redirect_to=" + phpURLEncode(c.r.URL.RequestURI()) + "&reauth=1")
}
