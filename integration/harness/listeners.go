package harness

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// tcpListen is the state column of a listening socket in /proc/net/tcp.
const tcpListen = "0A"

// waitOldListenersClosed waits (at most limit) until no TCP port of pid
// has more than one listening socket. Caddy binds each config's listeners
// anew with SO_REUSEPORT and closes the old config's sockets only after
// its admin API has answered a reload; a connection the kernel queues on
// an old socket in between is reset when that socket closes. It returns
// at once when /proc cannot be read (the wait is only an aid to tests).
func waitOldListenersClosed(pid int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		dup, err := duplicateListeners(pid)
		if err != nil || dup == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the old config's listener on port %s still open after %s", dup, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// duplicateListeners returns a local port (hex, as /proc shows it) on
// which pid holds two or more listening TCP sockets, or "".
func duplicateListeners(pid int) (string, error) {
	inodes, err := socketInodes(pid)
	if err != nil {
		return "", err
	}
	perPort := map[string]int{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != tcpListen || !inodes[fields[9]] {
				continue
			}
			_, port, _ := strings.Cut(fields[1], ":")
			if perPort[port]++; perPort[port] > 1 {
				_ = f.Close()
				return port, nil
			}
		}
		_ = f.Close()
	}
	return "", nil
}

// socketInodes returns the inodes of pid's open sockets.
func socketInodes(pid int) (map[string]bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list fds of %d: %w", pid, err)
	}
	out := map[string]bool{}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if inode, ok := strings.CutPrefix(target, "socket:["); ok {
			out[strings.TrimSuffix(inode, "]")] = true
		}
	}
	return out, nil
}
