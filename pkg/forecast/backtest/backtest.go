package backtest

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/foresight-dev/foresight/pkg/forecast"
	"github.com/foresight-dev/foresight/pkg/forecast/traces"
)

// Config describes a Bitbrains back-test.
type Config struct {
	// Dir is the bitbrains-rnd directory.
	Dir string
	// VMs are the VM ids to use; empty means every VM in the first month.
	VMs []string
	// MaxVMs, if positive, keeps only the first MaxVMs ids.
	MaxVMs int
	// Months are read in order and concatenated; Split separates the
	// training part (before) from the test part (at and after).
	Months []string
	Split  time.Time
	// Start is the common start of every VM's grid (default: a month and a
	// day before Split), so that the VMs of a group are aligned in time.
	Start time.Time
	// Resources to test; empty means all four.
	Resources []traces.Resource
	// Horizons, in steps, reported (default 1, 12, 288: 5 min, 1 h, 24 h).
	Horizons []int
	// OriginEvery is the number of steps between rolling origins (default 12).
	OriginEvery int
	// Quantile is the quantile whose pinball loss is reported (default 0.95).
	Quantile float64
	// Level is the nominal coverage of reported intervals (default 0.95).
	Level float64
	// GroupSize is the number of VMs placed together for joint peaks
	// (default 10); PeakHorizons are the joint-peak horizons in steps
	// (default 12, 288); PeakEvery the steps between joint-peak origins
	// (default 72); PeakHistory the history of the published predictors in
	// steps (default 2016, a week); PeakWarmup the test steps used only to
	// calibrate before joint peaks are scored (default 2016).
	GroupSize    int
	PeakHorizons []int
	PeakEvery    int
	PeakHistory  int
	PeakWarmup   int
	// LimitFraction is the fraction of the sum of limits predictor (default 0.5).
	LimitFraction float64
	// Events, when true, injects synthetic surges into the test data of every
	// series and reports, over the surge windows only, the auto model told
	// about them (auto+events) and not told (auto-unaware).
	Events bool
	// PlotSeries is the number of VMs (the first ones) whose 1-hour
	// forecasts are kept for plotting, every resource (default 3; negative:
	// none).
	PlotSeries int
	// Progress, if non-nil, receives a progress line per VM.
	Progress io.Writer
}

func (c *Config) defaults() {
	if len(c.Months) == 0 {
		c.Months = []string{"2013-7", "2013-8", "2013-9"}
	}
	if c.Split.IsZero() {
		c.Split = time.Date(2013, 8, 1, 0, 0, 0, 0, time.UTC)
	}
	if c.Start.IsZero() {
		c.Start = c.Split.AddDate(0, -1, -1)
	}
	if len(c.Resources) == 0 {
		c.Resources = traces.Resources
	}
	if len(c.Horizons) == 0 {
		c.Horizons = []int{1, 12, 288}
	}
	if c.OriginEvery <= 0 {
		c.OriginEvery = 12
	}
	if c.Quantile <= 0 || c.Quantile >= 1 {
		c.Quantile = 0.95
	}
	if c.Level <= 0 || c.Level >= 1 {
		c.Level = 0.95
	}
	if c.GroupSize <= 0 {
		c.GroupSize = 10
	}
	if len(c.PeakHorizons) == 0 {
		c.PeakHorizons = []int{12, 288}
	}
	if c.PeakEvery <= 0 {
		c.PeakEvery = 72
	}
	if c.PeakHistory <= 0 {
		c.PeakHistory = 2016
	}
	if c.PeakWarmup <= 0 {
		c.PeakWarmup = 2016
	}
	if c.LimitFraction <= 0 {
		c.LimitFraction = 0.5
	}
	if c.PlotSeries < 0 {
		c.PlotSeries = 0
	} else if c.PlotSeries == 0 {
		c.PlotSeries = 3
	}
}

