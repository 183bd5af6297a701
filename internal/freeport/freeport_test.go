package freeport

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPickBelowEphemeralRange: a picked port can be bound and lies below
// the kernel's ephemeral range when that range is readable.
func TestPickBelowEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	for range 20 {
		port, err := Pick()
		require.NoError(t, err)
		if low-lowest > 1000 {
			require.GreaterOrEqual(t, port, lowest)
			require.Less(t, port, low, "outside the ephemeral range %d+", low)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		require.NoError(t, err, "the picked port %d can be bound", port)
		require.NoError(t, l.Close())
	}
}
