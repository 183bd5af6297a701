package main

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func deliver(rc *receiver, path, topic, body string) {
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	r.Header.Set("X-WC-Webhook-Topic", topic)
	rc.ServeHTTP(httptest.NewRecorder(), r)
}

// TestReceiverCountsFanOut: each (event, path) pair counts once, repeats
// are duplicates, other runs and non-benchmark payloads are kept apart,
// and waitStall gives up when deliveries stop.
func TestReceiverCountsFanOut(t *testing.T) {
	rc := newReceiver()
	rc.reset("r1")
	now := time.Now().UnixNano()
	for k := 0; k < 3; k++ {
		for _, p := range []string{"/hook/1", "/hook/2"} {
			deliver(rc, p, "product.created", fmt.Sprintf(`{"run":"r1","k":%d,"t":%d}`, k, now))
		}
	}
	deliver(rc, "/hook/1", "product.created", fmt.Sprintf(`{"run":"r1","k":0,"t":%d}`, now)) // duplicate
	deliver(rc, "/hook/1", "product.created", fmt.Sprintf(`{"run":"old","k":9,"t":%d}`, now))
	deliver(rc, "/hook", "order.created", `{"id":42,"status":"processing"}`)
	deliver(rc, "/hook", "", `webhook_id=7`) // a ping
	lat, dups, last := rc.waitStall(6, time.Minute, time.Second)
	if len(lat) != 6 || dups != 1 || last.IsZero() {
		t.Errorf("got %d deliveries, %d duplicates, last %v; want 6, 1, set", len(lat), dups, last)
	}
	if n := rc.waitTopic("order.created", 1, time.Second); n != 1 {
		t.Errorf("order.created deliveries = %d, want 1", n)
	}
	// Nothing more arrives: waitStall returns long before its timeout.
	if lat, _, _ := rc.waitStall(7, 10*time.Minute, 20*time.Millisecond); len(lat) != 6 {
		t.Errorf("after a stall: %d deliveries, want 6", len(lat))
	}
}
