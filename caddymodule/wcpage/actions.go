package wcpage

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// setStatus pauses or activates a webhook as the API's update does:
// activation resets failure_count, sets date_modified, and queues the
// ping when the webhook still awaits its first successful one.
func (p *Page) setStatus(w http.ResponseWriter, r *http.Request, id int64) {
	status := r.PostForm.Get("status")
	if status != redisstore.StatusActive && status != redisstore.StatusPaused {
		p.fail(w, r, http.StatusBadRequest, "The status must be active or paused.")
		return
	}
	ctx := r.Context()
	wh, err := p.opts.Store.GetWebhook(ctx, id)
	if errors.Is(err, redisstore.ErrNotFound) || (err == nil && id == 0) {
		p.fail(w, r, http.StatusNotFound, "No such webhook.")
		return
	}
	if err != nil {
		p.opts.Logger.Error("operator page: read webhook", zap.Int64("webhook", id), zap.Error(err))
		p.fail(w, r, http.StatusInternalServerError, "The webhook could not be read.")
		return
	}
	if wh.Status == status {
		p.back(w, r, "unchanged", id, 0)
		return
	}
	before := *wh
	if status == redisstore.StatusActive {
		wh.FailureCount = 0
	}
	wh.Status = status
	wh.Modified = p.opts.Now().UTC()
	if err := p.opts.Store.SaveWebhookEdit(ctx, &before, wh); err != nil {
		if errors.Is(err, redisstore.ErrNotFound) {
			p.fail(w, r, http.StatusNotFound, "No such webhook.")
			return
		}
		p.opts.Logger.Error("operator page: save webhook", zap.Int64("webhook", id), zap.Error(err))
		p.fail(w, r, http.StatusInternalServerError, "The webhook could not be saved.")
		return
	}
	if status == redisstore.StatusActive && wh.PendingDelivery && p.opts.Dispatch != nil {
		if err := p.opts.Dispatch.Ping(ctx, wh.ID); err != nil {
			p.opts.Logger.Error("operator page: queue ping", zap.Int64("webhook", id), zap.Error(err))
		}
	}
	p.back(w, r, status, id, 0)
}

// redeliver queues a logged delivery again.
func (p *Page) redeliver(w http.ResponseWriter, r *http.Request, webhookID, deliveryID int64) {
	if p.opts.Dispatch == nil {
		p.fail(w, r, http.StatusNotImplemented, "Redelivery is not available: delivery is off.")
		return
	}
	ctx := r.Context()
	if _, err := p.opts.Store.GetWebhook(ctx, webhookID); err != nil {
		if errors.Is(err, redisstore.ErrNotFound) {
			p.fail(w, r, http.StatusNotFound, "No such webhook.")
			return
		}
		p.opts.Logger.Error("operator page: read webhook", zap.Int64("webhook", webhookID), zap.Error(err))
		p.fail(w, r, http.StatusInternalServerError, "The webhook could not be read.")
		return
	}
	jobID, err := p.opts.Dispatch.Redeliver(ctx, webhookID, deliveryID)
	switch {
	case errors.Is(err, redisstore.ErrNotFound):
		p.fail(w, r, http.StatusNotFound, "No such delivery.")
	case errors.Is(err, dispatcher.ErrRedeliveryUnavailable):
		p.fail(w, r, http.StatusConflict, "This delivery can no longer be sent again exactly: its stored request has expired.")
	case err != nil:
		p.opts.Logger.Error("operator page: redeliver", zap.Int64("webhook", webhookID), zap.Int64("delivery", deliveryID), zap.Error(err))
		p.fail(w, r, http.StatusInternalServerError, "The delivery could not be queued.")
	default:
		p.back(w, r, "redelivered", webhookID, jobID)
	}
}

// back answers an action with 303 See Other to the page, which then shows
// what was done (done is one of the notices the page knows) and scrolls
// to the webhook.
func (p *Page) back(w http.ResponseWriter, r *http.Request, done string, webhookID, jobID int64) {
	q := url.Values{"done": {done}, "webhook": {strconv.FormatInt(webhookID, 10)}}
	if jobID > 0 {
		q.Set("job", strconv.FormatInt(jobID, 10))
	}
	if page := parseID(r.PostForm.Get("page")); page > 1 {
		q.Set("page", strconv.FormatInt(page, 10))
	}
	w.Header().Set("Location", p.opts.BasePath+"/?"+q.Encode()+"#webhook-"+strconv.FormatInt(webhookID, 10))
	w.WriteHeader(http.StatusSeeOther)
}
