package main

import (
	"fmt"
	"strings"
	"time"
)

// markdown renders the report: one table row per scenario, then each
// scenario's settings, checks and notes.
func (rp *report) markdown(command string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# caddy-wc-webhooks fault suite (%s run)\n\n", rp.Mode)
	fmt.Fprintf(&b, "%s, %d CPUs, loopback only, took %s; `%s`. Each scenario starts from a fresh redis-server "+
		"(`appendonly yes`, `appendfsync always`) and Caddy; receivers check every `X-WC-Webhook-Signature` and count "+
		"deliveries by the unique event id in each payload. Publishers retry a publish that is not answered 2xx as a new event; "+
		"only 2xx answers count as published.\n\n", rp.Started.UTC().Format("2006-01-02 15:04 MST"), rp.CPUs, rp.Took.Round(time.Second), command)
	b.WriteString("Pass: zero lost, every signature valid, duplicates at most the deliveries in flight at the fault, and the scenario's own checks.\n\n")
	b.WriteString("| scenario | published (2xx) | webhooks | delivered (distinct) | lost | duplicated | in flight at fault | result |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, r := range rp.Results {
		inflight := "n/a"
		if r.InFlight >= 0 {
			inflight = fmt.Sprint(r.InFlight)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d of %d | %d | %d | %s | %s |\n",
			r.Name, r.Published, r.Webhooks, r.Delivered, r.Expected, r.Lost, r.Duplicated, inflight, r.verdict())
	}
	b.WriteString("\n")
	for _, r := range rp.Results {
		fmt.Fprintf(&b, "**%s** (%s, %s). Settings: %s.", r.Name, r.verdict(), r.Took.Round(time.Second), r.Settings)
		if r.InFlightNote != "" {
			fmt.Fprintf(&b, " In flight: %s.", r.InFlightNote)
		}
		if r.Unacked > 0 {
			fmt.Fprintf(&b, " %d publish tries got no 2xx answer (retried as new events); %d of them were stored and delivered anyway.", r.Unacked, r.UnackedArrived)
		}
		if r.Published > 0 {
			fmt.Fprintf(&b, " Publish to first delivery: p50 %s, p99 %s, max %s; %d within 1 s, %d in 1–5 s, %d in 5–30 s, %d after 30 s.",
				ms(r.P50), ms(r.P99), r.MaxLatency.Round(10*time.Millisecond), r.Latency[0], r.Latency[1], r.Latency[2], r.Latency[3])
		}
		b.WriteString("\n")
		if r.Err != nil {
			fmt.Fprintf(&b, "- error: %v\n", r.Err)
		}
		if r.BadSignatures > 0 {
			fmt.Fprintf(&b, "- %d deliveries with a bad signature\n", r.BadSignatures)
		}
		for _, c := range r.Checks {
			mark := "ok"
			if !c.OK {
				mark = "FAILED"
			}
			fmt.Fprintf(&b, "- %s: %s\n", mark, c.What)
		}
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		if len(r.LostIDs) > 0 {
			fmt.Fprintf(&b, "- lost (receiver:event id, first %d): %s\n", len(r.LostIDs), strings.Join(r.LostIDs, " "))
		}
		if len(r.DupIDs) > 0 {
			fmt.Fprintf(&b, "- duplicated (first %d): %s\n", len(r.DupIDs), strings.Join(r.DupIDs, " "))
		}
		b.WriteString("\n")
	}
	return b.String()
}
