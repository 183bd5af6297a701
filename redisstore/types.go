package redisstore

import (
	"errors"
	"time"
)

// ErrNotFound is returned when a webhook, delivery or API key does not exist.
var ErrNotFound = errors.New("not found")

// Webhook statuses, as WooCommerce names them.
const (
	StatusActive   = "active"
	StatusPaused   = "paused"
	StatusDisabled = "disabled"
)

// API versions a webhook's payload is rendered in, as WooCommerce stores them.
const (
	APIVersionLegacyV3 = "legacy_v3"
	APIVersionWPV1     = "wp_api_v1"
	APIVersionWPV2     = "wp_api_v2"
	APIVersionWPV3     = "wp_api_v3"
)

// Webhook is one WooCommerce webhook of one site. Times are UTC instants;
// a zero Modified means "never modified" (WooCommerce renders null / epoch).
type Webhook struct {
	ID              int64     `json:"id"`
	Name            string    `json:"name"`
	Status          string    `json:"status"`
	Topic           string    `json:"topic"`
	DeliveryURL     string    `json:"delivery_url"`
	Secret          string    `json:"secret"`
	APIVersion      string    `json:"api_version"`
	UserID          int64     `json:"user_id"`
	FailureCount    int       `json:"failure_count"`
	PendingDelivery bool      `json:"pending_delivery"`
	Created         time.Time `json:"created"`
	Modified        time.Time `json:"modified"`
}

// OrderField names the index a webhook list is sorted by.
type OrderField string

// The orderings a list can use. Ties are broken by id in the same direction.
const (
	OrderByCreated  OrderField = "date"     // date created
	OrderByID       OrderField = "id"       // webhook id
	OrderByName     OrderField = "title"    // name, case-insensitive
	OrderByModified OrderField = "modified" // date modified (never-modified first ascending)
)

// ListQuery selects, sorts and pages webhooks. Zero values mean "no filter".
type ListQuery struct {
	Status         string     // "" or "all": every status
	Search         string     // case-insensitive substring of the name
	Include        []int64    // only these ids (empty: no restriction)
	Exclude        []int64    // never these ids
	CreatedAfter   *time.Time // inclusive
	CreatedBefore  *time.Time // inclusive
	ModifiedAfter  *time.Time // inclusive
	ModifiedBefore *time.Time // inclusive
	OrderBy        OrderField // default OrderByCreated
	Desc           bool
	Offset         int
	Limit          int // < 0: all; 0 is treated as 10
}

// ListResult is one page of webhooks and the number of all matches.
type ListResult struct {
	Items []Webhook
	Total int
}

// Delivery is one logged delivery attempt of a webhook, in the shape the
// deliveries routes serve.
type Delivery struct {
	ID              int64             `json:"id"`
	WebhookID       int64             `json:"webhook_id"`
	Duration        string            `json:"duration"` // seconds, e.g. "0.90226"
	Summary         string            `json:"summary"`
	RequestMethod   string            `json:"request_method"`
	RequestURL      string            `json:"request_url"`
	RequestHeaders  map[string]string `json:"request_headers"`
	RequestBody     string            `json:"request_body"`
	ResponseCode    string            `json:"response_code"`
	ResponseMessage string            `json:"response_message"`
	ResponseHeaders map[string]string `json:"response_headers"`
	ResponseBody    string            `json:"response_body"`
	Created         time.Time         `json:"created"`
}

// Key permissions, as WooCommerce names them.
const (
	PermRead      = "read"
	PermWrite     = "write"
	PermReadWrite = "read_write"
)

// APIKey is a WooCommerce REST API key held in Redis for `auth keys`.
// The consumer key is stored only as its WooCommerce hash
// (HMAC-SHA256 keyed "wc-api"); the consumer secret is stored as given.
type APIKey struct {
	KeyID           int64  `json:"key_id"`
	UserID          int64  `json:"user_id"`
	Description     string `json:"description"`
	Permissions     string `json:"permissions"`
	ConsumerKeyHash string `json:"consumer_key_hash"`
	ConsumerSecret  string `json:"consumer_secret"`
	TruncatedKey    string `json:"truncated_key"` // last 7 characters of the consumer key
}
