package standin

import (
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// The stand-in's bulk trash and restore, as WordPress and WooCommerce
// answer them:
//
//   - /wp-admin/edit.php?post_type=<type>&action=trash|untrash (or
//     action=-1&action2=...) with post[]=<id>... or ids=<id>,<id> (the
//     "Undo" link; ids wins), GET or a POST form: check_admin_referer,
//     then each id in turn: a missing post or one of another type dies
//     with 500 ("not allowed"); a locked post (LockPost) is skipped when
//     trashing; a failed trash or restore dies with 500 (the ones before
//     it stay done). Then a 302 to the referer (else edit.php?post_type=)
//     without trashed, untrashed, deleted, locked and ids, with
//     trashed=N&ids=<ids>&locked=L or untrashed=N added, and without
//     action, action2 and post.
//   - /wp-admin/admin.php?page=wc-orders&action=trash|untrash (or
//     action2) with id[]=<id>... or id=<id> (the row links): ListTable::
//     handle_bulk_actions: a 302 to the referer (else admin.php?page=
//     wc-orders) without deleted and ids, with paged=1, and, when some
//     orders changed, bulk_action=trashed|untrashed&changed=N&ids=<ids in
//     reverse>. An order already in the trash counts as trashed; one not
//     in the trash is not restored and does not count. A missing order
//     is a fatal error (500).
//
// Other actions (and filter_action) are not answered here.

// lockedPosts holds LockPost's posts: *Server -> map[int64]bool, guarded
// by the store's mutex.
var lockedPosts sync.Map

// LockPost marks a post as being edited by another user
// (wp_check_post_lock): edit.php's bulk trash skips it.
func (s *Server) LockPost(id int64) {
	st := s.resources()
	st.mu.Lock()
	defer st.mu.Unlock()
	v, _ := lockedPosts.LoadOrStore(s, map[int64]bool{})
	v.(map[int64]bool)[id] = true
}

// bulkAction is WP_List_Table::current_action for trash and untrash: ""
// for other actions.
func bulkAction(f url.Values) string {
	if f.Get("filter_action") != "" {
		return ""
	}
	a := f.Get("action")
	if a == "" || a == "-1" {
		a = f.Get("action2")
	}
	if a != "trash" && a != "untrash" {
		return ""
	}
	return a
}

// bulkGate reads a bulk request's form and action ("" when it is no bulk
// trash or restore) and answers it as WordPress does when nobody is logged
// in or the nonce is missing (answered is then true).
func (c *call) bulkGate() (f url.Values, action string, answered bool) {
	f = c.requestValues()
	if action = bulkAction(f); action == "" {
		return f, "", false
	}
	if !c.loggedIn() {
		c.loginRedirect()
		return f, action, true
	}
	if f.Get("_wpnonce") == "" {
		c.wpDie(403, "The link you followed has expired.")
		return f, action, true
	}
	return f, action, false
}

// bulkPosts answers edit.php's bulk trash and restore.
func (c *call) bulkPosts() bool {
	f, action, answered := c.bulkGate()
	if action == "" || answered {
		return answered
	}
	postType := f.Get("post_type")
	if postType == "" {
		postType = "post"
	}
	raw := f["post[]"]
	if f.Get("ids") != "" {
		raw = strings.Split(f.Get("ids"), ",")
	}
	back := c.r.Header.Get("Referer")
	if back == "" {
		back = AdminURL + "edit.php?post_type=" + phpURLEncode(postType)
	}
	back = removeQueryArgs(back, "trashed", "untrashed", "deleted", "locked", "ids")
	now := c.s.adminNow()
	st := c.s.resources()
	st.mu.Lock()
	v, _ := lockedPosts.LoadOrStore(c.s, map[int64]bool{})
	locks := v.(map[int64]bool)
	var ids []string
	done, locked := 0, 0
	for _, s := range raw {
		id := atoi(strings.TrimSpace(s))
		ids = append(ids, strconv.FormatInt(id, 10))
		r, ok := st.items[id]
		if !ok || postTypeOf[r.Kind] != postType {
			st.mu.Unlock()
			c.wpDie(500, "Sorry, you are not allowed to move this item to the Trash.")
			return true
		}
		if action == "trash" && locks[id] {
			locked++
			continue
		}
		if !st.trash(r, action == "trash") {
			st.mu.Unlock()
			c.wpDie(500, "Error in moving the item to Trash.")
			return true
		}
		r.Modified = st.stamp(now)
		done++
	}
	st.mu.Unlock()
	if len(ids) > 0 {
		if action == "trash" {
			back = addQueryArg(addQueryArg(addQueryArg(back, "trashed", strconv.Itoa(done)), "ids", strings.Join(ids, ",")), "locked", strconv.Itoa(locked))
		} else {
			back = addQueryArg(back, "untrashed", strconv.Itoa(done))
		}
	}
	c.dated(now)
	c.redirect(removeQueryArgs(back, "action", "action2", "tags_input", "post_author", "comment_status", "ping_status", "_status", "post", "bulk_edit", "post_view"))
	return true
}

// bulkOrders answers the HPOS list's bulk trash and restore.
func (c *call) bulkOrders() bool {
	f, action, answered := c.bulkGate()
	if action == "" || answered {
		return answered
	}
	back := c.r.Header.Get("Referer")
	if back == "" {
		back = AdminURL + "admin.php?page=wc-orders"
	}
	back = addQueryArg(removeQueryArgs(back, "deleted", "ids"), "paged", "1")
	raw := append(f["id[]"], f["id"]...)
	var ids []string
	for i := len(raw) - 1; i >= 0; i-- {
		ids = append(ids, strconv.FormatInt(atoi(raw[i]), 10))
	}
	now := c.s.adminNow()
	st := c.s.resources()
	st.mu.Lock()
	changed := 0
	for _, s := range ids {
		r, ok := st.items[atoi(s)]
		if !ok || r.Kind != "order" {
			st.mu.Unlock()
			c.wpDie(500, "There has been a critical error on this website.")
			return true
		}
		switch {
		case action == "trash" && r.Status == "trash":
			changed++
		case st.trash(r, action == "trash"):
			r.Modified = st.stamp(now)
			changed++
		}
	}
	st.mu.Unlock()
	if changed > 0 {
		back = addQueryArg(addQueryArg(addQueryArg(back, "bulk_action", action+"ed"), "changed", strconv.Itoa(changed)), "ids", strings.Join(ids, ","))
	}
	c.dated(now)
	c.redirect(back)
	return true
}
