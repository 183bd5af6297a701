package wcapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// restList answers GET /webhooks with WooCommerce's parameters and
// pagination headers.
func (a *API) restList(c *call, p *restParams) (int, any, http.Header, error) {
	q, page, perPage := restListQuery(p)
	res, err := a.opts.Store.ListWebhooks(c.r.Context(), q)
	if err != nil {
		return 0, nil, nil, err
	}
	items := make([]object, 0, len(res.Items))
	for i := range res.Items {
		items = append(items, a.renderWebhook(c, &res.Items[i]))
	}
	totalPages := 1
	if perPage > 1 {
		totalPages = (res.Total + perPage - 1) / perPage
	}
	if q.Offset > 0 || page == 0 {
		page = q.Offset/perPage + 1
		if q.Offset%perPage != 0 {
			page++
		}
	}
	h := http.Header{
		"X-WP-Total":      {strconv.Itoa(res.Total)},
		"X-WP-TotalPages": {strconv.Itoa(totalPages)},
	}
	var links []string
	base := c.restURL(c.namespace() + "/webhooks")
	if page > 1 {
		prev := page - 1
		if prev > totalPages {
			prev = totalPages
		}
		links = append(links, "<"+pageURL(base, c.r.URL.RawQuery, prev)+`>; rel="prev"`)
	}
	if totalPages > page {
		links = append(links, "<"+pageURL(base, c.r.URL.RawQuery, page+1)+`>; rel="next"`)
	}
	if links != nil {
		h.Set("Link", strings.Join(links, ", "))
	}
	return http.StatusOK, items, h, nil
}

// restListQuery turns validated list parameters into a store query. page is
// 0 when an explicit offset decides the page.
func restListQuery(p *restParams) (q redisstore.ListQuery, page, perPage int) {
	perPage = intParam(p, "per_page", 10)
	page = min(intParam(p, "page", 1), maxOffset/100)
	q = redisstore.ListQuery{
		OrderBy: redisstore.OrderByCreated,
		Desc:    true,
		Limit:   perPage,
		Offset:  (page - 1) * perPage,
	}
	if off := intParam(p, "offset", 0); off != 0 {
		q.Offset = absint(off)
		page = 0
	}
	if v, ok := stringParam(p, "order"); ok {
		q.Desc = v == "desc"
	}
	if v, ok := stringParam(p, "orderby"); ok {
		q.OrderBy = map[string]redisstore.OrderField{
			"date": redisstore.OrderByCreated, "id": redisstore.OrderByID, "title": redisstore.OrderByName,
		}[v]
	}
	if v, ok := stringParam(p, "status"); ok && v != "all" {
		q.Status = v
	}
	if v, ok := stringParam(p, "search"); ok {
		q.Search = strings.TrimSpace(v)
	}
	if v, ok := p.get("include"); ok {
		ids := idList(v)
		if !(len(ids) == 1 && ids[0] == 0) {
			q.Include = ids
		}
		if len(ids) == 0 {
			q.Include = nil
		}
	}
	if v, ok := p.get("exclude"); ok {
		q.Exclude = idList(v)
	}
	if v, ok := stringParam(p, "after"); ok {
		if t, ok := parseRESTDate(v); ok {
			q.CreatedAfter = &t
		}
	}
	if v, ok := stringParam(p, "before"); ok {
		if t, ok := parseRESTDate(v); ok {
			q.CreatedBefore = &t
		}
	}
	return q, page, perPage
}

// maxOffset bounds offsets and pages so page arithmetic cannot overflow;
// nothing lies that deep.
const maxOffset = 1 << 40

// absint is PHP's absint, bounded by maxOffset.
func absint(n int) int {
	if n < 0 {
		n = -n
	}
	if n < 0 || n > maxOffset {
		return maxOffset
	}
	return n
}

func intParam(p paramSource, key string, def int) int {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	n, ok := toInteger(v)
	if !ok {
		return def
	}
	return int(n)
}

func stringParam(p paramSource, key string) (string, bool) {
	v, ok := p.get(key)
	if !ok {
		return "", false
	}
	s, isString := v.(string)
	return s, isString
}

// pageURL rebuilds the collection URL with every original query parameter
// and page set to n, as WordPress's add_query_arg does.
func pageURL(base, rawQuery string, n int) string {
	pairs := orderedQuery(rawQuery)
	replaced := false
	for i := range pairs {
		if pairs[i][0] == "page" {
			pairs[i][1] = strconv.Itoa(n)
			replaced = true
		}
	}
	if !replaced {
		pairs = append(pairs, [2]string{"page", strconv.Itoa(n)})
	}
	var b strings.Builder
	b.WriteString(base)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	for _, kv := range pairs {
		if kv[0] == "rest_route" {
			continue
		}
		b.WriteString(sep)
		b.WriteString(phpURLEncode(kv[0]))
		b.WriteByte('=')
		b.WriteString(phpURLEncode(kv[1]))
		sep = "&"
	}
	return b.String()
}

// orderedQuery decodes a raw query into key/value pairs in first-seen order,
// one per key, the last value winning (PHP's $_GET).
func orderedQuery(raw string) [][2]string {
	var out [][2]string
	index := map[string]int{}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			continue
		}
		if i, ok := index[key]; ok && !strings.HasSuffix(key, "[]") {
			out[i][1] = val
			continue
		}
		index[key] = len(out)
		out = append(out, [2]string{key, val})
	}
	return out
}

// phpURLEncode encodes like PHP's urlencode: spaces as "+", everything but
// letters, digits and "-_." percent-encoded.
func phpURLEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "~", "%7E")
}

// parseQuery parses a query or form body, dropping undecodable pairs.
func parseQuery(raw string) (url.Values, error) {
	return url.ParseQuery(raw)
}
