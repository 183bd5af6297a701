package caddymodule

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestBackgroundWork: work runs in goroutines of its own up to
// maxBackgroundEmits at once, then in the caller's (nothing dropped), and
// wait returns once all of it has finished.
func TestBackgroundWork(t *testing.T) {
	var b backgroundWork
	release := make(chan struct{})
	var done atomic.Int64
	for range maxBackgroundEmits {
		b.run(func() { <-release; done.Add(1) })
	}
	assert.Zero(t, done.Load(), "the first %d run in the background", maxBackgroundEmits)

	inline := false
	b.run(func() { inline = true; done.Add(1) })
	assert.True(t, inline, "with every slot taken, run waits for the work itself")

	close(release)
	b.wait()
	assert.Equal(t, int64(maxBackgroundEmits+1), done.Load())

	inline = false
	b.run(func() { inline = true; done.Add(1) }) // after wait: in the caller's goroutine
	assert.True(t, inline)
	assert.Equal(t, int64(maxBackgroundEmits+2), done.Load())
}
