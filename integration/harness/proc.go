package harness

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat (100 on every Linux architecture Go supports).
const clockTicks = 100

// ProcessCPU returns the CPU time (user + system) the process pid has used
// so far, from /proc/<pid>/stat, with a resolution of 10 ms.
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu time of %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces; fields count from ")".
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("read cpu time of %d: unexpected stat format", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("read cpu time of %d: unexpected stat format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("read cpu time of %d: unexpected stat format", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// CPUTime returns the CPU time (user + system) Caddy has used so far.
func (p *Caddy) CPUTime() (time.Duration, error) { return ProcessCPU(p.PID()) }

// PID is redis-server's process id (0 when it was never started).
func (r *Redis) PID() int {
	if r == nil || r.cmd == nil || r.cmd.Process == nil {
		return 0
	}
	return r.cmd.Process.Pid
}
