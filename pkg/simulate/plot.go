package simulate

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// WritePlot draws, over the replay's days, one panel each of the nodes
// paid for (with the bounds), the cumulative cost, and the cumulative
// violated pod-intervals of every policy, and writes them as one PNG.
func (r *Result) WritePlot(w io.Writer) error {
	if len(r.Outcomes) == 0 {
		return fmt.Errorf("plot: no outcomes")
	}
	// At most ~2,000 points per line: one every few steps.
	n := len(r.Outcomes[0].Series)
	every := max(1, n/2000)
	day := func(i int) float64 { return float64(i) * r.Trace.Step.Hours() / 24 }

	nodes, cost, viol := plot.New(), plot.New(), plot.New()
	nodes.Title.Text = "Nodes paid for"
	cost.Title.Text = "Cumulative cost ($)"
	viol.Title.Text = "Cumulative violated pod-intervals (throttled or OOM-killed)"
	for _, p := range []*plot.Plot{nodes, cost, viol} {
		p.X.Label.Text = "days since the replay's start"
		p.Legend.Top = true
		p.Legend.Left = true
		p.Add(plotter.NewGrid())
	}
	line := func(p *plot.Plot, xy plotter.XYs, c color.Color, dashes []vg.Length, label string) error {
		l, err := plotter.NewLine(xy)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		l.Color, l.Dashes = c, dashes
		l.Width = vg.Points(1.2)
		p.Add(l)
		if label != "" {
			p.Legend.Add(label, l)
		}
		return nil
	}
	topNodes := float64(max(r.Bounds.StaticNodes, r.Bounds.SumOfPeaksNodes))
	for k := range r.Outcomes {
		o := &r.Outcomes[k]
		var xyN, xyC, xyV plotter.XYs
		for i := 0; i < len(o.Series); i += every {
			s := &o.Series[i]
			total := 0
			for _, c := range s.Nodes {
				total += c
			}
			x := day(i)
			topNodes = max(topNodes, float64(total))
			xyN = append(xyN, plotter.XY{X: x, Y: float64(total)})
			xyC = append(xyC, plotter.XY{X: x, Y: s.Cost})
			xyV = append(xyV, plotter.XY{X: x, Y: float64(s.CumulativeViolations)})
		}
		c := plotutil.Color(k)
		for _, e := range []struct {
			p  *plot.Plot
			xy plotter.XYs
		}{{nodes, xyN}, {cost, xyC}, {viol, xyV}} {
			if err := line(e.p, e.xy, c, nil, o.Policy.Name); err != nil {
				return err
			}
		}
	}
	b := &r.Bounds
	var oracle, static, peaks plotter.XYs
	for i := 0; i < len(b.OracleNodes); i += every {
		oracle = append(oracle, plotter.XY{X: day(i), Y: float64(b.OracleNodes[i])})
	}
	last := day(max(len(b.OracleNodes)-1, 0))
	static = plotter.XYs{{X: 0, Y: float64(b.StaticNodes)}, {X: last, Y: float64(b.StaticNodes)}}
	peaks = plotter.XYs{{X: 0, Y: float64(b.SumOfPeaksNodes)}, {X: last, Y: float64(b.SumOfPeaksNodes)}}
	grey := color.RGBA{R: 90, G: 90, B: 90, A: 255}
	for _, e := range []struct {
		xy     plotter.XYs
		dashes []vg.Length
		label  string
	}{
		{oracle, []vg.Length{vg.Points(1), vg.Points(2)}, "dynamic oracle"},
		{static, []vg.Length{vg.Points(6), vg.Points(3)}, "static lower bound"},
		{peaks, []vg.Length{vg.Points(2), vg.Points(3)}, "sum of per-pod peaks"},
	} {
		if err := line(nodes, e.xy, grey, e.dashes, e.label); err != nil {
			return err
		}
	}
	nodes.Y.Min, nodes.Y.Max = 0, topNodes*1.08+1
	img := vgimg.New(11*vg.Inch, 12*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 3, Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	plots := [][]*plot.Plot{{nodes}, {cost}, {viol}}
	canvases := plot.Align(plots, tiles, dc)
	for j := range plots {
		plots[j][0].Draw(canvases[j][0])
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}
