// Package dispatcher delivers WooCommerce webhooks from Redis Streams:
// WooCommerce-exact requests, with retries, logs, auto-disable and
// at-least-once delivery across crashes and processes. It holds no Caddy
// types; the Caddy app owns one Dispatcher (New, AddSite, Start, Stop).
//
// # Flow
//
//  1. Publish appends an Event to the site's event stream (one XADD).
//  2. A dispatcher serving the site reads it (consumer group "wcwh", one
//     consumer name per process; on a standalone Redis two shared readers
//     each read their share of the sites with one blocking XREADGROUP, so
//     blocked reads hold two connections whatever the number of sites; on
//     a Cluster one reader per site), lists the site's active webhooks (cached
//     WebhookCacheTTL, default 1 s), keeps those whose topic equals the
//     event's (and whose api_version equals the event's APIVersion, when it
//     names one), and in one Lua script call per read (each event atomic
//     on its own) acks and deletes the event and creates one job per
//     webhook in the work stream. An event is fanned out once: the script
//     does nothing for an event already acked.
//  3. A process holds at most 2×MaxConcurrent jobs read and unfinished;
//     it reads no more until some finish, so other processes take the rest.
//     A job goes to its webhook's lane (at most MaxPerWebhook, default 4,
//     in flight per webhook and MaxConcurrent, default 64, in total). When
//     the lane already holds LaneQueue jobs (a slow or hung receiver), the
//     overflow is parked in Redis in a list of that webhook, one script per
//     read, and moved back to the work stream as the lane gets room; the
//     parked jobs' lease (VisibilityTimeout, renewed by each park and
//     unpark) lets any dispatcher move them back when this one dies.
//  4. Begin (one script) checks this process still holds the entry,
//     restarts its lease when the entry waited (idle longer than
//     min(1 s, half the visibility margin)), counts the receive, drops
//     the job when the webhook is gone, and reserves the delivery log id.
//     A paused or disabled webhook's job is dropped (it gets nothing).
//     A lane begins its next job while a worker sends the one before it,
//     so the begin's round trip is not on the send's path; a begin that
//     waited longer than 1 s (or a quarter of the visibility margin) is
//     done again.
//  5. The POST is sent and its outcome recorded in one script: complete
//     (XACK, log entry, failure_count reset) or fail (XACK, log entry,
//     and either a retry in the delayed set or the final failure).
//
// Begins and outcomes of concurrent workers are group-committed: one
// script call handles up to 32 jobs, each job's change atomic on its own,
// and a lone job goes out at once. An outcome is recorded in the
// background while the worker takes its lane's next job; its entry stays
// pending until then, so a crash means redelivery, and Stop waits for it.
//
// Due retries are promoted to the work stream when they fall due by a
// script that uses Redis server time: each site is promoted when its next
// delayed job is due, when this process schedules a retry for it, and
// otherwise at an interval that doubles from PromoteInterval (default
// 250 ms) to 4 s while nothing is due. Stop hands jobs read but not
// sent (begun or not) back to the work stream at once, unless another
// process has reclaimed them meanwhile. Entries a
// crashed process held longer than VisibilityTimeout (default HTTPTimeout
// + 30 s; must exceed the HTTP and ping timeouts) are reclaimed every
// ReclaimInterval (default 5 s) with XAUTOCLAIM. A job picked up
// MaxReceives (default 5) times without finishing is set aside as poison
// in the dead stream; receives are counted apart from HTTP attempts. An
// entry is acknowledged by the script that records the job's new state;
// the streams are trimmed only below the group's oldest pending entry
// (never an entry still pending or unread; see package redisstore).
//
// # The request
//
// POST to the delivery URL with the body byte for byte and these headers
// (spelled exactly so):
//
//	User-Agent: WooCommerce/<WooCommerceVersion> Hookshot (WordPress/<WordPressVersion>)   (9.8.1, 6.8)
//	Content-Type: application/json
//	X-WC-Webhook-Source: <site home URL>/          (SiteOptions.HomeURL, one trailing slash)
//	X-WC-Webhook-Topic, -Resource, -Event          (topic, and its parts around the first dot)
//	X-WC-Webhook-Signature: base64 HMAC-SHA256(body, DecodeSecret(secret))
//	X-WC-Webhook-ID: <webhook id>
//	X-WC-Webhook-Delivery-ID: <id of this attempt's delivery log entry>
//	webhook-id: <stable across retries and redeliveries>
//	webhook-timestamp: <unix seconds>
//	webhook-signature: v1,<base64 HMAC-SHA256("id.timestamp.body", secret bytes)>
//
// Redirects are not followed; 200–302 is success. HTTPTimeout defaults to
// 60 s as in WooCommerce. HTTP/1.1 with keep-alive is used (WooCommerce
// sends HTTP/1.0; receivers do not see a difference in headers or body).
//
// # Failures
//
// A failed attempt is retried after RetryLadder (default 5 s, 5 min, 30
// min, 2 h, 5 h, 10 h) with ±Jitter (default 20 %). Retry-After is
// honoured within [step, 2×step]; after a 429 or a timeout the wait is at
// least OverloadFloor (default 60 s). 410 Gone, an invalid URL (not
// http(s), or with user:pass) and an address refused by the SSRF guard
// fail the delivery at once. A delivery has failed when its retries are
// exhausted; each failed delivery raises the webhook's failure_count once
// (idempotent per job), and at MaxFailures (default 5) consecutive failed
// deliveries an active webhook becomes disabled. A success resets
// failure_count to 0. These changes touch only failure_count, status and
// modified of the stored webhook (a Lua script, so a concurrent API save
// of other fields is not lost; it moves the status indexes); modified is
// set whenever the record changes (not on a success while the count is
// already 0).
//
// # Logs
//
// Every attempt is logged as a redisstore.Delivery under its reserved id:
// duration (seconds, 5 decimals), summary "HTTP <code> <message>: <body>",
// request method/url/headers/body, response code/message/headers/body
// (transport errors: code "http_request_failed" and the error text).
// Bodies and the summary are capped at MaxLogBody (default 64 KiB, cut at
// a UTF-8 boundary); response headers at 100, each value at 8 KiB. The
// newest KeepDeliveries (default 25) are kept per webhook. Pings are not
// logged.
//
// # Ping and redelivery
//
// Ping queues a ping job: a form POST "webhook_id=<id>" with the same
// User-Agent and PingTimeout (default 5 s), up to 5 redirects (WordPress's
// default), tried once; only an exact 200 clears pending_delivery and
// sets modified. Redeliver queues a new delivery of a logged one with the
// same body, topic and webhook-id; finished jobs are kept JobRetention
// (default 72 h) for this.
//
// # SSRF guard
//
// Every connection is vetted at dial time (net.Dialer.Control) on the
// resolved address it actually connects to: loopback, private (RFC 1918,
// fc00::/7), link-local, multicast, unspecified, CGNAT, documentation,
// benchmarking, reserved, NAT64/6to4 and other non-global ranges are
// refused, IPv4-mapped IPv6 judged as IPv4, unless AllowCIDRs contains the
// address. Proxies from the environment are never used.
//
// # Sites
//
// AddSite serves a site in this process and records it in the store's
// known-sites set; with DiscoverSites a dispatcher also serves every site
// in that set. Each served site costs one blocking Redis connection per
// process (its reader), so size the Redis pool above the number of sites.
// Consumers of processes that are gone (nothing pending, idle
// ConsumerExpiry, default 24 h) are deleted from the groups once their
// entries have been reclaimed.
//
// # Limits
//
// The active-webhook list used for fan-out is cached WebhookCacheTTL, so a
// webhook created or activated within that window may miss an event
// (status is re-checked at send time, so a paused one never gets one).
// Ports are not restricted (WordPress allows only 80, 443 and 8080).
// Redis Cluster is supported per site (all keys share the site's hash
// tag); the known-sites set is one global key.
package dispatcher
