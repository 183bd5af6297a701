package wcapi

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// paramSource is where a create or update reads its fields from: the
// request's merged parameters, or one batch item.
type paramSource interface {
	get(key string) (any, bool)
}

// batchItem is one item of a batch request; the outer query parameters
// fill in what the item lacks, as WooCommerce copies them in.
type batchItem struct {
	item  map[string]any
	query url.Values
}

func (b batchItem) get(key string) (any, bool) {
	if v, ok := b.item[key]; ok {
		return v, v != nil
	}
	return phpQueryValue(b.query, key)
}

// webhookErrors are the controller's messages; REST and legacy word some
// of them differently, so each caller picks its own code and text.
type webhookErrors struct {
	invalidTopicCreate string
	invalidTopicEdit   string
	invalidURL         string
	invalidStatus      string
}

var restWebhookErrors = webhookErrors{
	invalidTopicCreate: "Webhook topic is required and must be valid.",
	invalidTopicEdit:   "Webhook topic must be valid.",
	invalidURL:         "Webhook delivery URL must be a valid URL starting with http:// or https://.",
	invalidStatus:      "Webhook status must be valid.",
}

// newWebhook builds a webhook from create parameters, checking them as the
// controllers do, with the error codes and messages of the caller's API.
func (a *API) newWebhook(p paramSource, apiVersion string, userID int64, codes webhookCodes, msgs webhookErrors) (*redisstore.Webhook, *apiError) {
	topic, _ := paramText(p, "topic")
	topic = strings.ToLower(topic)
	if topic == "" || !ValidTopic(topic) {
		return nil, newError(http.StatusBadRequest, codes.topic, msgs.invalidTopicCreate)
	}
	deliveryURL, _ := paramText(p, "delivery_url")
	if !ValidDeliveryURL(deliveryURL) {
		return nil, newError(http.StatusBadRequest, codes.url, msgs.invalidURL)
	}
	status := redisstore.StatusActive
	if s, ok := paramText(p, "status"); ok && contains(statusEnum, s) {
		status = s // honoured when valid (WooCommerce ignores it); default active
	}
	now := a.opts.Now().UTC()
	w := &redisstore.Webhook{
		Topic:           topic,
		DeliveryURL:     deliveryURL,
		Status:          status,
		APIVersion:      apiVersion,
		UserID:          userID,
		PendingDelivery: true,
		Created:         now,
	}
	w.Name, _ = paramText(p, "name")
	if w.Name == "" {
		w.Name = "Webhook created on " + now.Format("Jan 02, 2006 @ 03:04 PM")
	}
	w.Secret, _ = paramText(p, "secret")
	if w.Secret == "" {
		w.Secret = GenerateSecret()
	}
	return w, nil
}

// webhookCodes are the error codes of one API for webhook field checks.
type webhookCodes struct {
	topic, url, status string
}

var restWebhookCodes = webhookCodes{
	topic:  "woocommerce_rest_shop_webhook_invalid_topic",
	url:    "woocommerce_rest_shop_webhook_invalid_delivery_url",
	status: "woocommerce_rest_shop_webhook_invalid_status",
}

// applyUpdate changes w from update parameters in WooCommerce's order
// (topic, delivery_url, secret, status, name); empty values leave a field
// unchanged. Re-activation resets the failure count.
func (a *API) applyUpdate(w *redisstore.Webhook, p paramSource, codes webhookCodes, msgs webhookErrors, checkStatus bool) *apiError {
	if topic, ok := paramText(p, "topic"); ok {
		topic = strings.ToLower(topic)
		if !ValidTopic(topic) {
			return newError(http.StatusBadRequest, codes.topic, msgs.invalidTopicEdit)
		}
		w.Topic = topic
	}
	if u, ok := paramText(p, "delivery_url"); ok {
		if !ValidDeliveryURL(u) {
			return newError(http.StatusBadRequest, codes.url, msgs.invalidURL)
		}
		w.DeliveryURL = u
	}
	if secret, ok := paramText(p, "secret"); ok {
		w.Secret = secret
	}
	if status, ok := paramText(p, "status"); ok {
		if checkStatus && !contains(statusEnum, strings.ToLower(status)) {
			return newError(http.StatusBadRequest, codes.status, msgs.invalidStatus)
		}
		if !contains(statusEnum, status) {
			status = redisstore.StatusDisabled // WC_Webhook::set_status coerces
		}
		if status == redisstore.StatusActive && w.Status != redisstore.StatusActive {
			w.FailureCount = 0
		}
		w.Status = status
	}
	if name, ok := paramText(p, "name"); ok {
		w.Name = name
	}
	w.Modified = a.opts.Now().UTC()
	return nil
}

// paramText returns a parameter as PHP's wc_clean would see it and whether
// it is non-empty (PHP's ! empty()).
func paramText(p paramSource, key string) (string, bool) {
	v, ok := p.get(key)
	if !ok {
		return "", false
	}
	s, nonEmpty := phpString(v)
	if !nonEmpty {
		return "", false
	}
	return strings.TrimSpace(stripControl(s)), true
}

// stripControl removes control characters, as sanitize_text_field does,
// leaving ordinary text unchanged.
func stripControl(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// hostLabel is one label of a host name as PHP's FILTER_VALIDATE_URL
// accepts it.
var hostLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$`)

// ValidDeliveryURL reports whether WooCommerce's wc_is_valid_url accepts u:
// it starts with http:// or https:// (case-sensitive) and is a valid URL
// with a host.
func ValidDeliveryURL(u string) bool {
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return false
	}
	for _, r := range u {
		if r <= 0x20 || r >= 0x7f {
			return false
		}
	}
	parsed, err := url.Parse(u)
	if err != nil || parsed.Host == "" {
		return false
	}
	host := parsed.Hostname()
	if strings.HasPrefix(parsed.Host, "[") {
		return host != ""
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if !hostLabel.MatchString(label) {
			return false
		}
	}
	return true
}

// secretAlphabet is wp_generate_password's alphabet with special and extra
// special characters.
const secretAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" +
	"!@#$%^&*()" + "-_ []{}<>~`+=,.;:/?|"

// GenerateSecret returns a 50-character secret from crypto/rand, drawn from
// the alphabet WooCommerce uses for default secrets.
func GenerateSecret() string {
	b := make([]byte, 50)
	max := big.NewInt(int64(len(secretAlphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		b[i] = secretAlphabet[n.Int64()]
	}
	return string(b)
}

// loadWebhook reads a webhook; found is false when it does not exist.
func (a *API) loadWebhook(ctx context.Context, id int64) (w *redisstore.Webhook, found bool, err error) {
	if id <= 0 {
		return nil, false, nil
	}
	w, err = a.opts.Store.GetWebhook(ctx, id)
	if errors.Is(err, redisstore.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return w, true, nil
}
