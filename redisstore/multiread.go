package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// SiteEntries are the entries of one site read by ReadSites.
type SiteEntries struct {
	Site   *Site
	Events []Event
	Jobs   []QueuedJob
}

// MultiSiteReads reports whether ReadSites can read many sites in one
// call: true on a standalone Redis, false on a Redis Cluster (whose sites
// live in different slots; read them one by one with ReadQueues there).
func (s *Store) MultiSiteReads() bool {
	_, cluster := s.rdb.(*redis.ClusterClient)
	return !cluster
}

// ReadSites reads new entries of the event and work streams of many
// sites (all of this store) for consumer with one blocking XREADGROUP
// (COUNT count per stream, BLOCK block > 0), so one connection serves
// them all. Only for a standalone Redis (see MultiSiteReads). When a
// site's group is missing, every site's queues are ensured again and
// nothing is returned. Nothing read is no error.
func (s *Store) ReadSites(ctx context.Context, sites []*Site, consumer string, count int, block time.Duration) ([]SiteEntries, error) {
	if len(sites) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, 4*len(sites))
	owner := make(map[string]*Site, 2*len(sites))
	for _, st := range sites {
		keys = append(keys, st.evKey(), st.readyKey())
		owner[st.evKey()], owner[st.readyKey()] = st, st
	}
	for range 2 * len(sites) {
		keys = append(keys, ">")
	}
	res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: QueueGroup, Consumer: consumer, Streams: keys, Count: int64(count), Block: block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil && strings.Contains(err.Error(), "NOGROUP") {
		for _, st := range sites {
			if eerr := st.EnsureQueues(ctx); eerr != nil {
				return nil, eerr
			}
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: read queues of %d sites: %w", len(sites), err)
	}
	var out []SiteEntries
	at := map[*Site]int{}
	for _, xs := range res {
		st := owner[xs.Stream]
		if st == nil || len(xs.Messages) == 0 {
			continue
		}
		i, ok := at[st]
		if !ok {
			i = len(out)
			at[st] = i
			out = append(out, SiteEntries{Site: st})
		}
		if xs.Stream == st.evKey() {
			out[i].Events = append(out[i].Events, decodeEvents(xs.Messages)...)
		} else {
			out[i].Jobs = append(out[i].Jobs, decodeJobs(xs.Messages)...)
		}
	}
	return out, nil
}

// Store returns the store the site belongs to.
func (st *Site) Store() *Store { return st.store }
