package standin

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Webhook is a webhook stored in the stand-in WordPress: a row of table
// wc_webhooks. APIVersion is the stored smallint (-1 legacy_v3, 1, 2, 3).
// A zero Modified is never modified.
type Webhook struct {
	ID              int64
	Name            string
	Status          string
	Topic           string
	DeliveryURL     string
	Secret          string
	APIVersion      int
	UserID          int64
	FailureCount    int
	PendingDelivery bool
	Created         time.Time
	Modified        time.Time
}

// AddWebhook stores a webhook (replacing one with its id). Once the
// stand-in holds a webhook, its wc/v1-v3 webhook list and item routes
// serve the stored webhooks (GET list with pages, GET one, PUT/POST/PATCH
// status, name and delivery_url) instead of answering empty.
func (s *Server) AddWebhook(w Webhook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.webhooks == nil {
		s.webhooks = map[int64]Webhook{}
	}
	s.webhooks[w.ID] = w
}

// StoredWebhook returns a stored webhook.
func (s *Server) StoredWebhook(id int64) (Webhook, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.webhooks[id]
	return w, ok
}

// storedWebhooks returns the stored webhooks by id, and whether any are.
func (s *Server) storedWebhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Webhook, 0, len(s.webhooks))
	for _, w := range s.webhooks {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ExportTSV prints the stored webhooks as `wp db query "SELECT * FROM
// wp_wc_webhooks"` does (the mysql client in batch mode): a header line,
// tab-separated columns, \\ \t \n \0 escaped, zero dates as
// 0000-00-00 00:00:00.
func (s *Server) ExportTSV() string {
	var b strings.Builder
	b.WriteString("webhook_id\tstatus\tname\tuser_id\tdelivery_url\tsecret\ttopic\tdate_created\tdate_created_gmt\t" +
		"date_modified\tdate_modified_gmt\tapi_version\tfailure_count\tpending_delivery\n")
	date := func(t time.Time) string {
		if t.IsZero() {
			return "0000-00-00 00:00:00"
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	}
	for _, w := range s.storedWebhooks() {
		pending := "0"
		if w.PendingDelivery {
			pending = "1"
		}
		cols := []string{strconv.FormatInt(w.ID, 10), mysqlEscape(w.Status), mysqlEscape(w.Name), strconv.FormatInt(w.UserID, 10),
			mysqlEscape(w.DeliveryURL), mysqlEscape(w.Secret), mysqlEscape(w.Topic), date(w.Created), date(w.Created),
			date(w.Modified), date(w.Modified), strconv.Itoa(w.APIVersion), strconv.Itoa(w.FailureCount), pending}
		b.WriteString(strings.Join(cols, "\t") + "\n")
	}
	return b.String()
}

// mysqlEscape is the mysql client's batch-mode escaping.
func mysqlEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\x00", `\0`).Replace(s)
}

// restDate renders a date as the REST API does; zero is null.
func restDate(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}

// restWebhook renders a stored webhook as wc/v3 does (no secret).
func (c *call) restWebhook(w Webhook) map[string]any {
	resource, event, _ := strings.Cut(w.Topic, ".")
	self := c.homeBase() + "/wp-json/wc/v3/webhooks/" + strconv.FormatInt(w.ID, 10)
	return map[string]any{
		"id": w.ID, "name": w.Name, "status": w.Status, "topic": w.Topic, "resource": resource, "event": event,
		"hooks": []string{}, "delivery_url": w.DeliveryURL,
		"date_created": restDate(w.Created), "date_created_gmt": restDate(w.Created),
		"date_modified": restDate(w.Modified), "date_modified_gmt": restDate(w.Modified),
		"_links": map[string]any{"self": []map[string]string{{"href": self}}},
	}
}

// serveStoredWebhooks answers the webhook list and item routes from the
// stored webhooks; it reports false (nothing answered) when none are
// stored or the route is another one.
func (c *call) serveStoredWebhooks(route string) bool {
	m := c.method()
	list := reWebhooks.MatchString(route) && (m == "GET" || m == "HEAD")
	item := reWebhook.MatchString(route) && (m == "GET" || m == "HEAD" || m == "PUT" || m == "POST" || m == "PATCH")
	if !list && !item {
		return false
	}
	c.s.mu.Lock()
	have := len(c.s.webhooks) > 0
	c.s.mu.Unlock()
	if !have {
		return false
	}
	p, authErr := c.authREST()
	if authErr != nil {
		c.restError(authErr)
		return true
	}
	if e := c.keyPermission(p, "woocommerce_rest_authentication_error"); e != nil {
		c.restError(e)
		return true
	}
	if !p.canManage() {
		c.restError(denied(p, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."))
		return true
	}
	if list {
		c.listStored()
		return true
	}
	id, _ := strconv.ParseInt(reWebhook.FindStringSubmatch(route)[2], 10, 64)
	c.itemStored(m, id)
	return true
}

// listStored serves one page (per_page default 10, at most 100) by id.
func (c *call) listStored() {
	perPage, page := 10, 1
	if v, ok := c.query["per_page"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			c.restError(&apiError{code: "rest_invalid_param", message: "Invalid parameter(s): per_page", status: 400})
			return
		}
		perPage = n
	}
	if v, ok := c.query["page"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			c.restError(&apiError{code: "rest_invalid_param", message: "Invalid parameter(s): page", status: 400})
			return
		}
		page = n
	}
	all := c.s.storedWebhooks()
	pages := (len(all) + perPage - 1) / perPage
	c.w.Header().Set("X-WP-Total", strconv.Itoa(len(all)))
	c.w.Header().Set("X-WP-TotalPages", strconv.Itoa(pages))
	items := []any{}
	for i := (page - 1) * perPage; i < len(all) && i < page*perPage; i++ {
		items = append(items, c.restWebhook(all[i]))
	}
	c.writeJSON(200, items)
}

// itemStored serves GET and updates of one stored webhook.
func (c *call) itemStored(m string, id int64) {
	w, ok := c.s.StoredWebhook(id)
	if !ok {
		c.restError(&apiError{code: "woocommerce_rest_shop_webhook_invalid_id", message: "ID is invalid.", status: 404})
		return
	}
	if m == "GET" || m == "HEAD" {
		c.writeJSON(200, c.restWebhook(w))
		return
	}
	params, e := c.restParams()
	if e != nil {
		c.restError(e)
		return
	}
	if v, ok := params["status"].(string); ok {
		switch v {
		case "active", "paused", "disabled":
			w.Status = v
		default:
			c.restError(&apiError{code: "rest_invalid_param", message: "Invalid parameter(s): status", status: 400})
			return
		}
	}
	if v, ok := params["name"].(string); ok {
		w.Name = v
	}
	if v, ok := params["delivery_url"].(string); ok {
		w.DeliveryURL = v
	}
	w.Modified = c.s.Now().UTC().Truncate(time.Second)
	c.s.AddWebhook(w)
	c.writeJSON(200, c.restWebhook(w))
}

// String describes a webhook for test failure messages (never its secret).
func (w Webhook) String() string {
	b, _ := json.Marshal(map[string]any{"id": w.ID, "name": w.Name, "status": w.Status, "topic": w.Topic})
	return fmt.Sprintf("webhook%s", b)
}
