package harness

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// RedisInfo runs INFO section (e.g. "memory", "cpu", "clients",
// "commandstats"; "" for the default sections) and returns its fields by
// name. Lines of commandstats keep their whole value
// ("calls=3,usec=25,...").
func RedisInfo(ctx context.Context, rdb redis.UniversalClient, section string) (map[string]string, error) {
	var cmd *redis.StringCmd
	if section == "" {
		cmd = rdb.Info(ctx)
	} else {
		cmd = rdb.Info(ctx, section)
	}
	s, err := cmd.Result()
	if err != nil {
		return nil, fmt.Errorf("redis info %s: %w", section, err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = v
		}
	}
	return out, nil
}

// InfoInt reads an integer field of a RedisInfo answer (0 when missing).
func InfoInt(info map[string]string, field string) int64 {
	n, _ := strconv.ParseInt(info[field], 10, 64)
	return n
}

// InfoFloat reads a decimal field of a RedisInfo answer (0 when missing).
func InfoFloat(info map[string]string, field string) float64 {
	f, _ := strconv.ParseFloat(info[field], 64)
	return f
}

// CommandStat is one command's line of INFO commandstats.
type CommandStat struct {
	Calls int64
	Usec  int64
}

// CommandStats parses the cmdstat_<name> fields of INFO commandstats.
func CommandStats(info map[string]string) map[string]CommandStat {
	out := map[string]CommandStat{}
	for k, v := range info {
		name, ok := strings.CutPrefix(k, "cmdstat_")
		if !ok {
			continue
		}
		var cs CommandStat
		for _, kv := range strings.Split(v, ",") {
			key, val, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseInt(val, 10, 64)
			switch key {
			case "calls":
				cs.Calls = n
			case "usec":
				cs.Usec = n
			}
		}
		out[name] = cs
	}
	return out
}
