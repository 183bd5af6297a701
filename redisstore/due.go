package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// NextDue returns, for each site, the time until its earliest delayed job
// is due by Redis server time (0 when due already, -1 when none waits),
// with one pipeline of a TIME and one ZRANGE per site: a cheap check
// before running PromoteDue, whose script also trims the streams.
func (s *Store) NextDue(ctx context.Context, sites []*Site) ([]time.Duration, error) {
	out := make([]time.Duration, len(sites))
	if len(sites) == 0 {
		return out, nil
	}
	cmds := make([]*redis.ZSliceCmd, len(sites))
	var now *redis.TimeCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		now = p.Time(ctx)
		for i, st := range sites {
			cmds[i] = p.ZRangeWithScores(ctx, st.key("dq", "delayed"), 0, 0)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redisstore: next due jobs: %w", err)
	}
	nowMs := now.Val().UnixMilli()
	for i, c := range cmds {
		z := c.Val()
		if len(z) == 0 {
			out[i] = -1
			continue
		}
		out[i] = time.Duration(max(int64(z[0].Score)-nowMs, 0)) * time.Millisecond
	}
	return out, nil
}