// Row is one line of the accuracy table: a model at a horizon on a
// resource, averaged over series.
type Row struct {
	Resource string
	Model    string
	Baseline bool
	Horizon  int // steps
	// MASE is the mean over series of MAE / in-sample one-step naive MAE;
	// MedianMASE its median (a series idle in the training month has a tiny
	// scale and can dominate the mean).
	MASE       float64
	MedianMASE float64
	// Pinball is the mean over series of the pinball loss at the quantile,
	// scaled like MASE.
	Pinball float64
	// Coverage is the pooled fraction of actuals inside the interval (for
	// sizing baselines: at or below their recommendation).
	Coverage float64
	// RelPinball is the geometric mean over series of the pinball loss
	// relative to the seasonal-naive baseline's on the same series: robust
	// to the few series whose scale makes them dominate the plain means.
	RelPinball float64
	// Width is the mean over series of the interval width, scaled like MASE.
	Width   float64
	Series  int
	Samples int
}

// PeakRow is one line of the joint-peak table.
type PeakRow struct {
	Resource  string
	Predictor string
	Horizon   int
	// Violations is the fraction of (group, origin) pairs where the actual
	// peak of the group's summed usage over the horizon exceeded the
	// prediction.
	Violations float64
	// Savings is 1 - (sum of predictions) / (sum over the same groups and
	// origins of the members' own peaks over the last PeakHistory steps):
	// the capacity saved against sizing every member for its own recent
	// peak, weighted by capacity as a cluster would see it.
	Savings float64
	N       int
}

// PlotTrace is the 1-hour-ahead forecast of one series over the test part.
type PlotTrace struct {
	Name                        string
	Times                       []time.Time
	Actual, Point, Lower, Upper []float64
}

// Result is the outcome of a back-test.
type Result struct {
	Config  Config
	Rows    []Row
	Peaks   []PeakRow
	Plots   []PlotTrace
	Skipped []string // series skipped, with the reason
	// Choices counts, per resource, how often auto used each model at 1 h
	// and at the longest horizon.
	Choices  map[string]map[string]int
	Periods  map[string]map[string]int // per resource: "day", "week", "day+week", "none"
	Duration time.Duration
	VMs      int
}

// accumulator holds one model's sums on one series at one horizon.
type acc struct {
	absErr, pin, width float64
	covered, n         int
}

type seriesScore struct {
	scale float64
	acc   map[string][]acc // model -> per horizon
}

// modelNames in table order; baselines flagged.
var baselineSet = map[string]bool{"seasonal-naive": true, "vpa-p90": true, "dsp-replay": true}

// Run executes the back-test.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.defaults()
	start := time.Now()
	ids := cfg.VMs
	if len(ids) == 0 {
		var err error
		ids, err = traces.BitbrainsIDs(cfg.Dir, cfg.Months[0])
		if err != nil {
			return nil, fmt.Errorf("backtest: %w", err)
		}
	}
	if cfg.MaxVMs > 0 && len(ids) > cfg.MaxVMs {
		ids = ids[:cfg.MaxVMs]
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("backtest: no VM in %s", cfg.Dir)
	}
	res := &Result{Config: cfg, Choices: map[string]map[string]int{}, Periods: map[string]map[string]int{}}
	scores := map[traces.Resource][]seriesScore{}
	groups := map[traces.Resource][]*group{}
	for vi, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("backtest: %w", err)
		}
		vm, err := traces.LoadBitbrainsVM(cfg.Dir, id, cfg.Months, cfg.Start)
		if err != nil {
			res.Skipped = append(res.Skipped, fmt.Sprintf("vm %s: %v", id, err))
			continue
		}
		res.VMs++
		gi := vi / cfg.GroupSize
		for _, r := range cfg.Resources {
			s := vm.Series[r]
			for len(groups[r]) <= gi {
				groups[r] = append(groups[r], nil)
			}
			sc, g, plot, err := runSeries(cfg, res, string(r), s, groups[r][gi], vi < cfg.PlotSeries)
			if err != nil {
				res.Skipped = append(res.Skipped, fmt.Sprintf("vm %s %s: %v", id, r, err))
				continue
			}
			g.limit += vm.Limits[r]
			groups[r][gi] = g
			scores[r] = append(scores[r], sc)
			if plot != nil {
				plot.Name = fmt.Sprintf("vm %s %s", id, r)
				res.Plots = append(res.Plots, *plot)
			}
		}
		if cfg.Progress != nil {
			el := time.Since(start)
			eta := time.Duration(float64(el) / float64(vi+1) * float64(len(ids)-vi-1))
			fmt.Fprintf(cfg.Progress, "backtest: vm %d/%d (id %s) elapsed %s eta %s\n", vi+1, len(ids), id,
				el.Round(time.Second), eta.Round(time.Second))
		}
	}
	for _, r := range cfg.Resources {
		res.Rows = append(res.Rows, summarize(cfg, string(r), scores[r])...)
		res.Peaks = append(res.Peaks, peakTable(cfg, string(r), groups[r])...)
	}
	res.Duration = time.Since(start)
	return res, nil
}

