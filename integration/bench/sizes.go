package main

import "time"

// sizes bound one run's traffic and time.
type sizes struct {
	PassRounds, PassN, PassConc    int // pass-through: alternating rounds of N GETs per side
	WriteRounds, WriteN, WriteConc int // watched writes: alternating rounds of N order creates per side
	APIN, APIConc                  int // webhooks API: requests per kind
	ListN                          int // list-latency requests per site
	ListSmall, ListBig             int // webhooks in the two list sites
	DispatchN, DispatchConc        int // the burst
	BareConc                       int // workers of the bare POST loop
	RateSeconds                    float64
	Rates                          []float64
	FanOuts                        []int
	Drain                          time.Duration // longest wait for a fixed-rate run's deliveries
	ScaleSites, ScaleHooks         int           // sites × webhooks of the cost-per-event scenario
	ScaleRate, ScaleSeconds        float64
	MemDeliveries                  int // logged deliveries appended for bytes per delivery
}

var (
	quickSizes = sizes{PassRounds: 2, PassN: 1000, PassConc: 16,
		WriteRounds: 2, WriteN: 300, WriteConc: 1,
		APIN: 200, APIConc: 8, ListN: 200, ListSmall: 100, ListBig: 10000,
		DispatchN: 500, DispatchConc: 8, BareConc: 4,
		RateSeconds: 1, Rates: []float64{100, 500, 1000}, FanOuts: []int{1, 10}, Drain: 8 * time.Second,
		ScaleSites: 100, ScaleHooks: 10, ScaleRate: 50, ScaleSeconds: 2,
		MemDeliveries: 1000}
	fullSizes = sizes{PassRounds: 5, PassN: 5000, PassConc: 16,
		WriteRounds: 4, WriteN: 1000, WriteConc: 1,
		APIN: 1000, APIConc: 8, ListN: 1000, ListSmall: 100, ListBig: 10000,
		DispatchN: 3000, DispatchConc: 8, BareConc: 4,
		RateSeconds: 5, Rates: []float64{100, 500, 1000}, FanOuts: []int{1, 10}, Drain: 40 * time.Second,
		ScaleSites: 1000, ScaleHooks: 10, ScaleRate: 50, ScaleSeconds: 10,
		MemDeliveries: 10000}
)
