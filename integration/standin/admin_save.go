package standin

import (
	"fmt"
	"html"
	"net/http"
	"strings"
)

// The stand-in's edit screens and saves, as WordPress and WooCommerce
// answer them:
//
//   - GET /wp-admin/post-new.php?post_type=product|shop_coupon|shop_order
//     (get_default_post_to_edit): a new post in auto-draft, dated now, and
//     its edit form (200) with post_ID and original_post_status.
//   - POST /wp-admin/post.php, action=editpost (edit_post, then
//     redirect_post): 302 to post.php?post=<id>&action=edit&message=<n>
//     (6 published, 8 submitted, 10 draft updated, 1 updated). The new
//     status is the form's: publish when "publish" is posted, else
//     post_status, else draft for an auto-draft; orders take order_status
//     (wc-<status>, pending for a new one). A post never published
//     (auto-draft, draft, pending) is dated at the save, as
//     wp_update_post's clear_date does.
//   - GET /wp-admin/admin.php?page=wc-orders&action=new (HPOS "Add
//     order"): a new order in auto-draft and its form (200), which posts to
//     action=edit&id=<id>.
//   - POST /wp-admin/admin.php?page=wc-orders&action=edit&id=<id>,
//     action=edit_order (Edit::handle_order_update): 302 to
//     admin.php?page=wc-orders&action=edit&id=<id>&message=1. Another
//     action, or a GET, shows the edit form (200).
//
// A save without a session is auth_redirect's 302 to wp-login.php;
// without _wpnonce, check_admin_referer's 403; of a missing item, or of
// one in the trash, wp_die's 500 page.

// newPost answers post-new.php with a fresh auto-draft of postType.
func (c *call) newPost(postType string) {
	if !c.loggedIn() {
		c.loginRedirect()
		return
	}
	kind := kindOfPostType(postType)
	if kind == "" {
		c.wpDie(403, "Sorry, you are not allowed to create posts as this user.")
		return
	}
	r := c.autoDraft(kind)
	c.editForm("post.php", r, "editpost", "original_post_status", "auto-draft")
}

// newOrder answers the HPOS "Add order" screen.
func (c *call) newOrder() {
	if !c.loggedIn() {
		c.loginRedirect()
		return
	}
	r := c.autoDraft("order")
	c.editForm(fmt.Sprintf("%sadmin.php?page=wc-orders&action=edit&id=%d", AdminURL, r.ID), r, "edit_order", "original_order_status", "auto-draft")
}

// autoDraft stores a new item of kind in auto-draft, dated now.
func (c *call) autoDraft(kind string) Resource {
	now := c.s.adminNow()
	st := c.s.resources()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.nextID++
	r := &Resource{Kind: kind, ID: st.nextID, Status: "auto-draft", Created: now, Modified: st.stamp(now)}
	st.items[r.ID] = r
	return *r
}

// editForm answers an edit screen: 200, the form with its hidden fields.
func (c *call) editForm(action string, r Resource, formAction, originalField, original string) {
	c.w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	c.w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprintf(c.w, `<!DOCTYPE html>
<html><head><title>Edit</title></head><body>
<form name="post" action="%s" method="post" id="post">
<input type="hidden" id="_wpnonce" name="_wpnonce" value="n0nce" />
<input type="hidden" id="hiddenaction" name="action" value="%s" />
<input type="hidden" id="post_type" name="post_type" value="%s" />
<input type="hidden" id="%s" name="%s" value="%s" />
<input type="hidden" id="post_ID" name="post_ID" value="%d" />
</form></body></html>
`, html.EscapeString(action), formAction, postTypeOf[r.Kind], originalField, originalField, html.EscapeString(original), r.ID)
}

// savePost answers post.php's editpost.
func (c *call) savePost() {
	f := c.requestValues()
	if !c.loggedIn() {
		c.loginRedirect()
		return
	}
	if f.Get("_wpnonce") == "" {
		c.wpDie(403, "The link you followed has expired.")
		return
	}
	now := c.s.adminNow()
	st := c.s.resources()
	st.mu.Lock()
	r, ok := st.items[atoi(f.Get("post_ID"))]
	if !ok || postTypeOf[r.Kind] == "" || r.Status == "trash" {
		st.mu.Unlock()
		c.wpDie(500, "You attempted to edit an item that does not exist. Perhaps it was deleted?")
		return
	}
	old := r.Status
	switch {
	case r.Kind == "order":
		r.Status = strings.TrimPrefix(f.Get("order_status"), "wc-")
		if r.Status == "" && old == "auto-draft" {
			r.Status = "pending"
		} else if r.Status == "" {
			r.Status = old
		}
	case f.Get("publish") != "":
		r.Status = "publish"
	case f.Get("post_status") != "":
		r.Status = f.Get("post_status")
	case old == "auto-draft":
		r.Status = "draft"
	}
	if title := f.Get("post_title"); title != "" {
		r.Name = title
	}
	if old == "auto-draft" || (r.Kind != "order" && (old == "draft" || old == "pending")) {
		r.Created = now
	}
	r.Modified = st.stamp(now)
	id, status := r.ID, r.Status
	st.mu.Unlock()

	message := 1
	switch {
	case f.Get("publish") != "" && status == "pending":
		message = 8
	case f.Get("publish") != "":
		message = 6
	case status == "draft":
		message = 10
	}
	c.dated(now)
	c.redirect(fmt.Sprintf("%spost.php?post=%d&action=edit&message=%d", AdminURL, id, message))
}

// saveOrder answers the HPOS edit screen.
func (c *call) saveOrder() {
	if !c.loggedIn() {
		c.loginRedirect()
		return
	}
	f := c.requestValues()
	now := c.s.adminNow()
	st := c.s.resources()
	st.mu.Lock()
	r, ok := st.items[atoi(c.query["id"])]
	if !ok || r.Kind != "order" {
		st.mu.Unlock()
		c.wpDie(500, "You attempted to edit an order that does not exist. Perhaps it was deleted?")
		return
	}
	if c.r.Method != http.MethodPost || f.Get("action") != "edit_order" {
		shown := *r
		st.mu.Unlock()
		c.editForm(fmt.Sprintf("%sadmin.php?page=wc-orders&action=edit&id=%d", AdminURL, shown.ID), shown, "edit_order", "original_order_status", shown.Status)
		return
	}
	if f.Get("_wpnonce") == "" {
		st.mu.Unlock()
		c.wpDie(403, "The link you followed has expired.")
		return
	}
	old := r.Status
	if s := strings.TrimPrefix(f.Get("order_status"), "wc-"); s != "" {
		r.Status = s
	} else if old == "auto-draft" {
		r.Status = "pending"
	}
	if old == "auto-draft" {
		r.Created = now
	}
	r.Modified = st.stamp(now)
	id := r.ID
	st.mu.Unlock()
	c.dated(now)
	c.redirect(fmt.Sprintf("%sadmin.php?page=wc-orders&action=edit&id=%d&message=1", AdminURL, id))
}

// kindOfPostType maps WooCommerce's post types to stored kinds.
func kindOfPostType(pt string) string {
	for kind, t := range postTypeOf {
		if t == pt {
			return kind
		}
	}
	return ""
}