func summarize(cfg Config, resource string, scores []seriesScore) []Row {
	models := map[string]bool{}
	for _, s := range scores {
		for m := range s.acc {
			models[m] = true
		}
	}
	var names []string
	for m := range models {
		names = append(names, m)
	}
	sort.Slice(names, func(i, j int) bool {
		bi, bj := baselineSet[names[i]], baselineSet[names[j]]
		if bi != bj {
			return !bi
		}
		return names[i] < names[j]
	})
	var rows []Row
	for hi, h := range cfg.Horizons {
		for _, m := range names {
			row := Row{Resource: resource, Model: m, Baseline: baselineSet[m], Horizon: h}
			var cov, n, nrel int
			var logRel float64
			var mases []float64
			for _, s := range scores {
				a, ok := s.acc[m]
				if !ok || a[hi].n == 0 || s.scale == 0 {
					continue
				}
				x := a[hi]
				row.MASE += x.absErr / float64(x.n) / s.scale
				mases = append(mases, x.absErr/float64(x.n)/s.scale)
				row.Pinball += x.pin / float64(x.n) / s.scale
				row.Width += x.width / float64(x.n) / s.scale
				row.Series++
				if ref, ok := s.acc["seasonal-naive"]; ok && ref[hi].n > 0 && ref[hi].pin > 0 && x.pin > 0 {
					logRel += math.Log((x.pin / float64(x.n)) / (ref[hi].pin / float64(ref[hi].n)))
					nrel++
				}
				cov += x.covered
				n += x.n
			}
			if row.Series == 0 {
				continue
			}
			k := float64(row.Series)
			row.MASE /= k
			row.Pinball /= k
			row.Width /= k
			row.Coverage = float64(cov) / float64(n)
			sort.Float64s(mases)
			row.MedianMASE = mases[len(mases)/2]
			row.RelPinball = math.NaN()
			if nrel > 0 {
				row.RelPinball = math.Exp(logRel / float64(nrel))
			}
			row.Samples = n
			rows = append(rows, row)
		}
	}
	return rows
}

