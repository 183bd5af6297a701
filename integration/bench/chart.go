package main

import (
	"errors"
	"fmt"
	"image/color"
	"os"
	"sort"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// minChartMs is the floor of the chart's log-scale latency axis.
const minChartMs = 0.1

// chartPercentiles are drawn for every fan-out, one colour each.
var chartPercentiles = []struct {
	p     float64
	color color.RGBA
}{
	{50, color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}},
	{95, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}},
	{99, color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}},
}

// chartMs is a latency in milliseconds, floored for the log scale.
func chartMs(d time.Duration) float64 {
	v := float64(d) / float64(time.Millisecond)
	if v < minChartMs {
		return minChartMs
	}
	return v
}

// latencyChart plots p50/p95/p99 event-to-delivery latency against event
// rate, one solid line per percentile for fan-out 1 and a dashed one for
// larger fan-outs, with DESIGN.md's 500 events/s targets as dotted lines.
func latencyChart(rates []rateResult) (*plot.Plot, plot.Legend, error) {
	byFan := map[int][]rateResult{}
	for _, r := range rates {
		if len(r.Lat) > 0 {
			byFan[r.FanOut] = append(byFan[r.FanOut], r)
		}
	}
	if len(byFan) == 0 {
		return nil, plot.Legend{}, errors.New("chart: no latencies to plot")
	}
	var fans []int
	for f := range byFan {
		fans = append(fans, f)
	}
	sort.Ints(fans)
	p := plot.New()
	p.Title.Text = "caddy-wc-webhooks: event-to-delivery latency against event rate"
	p.X.Label.Text = "events per second (fixed rate)"
	p.Y.Label.Text = "latency, ms (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	leg := plot.NewLegend() // drawn beside the plot, not over it
	leg.Top, leg.Left = true, true
	leg.YOffs = -vg.Points(30)
	var ticks []plot.Tick
	seen := map[float64]bool{}
	for _, r := range rates {
		if !seen[r.Rate] {
			seen[r.Rate] = true
			ticks = append(ticks, plot.Tick{Value: r.Rate, Label: fmt.Sprintf("%.0f", r.Rate)})
		}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Add(plotter.NewGrid())
	minX, maxX := 0.0, 0.0
	for fi, fan := range fans {
		rs := byFan[fan]
		sort.Slice(rs, func(i, j int) bool { return rs[i].Rate < rs[j].Rate })
		if fi == 0 || rs[0].Rate < minX {
			minX = rs[0].Rate
		}
		if last := rs[len(rs)-1].Rate; last > maxX {
			maxX = last
		}
		for _, cp := range chartPercentiles {
			xys := make(plotter.XYs, len(rs))
			for i, r := range rs {
				xys[i] = plotter.XY{X: r.Rate, Y: chartMs(pct(r.Lat, cp.p))}
			}
			line, points, err := plotter.NewLinePoints(xys)
			if err != nil {
				return nil, leg, fmt.Errorf("chart: %w", err)
			}
			line.Color, points.Color = cp.color, cp.color
			line.Width = vg.Points(1.5)
			points.Shape = draw.CircleGlyph{}
			if fan > 1 {
				line.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
				points.Shape = draw.TriangleGlyph{}
			}
			p.Add(line, points)
			leg.Add(fmt.Sprintf("fan-out %d, p%.0f", fan, cp.p), line, points)
		}
	}
	for _, t := range []struct {
		ms    float64
		label string
	}{{5, "target p50 at 500/s (5 ms)"}, {50, "target p99 at 500/s (50 ms)"}} {
		ref, err := plotter.NewLine(plotter.XYs{{X: minX, Y: t.ms}, {X: maxX, Y: t.ms}})
		if err != nil {
			return nil, leg, fmt.Errorf("chart: %w", err)
		}
		ref.Color = color.Gray{Y: 0x80}
		ref.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(ref)
		leg.Add(t.label, ref)
	}
	return p, leg, nil
}

// Chart size: the plot and, on its right, the legend.
const (
	chartWidth   = 10 * vg.Inch
	chartHeight  = 5.5 * vg.Inch
	legendWidth  = 2.4 * vg.Inch
	chartDPI     = 96
	chartPadding = vg.Length(6)
)

// writeChart saves the latency chart as a PNG file.
func writeChart(path string, rates []rateResult) error {
	p, leg, err := latencyChart(rates)
	if err != nil {
		return err
	}
	img := vgimg.NewWith(vgimg.UseWH(chartWidth, chartHeight), vgimg.UseDPI(chartDPI))
	dc := draw.New(img)
	p.Draw(draw.Crop(dc, 0, -legendWidth, 0, 0))
	leg.Draw(draw.Crop(dc, chartWidth-legendWidth+chartPadding, -chartPadding, 0, 0))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("save chart: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("save chart %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save chart %s: %w", path, err)
	}
	return nil
}
