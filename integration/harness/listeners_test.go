//go:build linux

package harness

import (
	"context"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestDuplicateListeners: two SO_REUSEPORT listeners of this process on one
// port are found, as Caddy's old and new config's sockets are during a
// reload, and the wait ends once one is closed.
func TestDuplicateListeners(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp on this system")
	}
	reuse := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) })
		if err != nil {
			return err
		}
		return serr
	}}
	first, err := reuse.Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer first.Close()
	dup, err := duplicateListeners(os.Getpid())
	require.NoError(t, err)
	require.Empty(t, dup, "one listener per port")

	second, err := reuse.Listen(context.Background(), "tcp", first.Addr().String())
	require.NoError(t, err)
	dup, err = duplicateListeners(os.Getpid())
	require.NoError(t, err)
	require.NotEmpty(t, dup, "old and new listener on one port")
	require.Error(t, waitOldListenersClosed(os.Getpid(), 50*time.Millisecond))

	go func() { time.Sleep(100 * time.Millisecond); _ = second.Close() }()
	require.NoError(t, waitOldListenersClosed(os.Getpid(), 10*time.Second))
}