// naiveScale is the in-sample mean absolute one-step change.
func naiveScale(x []float64) float64 {
	var s float64
	var n int
	for i := 1; i < len(x); i++ {
		if !math.IsNaN(x[i]) && !math.IsNaN(x[i-1]) {
			s += math.Abs(x[i] - x[i-1])
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return s / float64(n)
}

func maxOf(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		if !math.IsNaN(v) && v > m {
			m = v
		}
	}
	return m
}

// dsp is the DSP-style replay baseline: the period is detected by FFT on the
// training part; the forecast for any horizon is the maximum of the last
// period.
type dsp struct {
	ring []float64
	pos  int
}

func newDSP(train forecast.Series) *dsp {
	p, err := forecast.DominantPeriod(train, 12)
	if err != nil || p <= 0 {
		p = 288
	}
	d := &dsp{ring: make([]float64, p)}
	for i := range d.ring {
		d.ring[i] = math.NaN()
	}
	for _, v := range train.Values[max(0, len(train.Values)-p):] {
		d.add(v)
	}
	return d
}

func (d *dsp) add(v float64) {
	d.ring[d.pos] = v
	d.pos = (d.pos + 1) % len(d.ring)
}

func (d *dsp) predict() float64 { return maxOf(d.ring) }

// events returns the synthetic surges injected into a test part starting at
// t0 with n steps: every 3.5 days, 2 hours at +100%.
func events(t0 time.Time, step time.Duration, n int) []forecast.Event {
	var ev []forecast.Event
	end := t0.Add(time.Duration(n) * step)
	for t := t0.Add(36 * time.Hour); t.Before(end); t = t.Add(84 * time.Hour) {
		ev = append(ev, forecast.Event{Start: t, End: t.Add(2 * time.Hour), Change: 1})
	}
	return ev
}

func runSeries(cfg Config, res *Result, resource string, s forecast.Series, g *group, keepPlot bool) (seriesScore, *group, *PlotTrace, error) {
	split := s.Index(cfg.Split)
	if split < 2016 || split >= len(s.Values)-cfg.Horizons[len(cfg.Horizons)-1] {
		return seriesScore{}, g, nil, fmt.Errorf("split at %d of %d samples leaves too little data", split, len(s.Values))
	}
	train := s.Slice(0, split)
	H := 0
	for _, h := range cfg.Horizons {
		H = max(H, h)
	}
	for _, h := range cfg.PeakHorizons {
		H = max(H, h)
	}
	opt := forecast.Options{Horizon: H, Level: cfg.Level, SelectQuantile: cfg.Quantile}
	auto := forecast.NewAuto(opt)
	if err := auto.Fit(train); err != nil {
		return seriesScore{}, g, nil, err
	}
	var unaware *forecast.Auto
	var evs []forecast.Event
	test := s.Values[split:]
	if cfg.Events {
		evs = events(s.Time(split), s.Step, len(test))
		test = append([]float64(nil), test...)
		for _, e := range evs {
			for i := max(0, s.Index(e.Start)-split); i < len(test) && s.Time(split+i).Before(e.End); i++ {
				test[i] *= 1 + e.Change
			}
		}
		unaware = forecast.NewAuto(opt)
		if err := unaware.Fit(train); err != nil {
			return seriesScore{}, g, nil, err
		}
	}
	periods := "none"
	if c, ok := auto.Candidates()[0].(interface{ Periods() []int }); ok {
		switch p := c.Periods(); {
		case len(p) == 2:
			periods = "day+week"
		case len(p) == 1 && p[0] == 288:
			periods = "day"
		case len(p) == 1:
			periods = "week"
		}
	}
	if res.Periods[resource] == nil {
		res.Periods[resource] = map[string]int{}
		res.Choices[resource] = map[string]int{}
	}
	res.Periods[resource][periods]++
	vpa, err := forecast.NewVPARecommender(s.Step, maxOf(train.Values))
	if err != nil {
		return seriesScore{}, g, nil, err
	}
	for _, v := range train.Values {
		vpa.Add(v)
	}
	replay := newDSP(train)
	if g == nil {
		g = newGroup(cfg, s, split)
	}
	member := g.addMember(s.Values)

	sc := seriesScore{scale: naiveScale(train.Values), acc: map[string][]acc{}}
	models := auto.Candidates()
	add := func(name string, hi int, y, point, q, lo, hi2 float64) {
		a, ok := sc.acc[name]
		if !ok {
			a = make([]acc, len(cfg.Horizons))
			sc.acc[name] = a
		}
		x := &a[hi]
		x.absErr += math.Abs(y - point)
		x.pin += forecast.Pinball(cfg.Quantile, y, q)
		x.width += hi2 - lo
		if y >= lo && y <= hi2 {
			x.covered++
		}
		x.n++
	}
	inEvent := func(i int) bool {
		t := s.Time(split + i)
		for _, e := range evs {
			if !t.Before(e.Start) && t.Before(e.End) {
				return true
			}
		}
		return false
	}
	var plot *PlotTrace
	if keepPlot {
		plot = &PlotTrace{}
	}
	hPlot := -1
	for hi, h := range cfg.Horizons {
		if h == 12 {
			hPlot = hi
		}
	}
	maxH := cfg.Horizons[len(cfg.Horizons)-1]
	for i := 0; i < len(test); i++ {
		origin := i%cfg.OriginEvery == 0 && i+maxH <= len(test)
		if origin {
			var autoF forecast.Forecast
			for _, m := range append(models, forecast.Model(auto)) {
				f, err := m.Forecast(H, cfg.Level)
				if err != nil {
					return seriesScore{}, g, nil, err
				}
				q, err := m.Quantiles(H, cfg.Quantile)
				if err != nil {
					return seriesScore{}, g, nil, err
				}
				if m == forecast.Model(auto) {
					autoF = f
					if cfg.Events {
						f, err = forecast.ApplyEvents(f, evs)
						if err != nil {
							return seriesScore{}, g, nil, err
						}
						qf := forecast.Forecast{Start: f.Start, Step: f.Step, Point: q, Lower: q, Upper: q}
						qf, err = forecast.ApplyEvents(qf, evs)
						if err != nil {
							return seriesScore{}, g, nil, err
						}
						q = qf.Point
					}
				}
				for hi, h := range cfg.Horizons {
					y := test[i+h-1]
					if math.IsNaN(y) || (cfg.Events && !inEvent(i+h-1)) {
						continue
					}
					name := m.Name()
					if cfg.Events && m == forecast.Model(auto) {
						name = "auto+events"
					} else if cfg.Events {
						continue
					}
					add(name, hi, y, f.Point[h-1], q[h-1], f.Lower[h-1], f.Upper[h-1])
				}
			}
			if cfg.Events {
				f, err := unaware.Forecast(H, cfg.Level)
				if err != nil {
					return seriesScore{}, g, nil, err
				}
				q, err := unaware.Quantiles(H, cfg.Quantile)
				if err != nil {
					return seriesScore{}, g, nil, err
				}
				for hi, h := range cfg.Horizons {
					if y := test[i+h-1]; !math.IsNaN(y) && inEvent(i+h-1) {
						add("auto-unaware", hi, y, f.Point[h-1], q[h-1], f.Lower[h-1], f.Upper[h-1])
					}
				}
			}
			if !cfg.Events {
				f, q, err := auto.Combined(H, cfg.Level, cfg.Quantile)
				if err != nil {
					return seriesScore{}, g, nil, err
				}
				for hi, h := range cfg.Horizons {
					if y := test[i+h-1]; !math.IsNaN(y) {
						add("ensemble", hi, y, f.Point[h-1], q[h-1], f.Lower[h-1], f.Upper[h-1])
					}
				}
				rec := vpa.Recommendation()
				rp := replay.predict()
				for hi, h := range cfg.Horizons {
					y := test[i+h-1]
					if math.IsNaN(y) {
						continue
					}
					add("vpa-p90", hi, y, rec, rec, 0, rec)
					add("dsp-replay", hi, y, rp, rp, 0, rp)
				}
			}
			if hPlot >= 0 && plot != nil && i+12 <= len(test) {
				plot.Times = append(plot.Times, s.Time(split+i+11))
				plot.Actual = append(plot.Actual, test[i+11])
				plot.Point = append(plot.Point, autoF.Point[11])
				plot.Lower = append(plot.Lower, autoF.Lower[11])
				plot.Upper = append(plot.Upper, autoF.Upper[11])
			}
			ch := auto.Choice(maxH)
			res.Choices[resource]["1h:"+ch[min(11, maxH-1)]]++
			res.Choices[resource]["24h:"+ch[maxH-1]]++
			if i%g.every == 0 {
				g.record(member, split+i, autoF.Point, s.Values[:split+i], cfg.Quantile)
			}
		}
		v := test[i]
		if err := auto.Observe(deEvent(v, s.Time(split+i), evs)); err != nil {
			return seriesScore{}, g, nil, err
		}
		if unaware != nil {
			if err := unaware.Observe(v); err != nil {
				return seriesScore{}, g, nil, err
			}
		}
		vpa.Add(v)
		replay.add(v)
	}
	return sc, g, plot, nil
}

// deEvent removes a known event's effect from an observation so that the
// model does not learn the surge.
func deEvent(v float64, t time.Time, evs []forecast.Event) float64 {
	for _, e := range evs {
		if !t.Before(e.Start) && t.Before(e.End) && e.Change > -1 {
			v = math.Max(0, (v-e.Add)/(1+e.Change))
		}
	}
	return v
}
