package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/wcwebhooks/caddy-wc-webhooks/caddymodule/wcevents"
)

// customerPages is how many pages of 100 customers FindUser reads at most
// for a login that matches many users partially.
const customerPages = 5

// captureLimit is how much of a watched answer is kept: nothing for the
// account doors (their 302's headers are all they need), else
// DefaultCaptureLimit.
func captureLimit(w wcevents.Watch) int {
	if w.Door == wcevents.DoorAccount {
		return 0
	}
	return DefaultCaptureLimit
}

// resolveCustomers finds the ids of the customer changes that name their
// user by login or email, with the service key; changes whose user cannot
// be found are dropped (and logged).
func resolveCustomers(ctx context.Context, em *wcevents.Emitter, changes []wcevents.Change, logger *zap.Logger) []wcevents.Change {
	need := false
	for _, c := range changes {
		need = need || c.User != nil
	}
	if !need {
		return changes
	}
	var finder wcevents.UserFinder
	if f, ok := em.Reader.(wcevents.UserFinder); ok {
		finder = f
	}
	out, err := em.ResolveUsers(ctx, finder, changes)
	if err != nil {
		logger.Warn("events: not every customer event could be resolved", zap.Error(err))
	}
	return out
}

// FindUser implements wcevents.UserFinder with the customers list of
// wc/v3 (any role): ?email=<email> for an email, ?search=<login> for a
// login, and the item whose email or username matches exactly. The
// search of a login with an "@" looks at emails only (WP_User_Query), so
// such a login is found only when it is the user's email too.
func (s *serviceReader) FindUser(ctx context.Context, u wcevents.UserRef) (int64, error) {
	q := url.Values{"role": {"all"}, "per_page": {"100"}, "orderby": {"id"}, "order": {"desc"}}
	if u.Login != "" {
		q.Set("search", u.Login)
	} else if u.Email != "" {
		q.Set("email", u.Email)
	} else {
		return 0, nil
	}
	for page := 1; page <= customerPages; page++ {
		q.Set("page", strconv.Itoa(page))
		body, err := s.get(ctx, "rest_route="+url.QueryEscape("/wc/v3/customers")+"&"+q.Encode())
		if err != nil {
			return 0, err
		}
		var items []struct {
			ID       int64  `json:"id"`
			Username string `json:"username"`
			Email    string `json:"email"`
		}
		if err := json.Unmarshal(body, &items); err != nil {
			return 0, fmt.Errorf("reading customers: %w", err)
		}
		for _, it := range items {
			if (u.Login != "" && it.Username == u.Login) || (u.Login == "" && strings.EqualFold(it.Email, u.Email)) {
				return it.ID, nil
			}
		}
		if len(items) < 100 {
			break
		}
	}
	return 0, nil
}

// get reads ?<query> below the site's path with the service key (see
// fetch) and returns the body of a 200 answer.
func (s *serviceReader) get(ctx context.Context, query string) ([]byte, error) {
	a, err := s.fetch(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("reading customers: %w", err)
	}
	switch {
	case a.status != http.StatusOK:
		return nil, fmt.Errorf("reading customers: status %d", a.status)
	case len(a.body) > DefaultCaptureLimit:
		return nil, fmt.Errorf("reading customers: answer over %d bytes", DefaultCaptureLimit)
	}
	if err := identity(a.header); err != nil {
		return nil, fmt.Errorf("reading customers: %w", err)
	}
	return a.body, nil
}

// Interface guard
var _ wcevents.UserFinder = (*serviceReader)(nil)
