package caddymodule

import (
	"bytes"
	"io"
	"mime"
	"net/http"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcevents"
)

// readForm gives a door that needs the request's fields (watch.NeedsForm:
// add to cart, the wp-admin saves and POST bulk actions) its fields: the
// query and at most wcevents.MaxForm bytes of an urlencoded (or, for the
// Store API's add to cart, JSON) body, put back in front of the rest so
// the upstream gets the body unchanged. A multipart body is not read (its
// fields stay unknown). It reports whether the request still is a watched
// write (see wcevents.Watch.ReadForm); when not, it passes through.
func readForm(r *http.Request, watch *wcevents.Watch) bool {
	var buf []byte
	complete := true
	if r.Body != nil && r.Body != http.NoBody && !multipart(r.Header.Get("Content-Type")) {
		b, err := io.ReadAll(io.LimitReader(r.Body, wcevents.MaxForm+1))
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
		if err != nil {
			return false
		}
		if len(b) > wcevents.MaxForm {
			b, complete = b[:wcevents.MaxForm], false
		}
		buf = b
	}
	return watch.ReadForm(r.URL.RawQuery, r.Header.Get("Content-Type"), buf, complete)
}

// multipart reports whether a Content-Type is multipart/form-data.
func multipart(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "multipart/form-data"
}
