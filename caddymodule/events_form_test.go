package caddymodule

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcevents"
)

func TestReadFormPutsTheBodyBack(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	classify := func(body, ct string) (*wcevents.Watch, *http.Request) {
		t.Helper()
		r := httptest.NewRequest("POST", "/wp-admin/post.php", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		w, ok := wcevents.Classify(r)
		require.True(t, ok)
		require.True(t, w.NeedsForm())
		return &w, r
	}
	rest := func(r *http.Request) string {
		t.Helper()
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		return string(b)
	}

	// A save: the fields are read, the upstream gets every byte.
	body := "_wpnonce=n&action=editpost&post_type=product&post_ID=31&content=" + strings.Repeat("x", 100)
	w, r := classify(body, form)
	require.True(t, readForm(r, w))
	assert.Equal(t, int64(31), w.ID)
	assert.Equal(t, body, rest(r))

	// Over the cap: the fields before the cut still count; the body is whole.
	body = "_wpnonce=n&action=editpost&post_type=shop_coupon&post_ID=32&content=" + strings.Repeat("y", wcevents.MaxForm)
	w, r = classify(body, form)
	require.True(t, readForm(r, w))
	assert.Equal(t, "coupon", w.Resource)
	assert.Equal(t, body, rest(r))

	// Not a save: passes through, body intact.
	body = "action=editpost&post_type=page&post_ID=9"
	w, r = classify(body, form)
	assert.False(t, readForm(r, w))
	assert.Equal(t, body, rest(r))

	// Multipart is not read at all.
	body = "--b\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\neditpost\r\n--b--\r\n"
	w, r = classify(body, "multipart/form-data; boundary=b")
	assert.False(t, readForm(r, w))
	assert.Equal(t, body, rest(r))
}
