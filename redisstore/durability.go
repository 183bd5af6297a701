package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// CheckDurability reads Redis's appendonly and maxmemory-policy settings and
// returns a human warning for each one unfit for production (appendonly
// other than "yes", maxmemory-policy other than "noeviction"). When Redis
// refuses CONFIG GET (disabled, renamed, or not permitted by an ACL) it
// returns a warning that it could not check, not an error; err is only set
// when Redis cannot be reached at all.
func (s *Store) CheckDurability(ctx context.Context) (warnings []string, err error) {
	cfg, err := s.rdb.ConfigGet(ctx, "appendonly").Result()
	if err != nil {
		return unchecked(err)
	}
	policy, err := s.rdb.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		return unchecked(err)
	}
	if v, ok := cfg["appendonly"]; !ok {
		warnings = append(warnings, "could not read Redis's appendonly setting; make sure appendonly is yes, or webhooks, keys and queued deliveries are lost when Redis restarts")
	} else if !strings.EqualFold(v, "yes") {
		warnings = append(warnings, fmt.Sprintf("Redis runs with appendonly %q: webhooks, keys and queued deliveries written since the last snapshot are lost when Redis restarts; set appendonly yes", v))
	}
	if v, ok := policy["maxmemory-policy"]; !ok {
		warnings = append(warnings, "could not read Redis's maxmemory-policy setting; make sure it is noeviction, or Redis may silently drop webhooks and queued deliveries when memory runs out")
	} else if !strings.EqualFold(v, "noeviction") {
		warnings = append(warnings, fmt.Sprintf("Redis runs with maxmemory-policy %q: it may silently evict webhooks and queued deliveries when memory runs out; set maxmemory-policy noeviction", v))
	}
	return warnings, nil
}

// unchecked turns a CONFIG GET refusal into a warning; connection errors
// stay errors.
func unchecked(err error) ([]string, error) {
	var rerr redis.Error
	if !errors.As(err, &rerr) || errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redisstore: check durability: %w", err)
	}
	return []string{fmt.Sprintf("could not check Redis's durability settings (CONFIG GET failed: %v); production needs appendonly yes and maxmemory-policy noeviction", err)}, nil
}
