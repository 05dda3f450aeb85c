package backtest

import (
	"encoding/csv"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

func horizonName(h int, step time.Duration) string {
	d := time.Duration(h) * step
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dmin", d/time.Minute)
}

const step = 5 * time.Minute

// WriteTables writes the accuracy and joint-peak tables as Markdown.
func (r *Result) WriteTables(w io.Writer) error {
	var b strings.Builder
	c := r.Config
	fmt.Fprintf(&b, "VMs: %d, train before %s, test until the end of %s, origins every %d steps, quantile p%g, interval level %g%%, run time %s.\n\n",
		r.VMs, c.Split.Format("2006-01-02"), c.Months[len(c.Months)-1], c.OriginEvery, 100*c.Quantile, 100*c.Level, r.Duration.Round(time.Second))
	resources := []string{}
	seen := map[string]bool{}
	for _, row := range r.Rows {
		if !seen[row.Resource] {
			seen[row.Resource] = true
			resources = append(resources, row.Resource)
		}
	}
	for _, res := range resources {
		fmt.Fprintf(&b, "#### %s\n\n", res)
		if p := r.Periods[res]; len(p) > 0 {
			fmt.Fprintf(&b, "Detected periods (series count): %s. Auto's choices (origins): %s.\n\n", mapString(p), mapString(r.Choices[res]))
		}
		for _, h := range c.Horizons {
			fmt.Fprintf(&b, "Horizon %s:\n\n", horizonName(h, step))
			b.WriteString("| model | MASE mean | MASE median | pinball p" + fmt.Sprintf("%g", 100*c.Quantile) + " (scaled, mean) | pinball rel. to seasonal naive (geo-mean) | coverage | width (scaled) | series |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
			bestF, bestB := math.Inf(1), math.Inf(1)
			relF, relB := math.Inf(1), math.Inf(1)
			for _, row := range r.Rows {
				if row.Resource != res || row.Horizon != h {
					continue
				}
				name := row.Model
				if row.Baseline {
					name += " (baseline)"
					bestB = math.Min(bestB, row.Pinball)
					if !math.IsNaN(row.RelPinball) {
						relB = math.Min(relB, row.RelPinball)
					}
				} else if !strings.Contains(row.Model, "events") && !strings.Contains(row.Model, "unaware") {
					bestF = math.Min(bestF, row.Pinball)
					if !math.IsNaN(row.RelPinball) {
						relF = math.Min(relF, row.RelPinball)
					}
				}
				fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f | %d |\n", name, row.MASE, row.MedianMASE, row.Pinball, row.RelPinball, row.Coverage, row.Width, row.Series)
			}
			if !math.IsInf(bestF, 0) && !math.IsInf(bestB, 0) {
				fmt.Fprintf(&b, "\nBest Foresight / best baseline pinball: %.3f (scaled mean), %.3f (geo-mean relative)\n", bestF/bestB, relF/relB)
			}
			b.WriteString("\n")
		}
		var peaks []PeakRow
		for _, p := range r.Peaks {
			if p.Resource == res {
				peaks = append(peaks, p)
			}
		}
		if len(peaks) > 0 {
			fmt.Fprintf(&b, "Joint peaks (groups of %d VMs, confidence %g%%):\n\n", c.GroupSize, 100*c.Quantile)
			b.WriteString("| predictor | horizon | violation rate | savings vs sum of member peaks | predictions |\n|---|---|---:|---:|---:|\n")
			for _, p := range peaks {
				fmt.Fprintf(&b, "| %s | %s | %.3f | %.3f | %d |\n", p.Predictor, horizonName(p.Horizon, step), p.Violations, p.Savings, p.N)
			}
			b.WriteString("\n")
		}
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintf(&b, "Skipped %d series: %s\n", len(r.Skipped), strings.Join(r.Skipped, "; "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mapString(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// WriteCSV writes one line per accuracy row and per joint-peak row.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }
	_ = cw.Write([]string{"table", "resource", "model", "baseline", "horizon_steps", "mase", "mase_median", "pinball_scaled", "pinball_rel_geomean", "coverage", "width_scaled", "violations", "savings", "n"})
	for _, row := range r.Rows {
		_ = cw.Write([]string{"accuracy", row.Resource, row.Model, strconv.FormatBool(row.Baseline), strconv.Itoa(row.Horizon),
			f(row.MASE), f(row.MedianMASE), f(row.Pinball), f(row.RelPinball), f(row.Coverage), f(row.Width), "", "", strconv.Itoa(row.Series)})
	}
	for _, p := range r.Peaks {
		_ = cw.Write([]string{"joint-peak", p.Resource, p.Predictor, "", strconv.Itoa(p.Horizon), "", "", "", "", "", "", f(p.Violations), f(p.Savings), strconv.Itoa(p.N)})
	}
	cw.Flush()
	return cw.Error()
}

// WritePlots writes one PNG per kept series into dir: the 1-hour-ahead auto
// forecast with its interval against the actual usage over the first days
// of the test part.
func (r *Result) WritePlots(dir string, days int) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("plots: %w", err)
	}
	var files []string
	for i, tr := range r.Plots {
		p := plot.New()
		p.Title.Text = tr.Name + ": 1 h ahead forecast (auto) vs actual"
		p.X.Label.Text = "hours since test start"
		p.Y.Label.Text = "usage"
		n := min(len(tr.Times), days*24)
		mk := func(y []float64) plotter.XYs {
			xy := make(plotter.XYs, 0, n)
			for j := 0; j < n; j++ {
				if math.IsNaN(y[j]) {
					continue
				}
				xy = append(xy, plotter.XY{X: tr.Times[j].Sub(tr.Times[0]).Hours(), Y: y[j]})
			}
			return xy
		}
		add := func(y []float64, c color.Color, label string, dashed bool) error {
			l, err := plotter.NewLine(mk(y))
			if err != nil {
				return err
			}
			l.Color = c
			if dashed {
				l.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
			}
			p.Add(l)
			if label != "" {
				p.Legend.Add(label, l)
			}
			return nil
		}
		for _, e := range []struct {
			y      []float64
			c      color.Color
			label  string
			dashed bool
		}{
			{tr.Actual, color.RGBA{A: 255}, "actual", false},
			{tr.Point, color.RGBA{B: 200, A: 255}, "forecast", false},
			{tr.Upper, color.RGBA{R: 200, A: 255}, fmt.Sprintf("%g%% interval", 100*r.Config.Level), true},
			{tr.Lower, color.RGBA{R: 200, A: 255}, "", true},
		} {
			if err := add(e.y, e.c, e.label, e.dashed); err != nil {
				return files, fmt.Errorf("plots: %w", err)
			}
		}
		name := filepath.Join(dir, fmt.Sprintf("forecast-%d.png", i+1))
		if err := p.Save(10*vg.Inch, 4*vg.Inch, name); err != nil {
			return files, fmt.Errorf("plots: %w", err)
		}
		files = append(files, name)
	}
	return files, nil
}
