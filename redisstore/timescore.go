package redisstore

import (
	"errors"
	"time"
)

// Sorted-set scores of dates are unix microseconds. A float64 holds every
// integer up to 2^53 exactly, so dates between the years ~1685 and ~2255 are
// exact scores; the store refuses to save dates outside that window.
const maxScoreMicro = 1<<53 - 1

var (
	minScoreTime = time.UnixMicro(-maxScoreMicro).UTC()
	maxScoreTime = time.UnixMicro(maxScoreMicro).UTC()
)

// normTime returns t in UTC, truncated to the microsecond.
func normTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// checkScoreTime reports whether t (already normalised) fits an exact score.
func checkScoreTime(t time.Time, what string) error {
	if t.Before(minScoreTime) || t.After(maxScoreTime) {
		return errors.New(what + " date is out of range")
	}
	return nil
}

// createdScore is the score of a (normalised) creation date.
func createdScore(t time.Time) string { return itoa(t.UnixMicro()) }

// modifiedScore is the score of a (normalised) modification date; a webhook
// that was never modified scores 0, like the Unix epoch.
func modifiedScore(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return itoa(t.UnixMicro())
}

// modifiedMicro is modifiedScore as a number, for in-process filtering.
func modifiedMicro(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// scoreRange is an inclusive time range as Redis score bounds ("-inf" and
// "+inf" for open ends) and as numeric micro bounds for in-process checks.
type scoreRange struct {
	set    bool   // a bound was given
	lo, hi string // Redis bounds
	loN    int64  // numeric bounds, clamped to the score window
	hiN    int64
}

// newScoreRange builds the range [after, before]; nil is an open end. A
// bound that is not a whole microsecond is rounded inwards, which keeps the
// range exact since stored dates are whole microseconds; bounds beyond the
// score window are clamped.
func newScoreRange(after, before *time.Time) scoreRange {
	r := scoreRange{lo: "-inf", hi: "+inf", loN: -maxScoreMicro - 1, hiN: maxScoreMicro + 1}
	if after != nil {
		r.set = true
		a := after.UTC()
		switch {
		case a.After(maxScoreTime):
			r.lo, r.loN = "+inf", maxScoreMicro+1
		case !a.Before(minScoreTime):
			n := a.UnixMicro()
			if a.Nanosecond()%1000 != 0 {
				n++
			}
			r.lo, r.loN = itoa(n), n
		}
	}
	if before != nil {
		r.set = true
		b := before.UTC()
		switch {
		case b.Before(minScoreTime):
			r.hi, r.hiN = "-inf", -maxScoreMicro-1
		case !b.After(maxScoreTime):
			n := b.UnixMicro()
			r.hi, r.hiN = itoa(n), n
		}
	}
	return r
}

// contains reports whether the score n lies in the range.
func (r scoreRange) contains(n int64) bool { return n >= r.loN && n <= r.hiN }
