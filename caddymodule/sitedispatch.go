package caddymodule

import (
	"context"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcapi"
	"github.com/wcwebhooks/caddy-wc-webhooks/dispatcher"
	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// siteDispatch is the wcapi.Dispatch of one site: it queues work in Redis
// with the dispatcher package functions, after registering the site for
// delivery (once per dispatcher). Its methods are only reached from
// authenticated API requests, so arbitrary Host headers cannot make the
// dispatcher serve arbitrary sites.
type siteDispatch struct {
	app  *App
	site *redisstore.Site
	home string // the handler's home_url, or the first request's scheme://host
	// fixedHome: home is the handler's home_url, which overrides a home
	// recorded earlier for the site (e.g. before a reload changed it).
	fixedHome bool
}

// Publish implements wcapi.Dispatch.
func (s *siteDispatch) Publish(ctx context.Context, topic string, resourceID int64, payload []byte) (string, error) {
	if err := s.app.ensureSite(ctx, s.site, s.home, s.fixedHome); err != nil {
		return "", err
	}
	return dispatcher.Publish(ctx, s.site, dispatcher.Event{Topic: topic, ResourceID: resourceID, Payload: payload})
}

// Ping implements wcapi.Dispatch.
func (s *siteDispatch) Ping(ctx context.Context, webhookID int64) error {
	if err := s.app.ensureSite(ctx, s.site, s.home, s.fixedHome); err != nil {
		return err
	}
	_, err := dispatcher.Ping(ctx, s.site, webhookID)
	return err
}

// Redeliver implements wcapi.Dispatch.
func (s *siteDispatch) Redeliver(ctx context.Context, webhookID, deliveryID int64) (int64, error) {
	if err := s.app.ensureSite(ctx, s.site, s.home, s.fixedHome); err != nil {
		return 0, err
	}
	return dispatcher.Redeliver(ctx, s.site, webhookID, deliveryID)
}

// Interface guard
var _ wcapi.Dispatch = (*siteDispatch)(nil)
