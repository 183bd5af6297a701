package standin

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAdminTrashAndRestore(t *testing.T) {
	s := New()
	st := s.resources()
	st.mu.Lock()
	p := st.create("product", 0, map[string]any{"status": "private"})
	cust := st.create("customer", 0, nil)
	st.mu.Unlock()
	send := func(method, target, body string, hdr ...string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Cookie", "wordpress_logged_in_x=admin%7C1")
		if body != "" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	status := func() string { r, _ := s.Resource(p.ID); return r.Status }

	w := send("GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=trash&_wpnonce=n", p.ID), "",
		"Referer", "https://shop.example/wp-admin/edit.php?post_type=product&trashed=1&ids=5&orderby=title")
	require.Equal(t, 302, w.Code, w.Body.String())
	assert.Equal(t, fmt.Sprintf("https://shop.example/wp-admin/edit.php?post_type=product&orderby=title&trashed=1&ids=%d", p.ID), w.Header().Get("Location"))
	assert.Equal(t, "trash", status())

	w = send("GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=trash&_wpnonce=n", p.ID), "")
	assert.Equal(t, 500, w.Code, "already in the trash")

	// $_REQUEST: the form body's action and post.
	w = send("POST", "/wp-admin/post.php", fmt.Sprintf("action=untrash&post=%d&_wpnonce=n", p.ID))
	require.Equal(t, 302, w.Code, w.Body.String())
	assert.Equal(t, fmt.Sprintf("https://shop.example/wp-admin/edit.php?post_type=product&untrashed=1&ids=%d", p.ID), w.Header().Get("Location"))
	assert.Equal(t, "private", status(), "the status before the trash")

	w = send("GET", fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&action=trash&id=%d&_wpnonce=n", p.ID), "")
	assert.Equal(t, 500, w.Code, "not an order")
	w = send("GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=trash&_wpnonce=n", cust.ID), "")
	assert.Equal(t, 500, w.Code, "customers are users, not posts")
	w = send("GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=trash", p.ID), "")
	assert.Equal(t, 403, w.Code, "no nonce")

	r := httptest.NewRequest("GET", fmt.Sprintf("/wp-admin/post.php?post=%d&action=trash&_wpnonce=n", p.ID), nil)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, r)
	require.Equal(t, 302, rec.Code)
	assert.True(t, strings.HasPrefix(rec.Header().Get("Location"), "https://shop.example/wp-login.php?redirect_to=%2Fwp-admin%2Fpost.php%3F"), rec.Header().Get("Location"))
	assert.Equal(t, "private", status())

	w = send("GET", "/wp-admin/post.php?post=1&action=edit", "")
	assert.NotEqual(t, 302, w.Code, "other actions are not the trash door")
}

