package wcapi

import (
	"net/http"
	"strconv"
	"strings"
)

// restRouteKind names the WP REST routes of the webhooks controllers.
type restRouteKind int

const (
	routeCollection restRouteKind = iota + 1
	routeBatch
	routeItem
	routeDeliveries
	routeDelivery
)

// restRoute is a matched WP REST route with its captures.
type restRoute struct {
	kind       restRouteKind
	id         int64 // webhook id (item) or webhook_id (deliveries)
	deliveryID int64
	idText     string
}

// methods lists the methods registered on the route, for Allow.
func (r restRoute) methods() []string {
	switch r.kind {
	case routeCollection:
		return []string{"GET", "POST"}
	case routeBatch:
		return []string{"POST", "PUT", "PATCH"}
	case routeItem:
		return itemMethods
	}
	return []string{"GET"}
}

// allows reports whether method is registered on the route (HEAD rides on GET).
func (r restRoute) allows(method string) bool {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	return contains(r.methods(), method)
}

// matchRESTRoute matches the path below the namespace ("/webhooks/5").
// Route regexes in WordPress are case-insensitive and a trailing slash is
// dropped before matching. "/webhook/<id>" is an alias of "/webhooks/<id>".
func matchRESTRoute(path string) (restRoute, bool) {
	path = strings.TrimRight(path, "/")
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	head := strings.ToLower(parts[0])
	if head != "webhooks" && head != "webhook" {
		return restRoute{}, false
	}
	switch len(parts) {
	case 1:
		if head == "webhooks" {
			return restRoute{kind: routeCollection}, true
		}
	case 2:
		if strings.EqualFold(parts[1], "batch") && head == "webhooks" {
			return restRoute{kind: routeBatch}, true
		}
		if id, ok := parseDigits(parts[1]); ok {
			return restRoute{kind: routeItem, id: id, idText: parts[1]}, true
		}
	case 3:
		if id, ok := parseDigits(parts[1]); ok && strings.EqualFold(parts[2], "deliveries") {
			return restRoute{kind: routeDeliveries, id: id, idText: parts[1]}, true
		}
	case 4:
		id, ok := parseDigits(parts[1])
		did, ok2 := parseDigits(parts[3])
		if ok && ok2 && strings.EqualFold(parts[2], "deliveries") {
			return restRoute{kind: routeDelivery, id: id, deliveryID: did, idText: parts[1]}, true
		}
	}
	return restRoute{}, false
}

// parseDigits accepts [0-9]+; values beyond int64 saturate to the maximum,
// so they are valid routes that name no webhook.
func parseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 1<<63 - 1, true
	}
	return n, true
}
