package main

import (
	"testing"
	"time"
)

// TestTallyAndVerdict checks the counting the suite's verdicts rest on:
// an acknowledged event missing at a receiver is lost, a second delivery
// is a duplicate, and duplicates pass only up to the in-flight count.
func TestTallyAndVerdict(t *testing.T) {
	now := time.Now()
	p := &publisher{prefix: "x", acked: map[string]time.Time{"x-0-0": now, "x-1-0": now, "x-2-1": now},
		unsure: map[string]bool{"x-2-0": true}}
	a := &receiver{name: "a", counts: map[string]int{"x-0-0": 1, "x-1-0": 2, "x-2-1": 1, "x-2-0": 1}, first: map[string]arrival{}}
	b := &receiver{name: "b", counts: map[string]int{"x-0-0": 1, "x-2-1": 1}, first: map[string]arrival{}, badSig: 1}

	r := &result{InFlight: 1}
	r.tally(p, a, b)
	if r.Published != 3 || r.Webhooks != 2 || r.Expected != 6 {
		t.Errorf("published %d, webhooks %d, expected %d; want 3, 2, 6", r.Published, r.Webhooks, r.Expected)
	}
	if r.Delivered != 5 || r.Lost != 1 || r.Duplicated != 1 || r.BadSignatures != 1 {
		t.Errorf("delivered %d, lost %d, duplicated %d, bad signatures %d; want 5, 1, 1, 1", r.Delivered, r.Lost, r.Duplicated, r.BadSignatures)
	}
	if len(r.LostIDs) != 1 || r.LostIDs[0] != "b:x-1-0" {
		t.Errorf("lost ids %v, want [b:x-1-0]", r.LostIDs)
	}
	if r.Unacked != 1 || r.UnackedArrived != 1 {
		t.Errorf("unacked %d (arrived %d), want 1 (1)", r.Unacked, r.UnackedArrived)
	}
	if r.pass() {
		t.Error("a lost event passes")
	}

	ok := &result{InFlight: 1, Duplicated: 1}
	if !ok.pass() {
		t.Error("one duplicate with one delivery in flight fails")
	}
	ok.Duplicated = 2
	if ok.pass() {
		t.Error("two duplicates with one delivery in flight pass")
	}
	ok.Duplicated, ok.InFlight = 0, -1
	ok.require(false, "a check")
	if ok.pass() {
		t.Error("a failed check passes")
	}
}
