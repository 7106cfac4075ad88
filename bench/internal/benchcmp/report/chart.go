package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/gobcc/gobcc/bench/internal/benchcmp"
)

var (
	betterColor = color.RGBA{R: 0x2e, G: 0x8b, B: 0x57, A: 0xff}
	worseColor  = color.RGBA{R: 0xc0, G: 0x39, B: 0x2b, A: 0xff}
)

// Chart writes a PNG with one horizontal bar per measurement: how many times
// better gobcc does than BCC Python (Result.Advantage), on a log scale, so
// that 10x faster and 10x slower are bars of the same length on either side
// of 1x. Measurements without both medians are left out.
func Chart(path string, results []benchcmp.Result) error {
	var names []string
	var better, worse plotter.Values
	var labels plotter.XYLabels
	lo, hi := -1.0, 1.0
	for i := len(results) - 1; i >= 0; i-- { // the first row on top
		r := results[i]
		a := r.Advantage()
		if math.IsNaN(a) || math.IsInf(a, 0) || a <= 0 {
			continue
		}
		l := math.Log10(a)
		names = append(names, r.Measurement.Name)
		if l >= 0 {
			better, worse = append(better, l), append(worse, 0)
		} else {
			better, worse = append(better, 0), append(worse, l)
		}
		lo, hi = min(lo, math.Floor(l)), max(hi, math.Ceil(l))
		// The factor at the bar's end, on the side away from the axis.
		labels.XYs = append(labels.XYs, plotter.XY{X: l, Y: float64(len(names) - 1)})
		labels.Labels = append(labels.Labels, " "+verdict(r)+" ")
	}
	if len(names) == 0 {
		return fmt.Errorf("chart: no measurement has results on both sides")
	}
	p := plot.New()
	p.Title.Text = "gobcc vs BCC Python: how many times better gobcc does (median)"
	p.X.Label.Text = "← BCC Python better      gobcc faster / smaller →"
	// Room for the labels beyond the longest bars.
	p.X.Min, p.X.Max = lo-0.5, hi+0.7
	var ticks []plot.Tick
	for e := lo; e <= hi; e++ {
		label := fmt.Sprintf("%.0fx", math.Pow(10, e))
		if e < 0 {
			label = fmt.Sprintf("1/%.0fx", math.Pow(10, -e))
		}
		ticks = append(ticks, plot.Tick{Value: e, Label: label})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Add(plotter.NewGrid())
	barWidth := vg.Points(14)
	for _, s := range []struct {
		v plotter.Values
		c color.Color
	}{{better, betterColor}, {worse, worseColor}} {
		bars, err := plotter.NewBarChart(s.v, barWidth)
		if err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		bars.Horizontal = true
		bars.Color = s.c
		bars.LineStyle.Width = 0
		p.Add(bars)
	}
	text, err := plotter.NewLabels(labels)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	for i, xy := range labels.XYs {
		// Right of bars pointing right, left of bars pointing left.
		if xy.X < 0 {
			text.TextStyle[i].XAlign = -1
		}
		text.TextStyle[i].YAlign = -0.5
	}
	p.Add(text)
	p.NominalY(names...)
	height := vg.Points(float64(80 + 22*len(names)))
	if err := p.Save(9*vg.Inch, height, path); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}
