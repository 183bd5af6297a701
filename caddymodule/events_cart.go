package caddymodule

import (
	"bytes"
	"io"
	"net/http"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcevents"
)

// readCartForm gives an add-to-cart door's Watch the request's fields:
// it reads at most wcevents.MaxCartForm bytes of the body and puts them
// back in front of the rest, so the upstream gets the body unchanged. It
// reports false when the request is no add to cart (a form without
// add-to-cart, or a body larger than the cap): it then passes through.
func readCartForm(r *http.Request, watch *wcevents.Watch) bool {
	var buf []byte
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(r.Body, wcevents.MaxCartForm+1))
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
		if err != nil || len(b) > wcevents.MaxCartForm {
			return false
		}
		buf = b
	}
	return watch.ReadCartForm(r.URL.RawQuery, r.Header.Get("Content-Type"), buf)
}
