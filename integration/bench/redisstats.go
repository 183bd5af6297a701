package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wcwebhooks/caddy-wc-webhooks/integration/harness"
)

// usedMemory is Redis's INFO memory used_memory in bytes.
func usedMemory(ctx context.Context, rdb *redis.Client) (int64, error) {
	info, err := harness.RedisInfo(ctx, rdb, "memory")
	if err != nil {
		return 0, err
	}
	return harness.InfoInt(info, "used_memory"), nil
}

// cpuSample is the CPU use of Redis and Caddy at one moment.
type cpuSample struct {
	At        time.Time
	RedisCPU  time.Duration // used_cpu_user + used_cpu_sys
	CmdCalls  int64         // sum of commandstats calls
	CmdUsec   int64         // sum of commandstats usec
	CaddyCPU  time.Duration // utime + stime of Caddy
	Clients   int64         // connected_clients
	Blocked   int64         // blocked_clients
	UsedBytes int64         // used_memory
	Cmds      map[string]harness.CommandStat
}

// sample reads Redis INFO (cpu, commandstats, clients, memory) and
// Caddy's CPU time.
func (e *env) sample(ctx context.Context) (cpuSample, error) {
	s := cpuSample{At: time.Now()}
	info, err := harness.RedisInfo(ctx, e.rdb, "all")
	if err != nil {
		return s, err
	}
	secs := harness.InfoFloat(info, "used_cpu_user") + harness.InfoFloat(info, "used_cpu_sys")
	s.RedisCPU = time.Duration(secs * float64(time.Second))
	s.Cmds = harness.CommandStats(info)
	for _, cs := range s.Cmds {
		s.CmdCalls += cs.Calls
		s.CmdUsec += cs.Usec
	}
	s.Clients = harness.InfoInt(info, "connected_clients")
	s.Blocked = harness.InfoInt(info, "blocked_clients")
	s.UsedBytes = harness.InfoInt(info, "used_memory")
	if s.CaddyCPU, err = e.caddy.CPUTime(); err != nil {
		return s, err
	}
	return s, nil
}

// cpuDelta is what happened between two samples.
type cpuDelta struct {
	Wall     time.Duration
	RedisCPU time.Duration
	CmdCalls int64
	CmdUsec  int64
	CaddyCPU time.Duration
	Top      string // the commands that took most Redis time, with their share
}

func (a cpuSample) to(b cpuSample) cpuDelta {
	d := cpuDelta{Wall: b.At.Sub(a.At), RedisCPU: b.RedisCPU - a.RedisCPU, CmdCalls: b.CmdCalls - a.CmdCalls,
		CmdUsec: b.CmdUsec - a.CmdUsec, CaddyCPU: b.CaddyCPU - a.CaddyCPU}
	type cmd struct {
		name        string
		calls, usec int64
	}
	var cmds []cmd
	for name, cs := range b.Cmds {
		old := a.Cmds[name]
		if cs.Usec > old.Usec {
			cmds = append(cmds, cmd{name, cs.Calls - old.Calls, cs.Usec - old.Usec})
		}
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].usec > cmds[j].usec })
	var parts []string
	for i := 0; i < len(cmds) && i < 3 && d.CmdUsec > 0; i++ {
		parts = append(parts, fmt.Sprintf("%s %.0f%% (%d calls)", cmds[i].name, 100*float64(cmds[i].usec)/float64(d.CmdUsec), cmds[i].calls))
	}
	d.Top = strings.Join(parts, ", ")
	return d
}
