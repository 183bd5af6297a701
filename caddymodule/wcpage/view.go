package wcpage

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

//go:embed page.html
var pageSource string

// pageTemplate renders the page and the error page ("error").
var pageTemplate = template.Must(template.New("page").Parse(pageSource))

// contentSecurityPolicy allows nothing but the page's own <style> block
// (by its hash) and forms posting to the page itself.
var contentSecurityPolicy = func() string {
	css := pageSource[strings.Index(pageSource, "<style>")+len("<style>") : strings.Index(pageSource, "</style>")]
	sum := sha256.Sum256([]byte(css))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}()

// view is what the page template shows.
type view struct {
	Site         string
	Base         string // the page's URL path, ending in '/'
	Token        string
	Notice       string
	Error        string
	Status       int
	Queue        *queueView
	Webhooks     []hookView
	Total        int
	Page, Pages  int
	PrevURL      string
	NextURL      string
	CanRedeliver bool
	Generated    string
}

// queueView are the queue sizes shown.
type queueView struct {
	Pending, InFlight, Retrying, Dead int64
	HasDead                           bool
}

// hookView is one webhook as shown; it never holds the secret.
type hookView struct {
	ID            int64
	Name          string
	Status        string
	Topic         string
	URL           string
	Link          bool // URL is an http(s) URL, shown as a link
	FailureCount  int
	Pending       bool
	Modified      string
	Deliveries    []deliveryView
	DeliveriesErr bool
}

// deliveryView is one logged delivery as shown.
type deliveryView struct {
	ID       int64
	Code     string
	OK       bool
	Duration string
	Date     string
	Event    string // the topic, or "ping"
	Summary  string
}

// render shows the page.
func (p *Page) render(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := p.opts.Now()
	page := int(max(1, parseID(r.URL.Query().Get("page"))))
	if page > 1_000_000 {
		page = 1_000_000
	}
	list, err := p.opts.Store.ListWebhooks(ctx, redisstore.ListQuery{
		Status: "all", OrderBy: redisstore.OrderByID, Offset: (page - 1) * p.opts.PerPage, Limit: p.opts.PerPage,
	})
	if err != nil {
		p.opts.Logger.Error("operator page: list webhooks", zap.Error(err))
		p.fail(w, r, http.StatusInternalServerError, "The webhooks could not be read.")
		return
	}
	v := view{
		Site: p.opts.Store.Name(), Base: p.opts.BasePath + "/", Token: p.token(credentialOf(r), now),
		Total: list.Total, Page: page, Pages: max(1, (list.Total+p.opts.PerPage-1)/p.opts.PerPage),
		CanRedeliver: p.opts.Dispatch != nil, Generated: p.date(now),
		Notice: notice(r.URL.Query()), Queue: p.queue(ctx),
	}
	if page > 1 {
		v.PrevURL = v.Base + "?page=" + strconv.Itoa(page-1)
	}
	if page < v.Pages {
		v.NextURL = v.Base + "?page=" + strconv.Itoa(page+1)
	}
	for _, wh := range list.Items {
		v.Webhooks = append(v.Webhooks, p.hook(ctx, wh))
	}
	p.write(w, r, http.StatusOK, "page", v)
}

// hook builds the view of one webhook with its recent deliveries.
func (p *Page) hook(ctx context.Context, wh redisstore.Webhook) hookView {
	hv := hookView{
		ID: wh.ID, Name: wh.Name, Status: wh.Status, Topic: wh.Topic, URL: wh.DeliveryURL,
		Link: linkable(wh.DeliveryURL), FailureCount: wh.FailureCount, Pending: wh.PendingDelivery,
	}
	if !wh.Modified.IsZero() {
		hv.Modified = p.date(wh.Modified)
	}
	ds, err := p.opts.Store.ListDeliveries(ctx, wh.ID)
	if err != nil {
		p.opts.Logger.Error("operator page: list deliveries", zap.Int64("webhook", wh.ID), zap.Error(err))
		hv.DeliveriesErr = true
		return hv
	}
	for i, d := range ds {
		if i == p.opts.Deliveries {
			break
		}
		hv.Deliveries = append(hv.Deliveries, deliveryView{
			ID: d.ID, Code: d.ResponseCode, OK: strings.HasPrefix(d.ResponseCode, "2") && len(d.ResponseCode) == 3,
			Duration: duration(d.Duration), Date: p.date(d.Created), Summary: d.Summary, Event: event(d),
		})
	}
	return hv
}

// queue reads the queue sizes; nil when they cannot be read.
func (p *Page) queue(ctx context.Context) *queueView {
	qs, err := p.opts.Stats(ctx)
	if err != nil {
		p.opts.Logger.Error("operator page: queue stats", zap.Error(err))
		return nil
	}
	q := &queueView{Pending: qs.Events + qs.Ready - qs.ReadyPending + qs.Parked, InFlight: qs.ReadyPending, Retrying: qs.Delayed}
	if q.Pending < 0 {
		q.Pending = 0
	}
	if p.opts.Dead != nil {
		dead, err := p.opts.Dead(ctx)
		if err != nil {
			p.opts.Logger.Error("operator page: dead jobs", zap.Error(err))
			return q
		}
		q.Dead, q.HasDead = dead, true
	}
	return q
}

// notices are the messages an action's redirect may ask the page to show.
var notices = map[string]string{
	"active":      "Webhook #%w activated.",
	"paused":      "Webhook #%w paused.",
	"unchanged":   "Webhook #%w already had that status.",
	"redelivered": "Delivery of webhook #%w queued again (job %j).",
}

// notice is the message for the query's done, webhook and job values.
func notice(q url.Values) string {
	msg, ok := notices[q.Get("done")]
	if !ok {
		return ""
	}
	return strings.NewReplacer("%w", strconv.FormatInt(parseID(q.Get("webhook")), 10),
		"%j", strconv.FormatInt(parseID(q.Get("job")), 10)).Replace(msg)
}

// event names what a logged delivery sent: its topic, or "ping" for the
// form-encoded ping WooCommerce sends to a new webhook.
func event(d redisstore.Delivery) string {
	if t := d.RequestHeaders["X-WC-Webhook-Topic"]; t != "" {
		return t
	}
	if strings.HasPrefix(d.RequestBody, "webhook_id=") {
		return "ping"
	}
	return ""
}

// linkable reports whether a delivery URL may be shown as a link: an
// absolute http or https URL (never javascript:, data: and the like).
func linkable(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// duration shows a logged duration in seconds ("0.90226") as "902 ms".
func duration(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return s
	}
	if f < 10 {
		return strconv.FormatFloat(f*1000, 'f', 0, 64) + " ms"
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " s"
}

// date shows an instant in the page's timezone.
func (p *Page) date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(p.opts.Location).Format("2006-01-02 15:04:05 MST")
}

// fail answers with the error page; a 401 carries the Basic challenge.
func (p *Page) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+Realm+`", charset="UTF-8"`)
	}
	p.write(w, r, status, "error", view{Site: p.opts.Store.Name(), Base: p.opts.BasePath + "/", Error: msg, Status: status})
}

// write renders a template into a buffer, then sends it.
func (p *Page) write(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	var buf bytes.Buffer
	if err := pageTemplate.ExecuteTemplate(&buf, name, v); err != nil {
		p.opts.Logger.Error("operator page: render", zap.Error(err))
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>The page could not be rendered.</p>")
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}