func TestAdminSaveScreens(t *testing.T) {
	s := New()
	send := func(method, target, body string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Cookie", "wordpress_logged_in_x=admin%7C1")
		if body != "" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	postID := regexp.MustCompile(`name="post_ID" value="(\d+)"`)
	idIn := func(w *httptest.ResponseRecorder) int64 {
		t.Helper()
		require.Equal(t, 200, w.Code, w.Body.String())
		m := postID.FindStringSubmatch(w.Body.String())
		require.NotNil(t, m, w.Body.String())
		return atoi(m[1])
	}

	// Add new product: an auto-draft, then published by the first save.
	w := send("GET", "/wp-admin/post-new.php?post_type=product", "")
	id := idIn(w)
	assert.Contains(t, w.Body.String(), `name="original_post_status" value="auto-draft"`)
	r, _ := s.Resource(id)
	assert.Equal(t, "auto-draft", r.Status)
	s.AdvanceAdminClock(time.Hour)
	w = send("POST", "/wp-admin/post.php", fmt.Sprintf("_wpnonce=n&action=editpost&post_type=product&post_ID=%d&original_post_status=auto-draft&post_title=Mug&publish=Publish", id))
	require.Equal(t, 302, w.Code, w.Body.String())
	assert.Equal(t, fmt.Sprintf("%spost.php?post=%d&action=edit&message=6", AdminURL, id), w.Header().Get("Location"))
	date, err := http.ParseTime(w.Header().Get("Date"))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(time.Hour), date, time.Minute, "the admin clock")
	r, _ = s.Resource(id)
	assert.Equal(t, "publish", r.Status)
	assert.Equal(t, "Mug", r.Name)
	assert.Equal(t, date, r.Created, "dated when first published")
	assert.False(t, r.Modified.Before(r.Created))

	// A later save keeps the date; a draft save says so.
	s.AdvanceAdminClock(time.Minute)
	w = send("POST", "/wp-admin/post.php", fmt.Sprintf("_wpnonce=n&action=editpost&post_type=product&post_ID=%d&original_post_status=publish&post_status=draft&save=Save", id))
	require.Equal(t, 302, w.Code)
	assert.Equal(t, fmt.Sprintf("%spost.php?post=%d&action=edit&message=10", AdminURL, id), w.Header().Get("Location"))
	r2, _ := s.Resource(id)
	assert.Equal(t, r.Created, r2.Created)
	assert.True(t, r2.Modified.After(r.Modified))

	// Failures: no nonce, no session, a missing item.
	w = send("POST", "/wp-admin/post.php", fmt.Sprintf("action=editpost&post_ID=%d", id))
	assert.Equal(t, 403, w.Code)
	w = send("POST", "/wp-admin/post.php", "_wpnonce=n&action=editpost&post_ID=99999")
	assert.Equal(t, 500, w.Code)
	rq := httptest.NewRequest("POST", "/wp-admin/post.php", strings.NewReader("_wpnonce=n&action=editpost&post_ID=1"))
	rq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, rq)
	require.Equal(t, 302, rec.Code)
	assert.True(t, strings.HasPrefix(rec.Header().Get("Location"), "https://shop.example/wp-login.php?"))

	// HPOS: Add order, then its first save.
	w = send("GET", "/wp-admin/admin.php?page=wc-orders&action=new", "")
	oid := idIn(w)
	assert.Contains(t, w.Body.String(), fmt.Sprintf(`action="%sadmin.php?page=wc-orders&amp;action=edit&amp;id=%d"`, AdminURL, oid))
	w = send("POST", fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&action=edit&id=%d", oid), fmt.Sprintf("_wpnonce=n&action=edit_order&original_order_status=auto-draft&post_ID=%d&order_status=wc-on-hold", oid))
	require.Equal(t, 302, w.Code, w.Body.String())
	assert.Equal(t, fmt.Sprintf("%sadmin.php?page=wc-orders&action=edit&id=%d&message=1", AdminURL, oid), w.Header().Get("Location"))
	o, _ := s.Resource(oid)
	assert.Equal(t, "on-hold", o.Status)
	w = send("GET", fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&action=edit&id=%d", oid), "")
	assert.Contains(t, w.Body.String(), `name="original_order_status" value="on-hold"`)
}

func TestAdminBulk(t *testing.T) {
	s := New()
	st := s.resources()
	st.mu.Lock()
	p1 := st.create("product", 0, nil).ID
	p2 := st.create("product", 0, nil).ID
	o1 := st.create("order", 0, map[string]any{"status": "processing"}).ID
	o2 := st.create("order", 0, nil).ID
	st.mu.Unlock()
	send := func(target, referer string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest("GET", target, nil)
		r.Header.Set("Cookie", "wordpress_logged_in_x=admin%7C1")
		if referer != "" {
			r.Header.Set("Referer", referer)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	status := func(id int64) string { r, _ := s.Resource(id); return r.Status }

	w := send(fmt.Sprintf("/wp-admin/edit.php?post_type=product&action=trash&action2=-1&post%%5B%%5D=%d&post%%5B%%5D=%d&_wpnonce=n", p1, p2), "https://shop.example/wp-admin/edit.php?post_type=product&paged=2&trashed=9")
	require.Equal(t, 302, w.Code, w.Body.String())
	assert.Equal(t, fmt.Sprintf("https://shop.example/wp-admin/edit.php?post_type=product&paged=2&trashed=2&ids=%d%%2C%d&locked=0", p1, p2), w.Header().Get("Location"))
	assert.Equal(t, "trash", status(p1))
	assert.Equal(t, "trash", status(p2))

	w = send(fmt.Sprintf("/wp-admin/edit.php?post_type=product&doaction=undo&action=untrash&ids=%d,%d&_wpnonce=n", p1, p2), "")
	require.Equal(t, 302, w.Code, w.Body.String())
	assert.Equal(t, "https://shop.example/wp-admin/edit.php?post_type=product&untrashed=2", w.Header().Get("Location"))
	assert.Equal(t, "publish", status(p1))

	s.LockPost(p2)
	w = send(fmt.Sprintf("/wp-admin/edit.php?post_type=product&action=-1&action2=trash&post[]=%d&post[]=%d&_wpnonce=n", p1, p2), "")
	require.Equal(t, 302, w.Code)
	assert.Contains(t, w.Header().Get("Location"), "trashed=1&")
	assert.Contains(t, w.Header().Get("Location"), "locked=1")
	assert.Equal(t, "publish", status(p2), "locked")

	w = send(fmt.Sprintf("/wp-admin/edit.php?post_type=shop_order&action=trash&post[]=%d&_wpnonce=n", p2), "")
	assert.Equal(t, 500, w.Code, "not an order")
	w = send(fmt.Sprintf("/wp-admin/edit.php?post_type=product&action=trash&post[]=%d", p2), "")
	assert.Equal(t, 403, w.Code)
	w = send(fmt.Sprintf("/wp-admin/edit.php?post_type=product&action=edit&post[]=%d&_wpnonce=n", p2), "")
	assert.NotEqual(t, 302, w.Code, "other bulk actions are not answered here")

	// HPOS: ids reversed in the redirect, changed counted.
	w = send(fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&action=trash&id%%5B%%5D=%d&id%%5B%%5D=%d&_wpnonce=n", o1, o2), "https://shop.example/wp-admin/admin.php?page=wc-orders&status=all")
	require.Equal(t, 302, w.Code, w.Body.String())
	assert.Equal(t, fmt.Sprintf("https://shop.example/wp-admin/admin.php?page=wc-orders&status=all&paged=1&bulk_action=trashed&changed=2&ids=%d%%2C%d", o2, o1), w.Header().Get("Location"))
	w = send(fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&action=untrash&id=%d&_wpnonce=n", o1), "")
	require.Equal(t, 302, w.Code)
	assert.Equal(t, fmt.Sprintf("https://shop.example/wp-admin/admin.php?page=wc-orders&paged=1&bulk_action=untrashed&changed=1&ids=%d", o1), w.Header().Get("Location"))
	assert.Equal(t, "processing", status(o1))
	w = send(fmt.Sprintf("/wp-admin/admin.php?page=wc-orders&action=untrash&id=%d&_wpnonce=n", o1), "")
	require.Equal(t, 302, w.Code)
	assert.Equal(t, "https://shop.example/wp-admin/admin.php?page=wc-orders&paged=1", w.Header().Get("Location"), "nothing restored: no report")
}
