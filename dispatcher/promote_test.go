package dispatcher

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPromoteScheduleBacksOffWhenIdle(t *testing.T) {
	d := &Dispatcher{cfg: config{Options: Options{PromoteInterval: 250 * time.Millisecond}}, soon: make(chan time.Duration, 16)}
	ss := &siteState{}
	t0 := time.Unix(1000, 0)
	require.True(t, ss.promoteDue().IsZero(), "a new site is due at once")

	// Nothing promoted, nothing waiting: the interval doubles up to idleMax.
	var gaps []time.Duration
	now := t0
	for range 7 {
		at := d.promoted(ss, now, 0, -1)
		gaps = append(gaps, at.Sub(now))
		now = at
	}
	require.Equal(t, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second,
		2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}, gaps)

	// A delayed job due sooner is promoted when it falls due.
	require.Equal(t, now.Add(700*time.Millisecond), d.promoted(ss, now, 0, 700*time.Millisecond))
	// Something moved: back to PromoteInterval.
	require.Equal(t, now.Add(250*time.Millisecond), d.promoted(ss, now, 3, -1))
	// A full batch: more are due at once.
	require.Equal(t, now, d.promoted(ss, now, promoteLimit, -1))
}

func TestPromoteHintBringsPromoteForward(t *testing.T) {
	d := &Dispatcher{cfg: config{Options: Options{PromoteInterval: 250 * time.Millisecond}}, soon: make(chan time.Duration, 16)}
	ss := &siteState{}
	start := time.Now()
	for range 6 {
		d.promoted(ss, start, 0, -1) // idle: next promote 4 s away
	}
	require.True(t, ss.promoteDue().Sub(start) >= 4*time.Second)
	d.promoteHint(ss, 10*time.Millisecond) // a retry was scheduled here
	due := ss.promoteDue()
	require.True(t, due.Before(start.Add(time.Second)), "promoted when the retry falls due")
	require.Equal(t, 10*time.Millisecond, <-d.soon, "the maintenance loop is woken")
	// A promote that started before the hint keeps it.
	require.Equal(t, due, d.promoted(ss, start, 0, -1))
	// One that started after it clears it.
	after := due.Add(time.Millisecond)
	at := d.promoted(ss, after, 0, -1)
	require.True(t, at.After(after))
	require.Equal(t, at, ss.promoteDue())
}

func TestIdleSiteOnlyChecked(t *testing.T) {
	d := &Dispatcher{cfg: config{Options: Options{PromoteInterval: 250 * time.Millisecond}}, soon: make(chan time.Duration, 16)}
	ss := &siteState{}
	now := time.Now()
	require.True(t, d.needsFull(ss, now), "the first promote runs the script")
	d.promoted(ss, now, 0, -1)
	require.False(t, d.needsFull(ss, now), "nothing read: the cheap check is enough")
	ss.touch(now)
	require.True(t, d.needsFull(ss, now.Add(time.Second)), "entries read recently: trim")
	require.False(t, d.needsFull(ss, now.Add(2*d.idleMax())), "idle again")
	d.promoteHint(ss, 0)
	require.True(t, d.needsFull(ss, time.Now().Add(time.Millisecond)), "a retry hint due")
}
