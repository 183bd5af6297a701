package standin

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

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
