package backtest

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/foresight-dev/foresight/pkg/forecast"
)

// group accumulates, for the VMs placed together on one node, what the
// joint-peak predictors need at each joint-peak origin.
type group struct {
	every, split, history, maxH int
	members                     int
	actual                      []float64 // summed (gap-filled) usage
	limit                       float64
	o                           map[int]*originSums // by absolute index
}

type originSums struct {
	path                        []float64 // summed point forecasts
	rc, mean, variance, peakRef float64
	members                     int
}

func newGroup(cfg Config, s forecast.Series, split int) *group {
	maxH := 0
	for _, h := range cfg.PeakHorizons {
		maxH = max(maxH, h)
	}
	return &group{every: cfg.PeakEvery, split: split, history: cfg.PeakHistory, maxH: maxH,
		actual: make([]float64, len(s.Values)), o: map[int]*originSums{}}
}

// addMember adds a member's usage to the group's sum, gaps filled with the
// member's previous value.
func (g *group) addMember(x []float64) int {
	last := 0.0
	for i := range g.actual {
		v := 0.0
		if i < len(x) {
			v = x[i]
		}
		if math.IsNaN(v) {
			v = last
		}
		last = v
		g.actual[i] += v
	}
	g.members++
	return g.members - 1
}

var z = distuv.UnitNormal

// record adds a member's point forecast path from absolute index t and its
// published-predictor statistics over its history before t.
func (g *group) record(_ int, t int, path []float64, past []float64, q float64) {
	o := g.o[t]
	if o == nil {
		o = &originSums{path: make([]float64, g.maxH)}
		g.o[t] = o
	}
	for i := 0; i < g.maxH && i < len(path); i++ {
		o.path[i] += path[i]
	}
	h := past[max(0, len(past)-g.history):]
	buf := make([]float64, 0, len(h))
	for _, v := range h {
		if !math.IsNaN(v) {
			buf = append(buf, v)
		}
	}
	if len(buf) > 0 {
		sort.Float64s(buf)
		o.rc += stat.Quantile(q, stat.Empirical, buf, nil)
		m, v := stat.MeanVariance(buf, nil)
		if len(buf) < 2 {
			v = 0
		}
		o.mean += m
		o.variance += v
		o.peakRef += buf[len(buf)-1]
	}
	o.members++
}

func peakTable(cfg Config, resource string, groups []*group) []PeakRow {
	nSigma := z.Quantile(cfg.Quantile)
	names := []string{"foresight-joint", fmt.Sprintf("rc-like-p%g", 100*cfg.Quantile),
		fmt.Sprintf("n-sigma-%.3g", nSigma), "max(rc,n-sigma)", fmt.Sprintf("limit-x%.2g", cfg.LimitFraction)}
	var rows []PeakRow
	for _, H := range cfg.PeakHorizons {
		type tally struct {
			viol, n      int
			pred, refSum float64
		}
		t := make([]tally, len(names))
		for _, g := range groups {
			if g == nil {
				continue
			}
			cal, err := forecast.NewPeakCalibrator(cfg.Quantile, 200)
			if err != nil {
				continue
			}
			var idx []int
			for k, o := range g.o {
				if o.members == g.members {
					idx = append(idx, k)
				}
			}
			sort.Ints(idx)
			next := 0 // first origin whose outcome is not yet recorded
			for _, k := range idx {
				if k+H > len(g.actual) {
					continue
				}
				for next < len(idx) && idx[next]+H <= k {
					o := g.o[idx[next]]
					if idx[next]+H <= len(g.actual) {
						cal.Record(forecast.Peak(o.path[:H]), forecast.Peak(g.actual[idx[next]:idx[next]+H]))
					}
					next++
				}
				if k-g.split < cfg.PeakWarmup || !cal.Calibrated() {
					continue
				}
				o := g.o[k]
				actual := forecast.Peak(g.actual[k : k+H])
				if o.peakRef <= 0 {
					continue
				}
				rc := o.rc
				ns := o.mean + nSigma*math.Sqrt(o.variance)
				preds := []float64{cal.Predict(forecast.Peak(o.path[:H])), rc, ns, math.Max(rc, ns), cfg.LimitFraction * g.limit}
				for i, p := range preds {
					if i == 4 && g.limit <= 0 {
						continue
					}
					t[i].n++
					if actual > p {
						t[i].viol++
					}
					t[i].pred += p
					t[i].refSum += o.peakRef
				}
			}
		}
		for i, name := range names {
			if t[i].n == 0 {
				continue
			}
			rows = append(rows, PeakRow{Resource: resource, Predictor: name, Horizon: H,
				Violations: float64(t[i].viol) / float64(t[i].n), Savings: 1 - t[i].pred/t[i].refSum, N: t[i].n})
		}
	}
	return rows
}
