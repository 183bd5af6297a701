package harness

import (
	"context"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestRedisInfoAndCommandStats(t *testing.T) {
	r, err := StartRedis(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Kill9)
	if r.PID() <= 0 {
		t.Fatalf("PID() = %d", r.PID())
	}
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	info, err := RedisInfo(ctx, rdb, "all")
	if err != nil {
		t.Fatal(err)
	}
	if info["redis_version"] == "" {
		t.Error("no redis_version in INFO all")
	}
	if InfoInt(info, "used_memory") <= 0 {
		t.Errorf("used_memory = %q", info["used_memory"])
	}
	if InfoFloat(info, "used_cpu_user") < 0 {
		t.Errorf("used_cpu_user = %q", info["used_cpu_user"])
	}
	set := CommandStats(info)["set"]
	if set.Calls != 3 || set.Usec < 0 {
		t.Errorf("cmdstat_set = %+v, want 3 calls", set)
	}
	if _, err := RedisInfo(ctx, redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}), "memory"); err == nil {
		t.Error("INFO from nowhere must fail")
	}
}

func TestCommandStatsParsing(t *testing.T) {
	got := CommandStats(map[string]string{
		"cmdstat_evalsha": "calls=12,usec=340,usec_per_call=28.33,rejected_calls=0,failed_calls=1",
		"cmdstat_xadd":    "calls=5,usec=20",
		"used_memory":     "1000",
		"cmdstat_bad":     "calls=x,usec=",
	})
	if len(got) != 3 || got["evalsha"] != (CommandStat{Calls: 12, Usec: 340}) || got["xadd"] != (CommandStat{Calls: 5, Usec: 20}) ||
		got["bad"] != (CommandStat{}) {
		t.Errorf("CommandStats = %+v", got)
	}
	if InfoInt(map[string]string{}, "missing") != 0 || InfoFloat(map[string]string{"x": "nan?"}, "x") != 0 {
		t.Error("missing or bad fields must read as 0")
	}
}

func TestProcessCPU(t *testing.T) {
	if _, err := ProcessCPU(os.Getpid()); err != nil {
		t.Errorf("own CPU time: %v", err)
	}
	if _, err := ProcessCPU(-1); err == nil {
		t.Error("CPU time of pid -1 must fail")
	}
}
