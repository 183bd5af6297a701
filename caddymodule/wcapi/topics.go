package wcapi

import "strings"

// topicHooks is WooCommerce trunk's default topic → hooks map
// (class-wc-webhook.php, get_hooks); a topic is valid for a default resource
// and event only when it has hooks here.
var topicHooks = map[string][]string{
	"coupon.created":    {"woocommerce_process_shop_coupon_meta", "woocommerce_new_coupon"},
	"coupon.updated":    {"woocommerce_process_shop_coupon_meta", "woocommerce_update_coupon"},
	"coupon.deleted":    {"wp_trash_post"},
	"coupon.restored":   {"untrashed_post"},
	"customer.created":  {"user_register", "woocommerce_created_customer", "woocommerce_new_customer"},
	"customer.updated":  {"profile_update", "woocommerce_update_customer"},
	"customer.deleted":  {"delete_user"},
	"order.created":     {"woocommerce_new_order"},
	"order.updated":     {"woocommerce_update_order", "woocommerce_order_refunded", "woocommerce_delete_order_refund"},
	"order.deleted":     {"wp_trash_post", "woocommerce_trash_order"},
	"order.restored":    {"untrashed_post", "woocommerce_untrash_order"},
	"product.created":   {"woocommerce_process_product_meta", "woocommerce_new_product", "woocommerce_new_product_variation"},
	"product.updated":   {"woocommerce_process_product_meta", "woocommerce_update_product", "woocommerce_update_product_variation"},
	"product.deleted":   {"wp_trash_post"},
	"product.restored":  {"untrashed_post"},
	"product.published": {"woocommerce_product_published"},
}

// deniedActionTopics can never be subscribed to.
var deniedActionTopics = map[string]bool{
	"action.woocommerce_login_credentials":                           true,
	"action.woocommerce_product_csv_importer_check_import_file_path": true,
	"action.woocommerce_webhook_should_deliver":                      true,
}

// ValidTopic reports whether WooCommerce (≥ 10.9) accepts topic, compared
// case-sensitively: action.woocommerce_* and action.wc_* (but the deny
// list), and resource.event pairs that have hooks.
func ValidTopic(topic string) bool {
	if deniedActionTopics[topic] {
		return false
	}
	if strings.HasPrefix(topic, "action.woocommerce_") || strings.HasPrefix(topic, "action.wc_") {
		return true
	}
	resource, rest, ok := strings.Cut(topic, ".")
	if !ok {
		return false
	}
	event, _, _ := strings.Cut(rest, ".")
	return len(topicHooks[resource+"."+event]) > 0
}

// SplitTopic returns the resource (before the first dot) and the event
// (between the first and second dots) of a topic.
func SplitTopic(topic string) (resource, event string) {
	resource, rest, ok := strings.Cut(topic, ".")
	if !ok {
		return topic, ""
	}
	event, _, _ = strings.Cut(rest, ".")
	return resource, event
}

// TopicHooks returns the WordPress hooks behind a topic: [event] for action
// topics, the map entry for the whole topic otherwise, never nil.
func TopicHooks(topic string) []string {
	resource, event := SplitTopic(topic)
	if resource == "action" {
		if event == "" {
			return []string{}
		}
		return []string{event}
	}
	hooks := topicHooks[topic]
	if hooks == nil {
		return []string{}
	}
	return append([]string(nil), hooks...)
}
