package wcapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// legacyStatuses maps the legacy status and post_status values to webhook
// statuses; anything else reads as active, as before WooCommerce 3.3.
var legacyStatuses = map[string]string{
	"active": "active", "paused": "paused", "disabled": "disabled",
	"publish": "active", "draft": "paused", "pending": "disabled",
}

// legacyOrderBy maps filter[orderby] values; unknown values order by id.
var legacyOrderBy = map[string]redisstore.OrderField{
	"id": redisstore.OrderByID, "name": redisstore.OrderByName, "title": redisstore.OrderByName,
	"post_title": redisstore.OrderByName, "post_name": redisstore.OrderByName,
	"date_created": redisstore.OrderByCreated, "date": redisstore.OrderByCreated, "post_date": redisstore.OrderByCreated,
	"date_modified": redisstore.OrderByModified, "modified": redisstore.OrderByModified, "post_modified": redisstore.OrderByModified,
}

// legacyQuery builds a store query from the legacy filter[...] parameters
// and status. limit is the page size (-1: all).
func legacyQuery(q url.Values) (sq redisstore.ListQuery, page, limit int) {
	filter := func(k string) (string, bool) { return scalar(q, "filter["+k+"]") }
	sq = redisstore.ListQuery{OrderBy: redisstore.OrderByID, Desc: true}
	limit = 10
	if v, ok := filter("limit"); ok {
		if n, ok := toInteger(v); ok && (n > 0 || n == -1) {
			limit = int(n)
		}
	}
	page = 1
	if v, ok := scalar(q, "page"); ok {
		if n, ok := toInteger(v); ok && n > 0 {
			page = int(n)
		}
	}
	sq.Limit = limit
	if limit > 0 {
		sq.Offset = (page - 1) * limit
	}
	if v, ok := filter("offset"); ok {
		if n, ok := toInteger(v); ok && n >= 0 {
			sq.Offset = int(n)
		}
	}
	if v, ok := filter("order"); ok {
		sq.Desc = !strings.EqualFold(v, "asc")
	}
	if v, ok := filter("orderby"); ok {
		if f, known := legacyOrderBy[strings.ToLower(v)]; known {
			sq.OrderBy = f
		}
	}
	if v, ok := filter("q"); ok {
		sq.Search = strings.TrimSpace(v)
	}
	status, ok := scalar(q, "status")
	if v, fok := filter("post_status"); fok {
		status, ok = v, true
	}
	if ok && status != "" && status != "any" && status != "all" {
		sq.Status = legacyStatuses[strings.ToLower(status)]
		if sq.Status == "" {
			sq.Status = redisstore.StatusActive
		}
	}
	if v, ok := filter("in"); ok {
		sq.Include = idList(v)
	}
	sq.CreatedAfter = legacyDateFilter(filter("created_at_min"))
	sq.CreatedBefore = legacyDateFilter(filter("created_at_max"))
	sq.ModifiedAfter = legacyDateFilter(filter("updated_at_min"))
	sq.ModifiedBefore = legacyDateFilter(filter("updated_at_max"))
	return sq, page, limit
}

// legacyDateFilter parses a legacy date filter (RFC 3339, or a date); an
// unparsable value filters nothing.
func legacyDateFilter(v string, ok bool) *time.Time {
	if !ok || v == "" {
		return nil
	}
	if t, ok := parseRESTDate(v); ok {
		return &t
	}
	if t, err := time.ParseInLocation("2006-01-02", v, time.UTC); err == nil {
		return &t
	}
	return nil
}

func (a *API) legacyList(c *call) (int, any, http.Header, error) {
	if !c.verdict.CanManage {
		return http.StatusOK, object{{"webhooks", []object{}}}, nil, nil
	}
	q, page, limit := legacyQuery(c.query)
	res, err := a.opts.Store.ListWebhooks(c.r.Context(), q)
	if err != nil {
		return 0, nil, nil, err
	}
	items := make([]object, 0, len(res.Items))
	for i := range res.Items {
		items = append(items, renderLegacyWebhook(&res.Items[i]))
	}
	return http.StatusOK, object{{"webhooks", items}}, c.legacyPagination(page, limit, res.Total), nil
}

// legacyPagination builds X-WC-Total, X-WC-TotalPages and the separate
// first/prev/next/last Link headers of the legacy server.
func (c *call) legacyPagination(page, limit, total int) http.Header {
	totalPages := 1
	if limit > 1 {
		totalPages = (total + limit - 1) / limit
	}
	h := http.Header{
		"X-WC-Total":      {strconv.Itoa(total)},
		"X-WC-TotalPages": {strconv.Itoa(totalPages)},
	}
	if limit < 0 || limit > total {
		return h
	}
	link := func(n int, rel string) {
		h.Add("Link", "<"+c.legacyPageURL(n)+`>; rel="`+rel+`"`)
	}
	if page > 1 {
		link(1, "first")
		link(page-1, "prev")
	}
	if page+1 <= totalPages {
		link(page+1, "next")
	}
	if page != totalPages {
		link(totalPages, "last")
	}
	return h
}

// legacyPageURL is the request URI with page=n, url-decoded, on the home
// host with the request's scheme.
func (c *call) legacyPageURL(n int) string {
	var kept []string
	for _, part := range strings.Split(c.r.URL.RawQuery, "&") {
		if k, _, _ := strings.Cut(part, "="); part != "" && k != "page" {
			kept = append(kept, part)
		}
	}
	kept = append(kept, "page="+strconv.Itoa(n))
	uri := c.r.URL.EscapedPath() + "?" + strings.Join(kept, "&")
	if decoded, err := url.QueryUnescape(uri); err == nil {
		uri = decoded
	}
	host := c.home
	if u, err := url.Parse(c.home); err == nil {
		host = u.Host
	}
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + host + uri
}

func (a *API) legacyCount(c *call) (int, any, http.Header, error) {
	if !c.verdict.CanManage {
		return 0, newError(http.StatusUnauthorized, "woocommerce_api_user_cannot_read_webhooks_count",
			"You do not have permission to read the webhooks count"), nil, nil
	}
	q, _, _ := legacyQuery(c.query)
	q.Limit, q.Offset = 1, 0
	res, err := a.opts.Store.ListWebhooks(c.r.Context(), q)
	if err != nil {
		return 0, nil, nil, err
	}
	return http.StatusOK, object{{"count", res.Total}}, nil, nil
}
