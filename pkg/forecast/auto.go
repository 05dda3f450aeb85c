package forecast

import (
	"errors"
	"fmt"
	"math"
)

// Auto runs several models side by side on the same series and, for each
// horizon bucket, forecasts with the one whose recent out-of-sample errors
// (at the rolling origins that calibrate the intervals) are smallest. The
// choice is re-made at every forecast, so it follows the data.
type Auto struct {
	cands  []*calibrated
	opt    Options
	fitted bool
}

// NewAuto returns automatic model choice among the seasonal-naive,
// damped-trend, Holt-Winters, decaying-histogram, multi-seasonal regression
// and seasonal-median models.
func NewAuto(opt Options) *Auto {
	return &Auto{opt: opt, cands: []*calibrated{
		newCalibrated(&seasonalNaive{}, opt),
		newCalibrated(&holt{}, opt),
		newCalibrated(&holtWinters{}, opt),
		newCalibrated(&decayingHist{}, opt),
		newCalibrated(&msr{}, opt),
		newCalibrated(&seasonalMedian{}, opt),
	}}
}

// Name returns "auto".
func (a *Auto) Name() string { return "auto" }

// Candidates returns the fitted models Auto chooses among, for inspection
// and side-by-side back-tests.
func (a *Auto) Candidates() []Model {
	out := make([]Model, len(a.cands))
	for i, c := range a.cands {
		out[i] = c
	}
	return out
}

// Fit fits every candidate; those that cannot fit the series are dropped.
// It fails only if none fits.
func (a *Auto) Fit(s Series) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("auto: fit: %w", err)
	}
	var errs []error
	var ok []*calibrated
	for _, c := range a.cands {
		if err := c.Fit(s); err != nil {
			errs = append(errs, err)
			continue
		}
		ok = append(ok, c)
	}
	if len(ok) == 0 {
		return fmt.Errorf("auto: fit: %w", errors.Join(errs...))
	}
	a.cands = ok
	a.fitted = true
	return nil
}

// Observe appends the next sample to every candidate.
func (a *Auto) Observe(v float64) error {
	if !a.fitted {
		return fmt.Errorf("auto: observe: %w", ErrNotFitted)
	}
	if err := checkValue(v); err != nil {
		return fmt.Errorf("auto: observe: %w", err)
	}
	for _, c := range a.cands {
		c.observe(v)
	}
	return nil
}

// Choice returns, for each step 1..h, the name of the candidate used.
func (a *Auto) Choice(h int) []string {
	out := make([]string, h)
	for i := range out {
		out[i] = a.cands[a.best(i)].Name()
	}
	return out
}

func (a *Auto) best(i int) int {
	c0 := a.cands[0]
	b := c0.bucketOf[min(i, len(c0.bucketOf)-1)]
	best, bestE := 0, math.Inf(1)
	for j, c := range a.cands {
		if e := c.bucketScore(b); e < bestE {
			best, bestE = j, e
		}
	}
	return best
}

// Forecast assembles, step by step, the forecast of the best candidate for
// that step's horizon bucket.
func (a *Auto) Forecast(h int, level float64) (Forecast, error) {
	if !a.fitted {
		return Forecast{}, fmt.Errorf("auto: forecast: %w", ErrNotFitted)
	}
	var out Forecast
	fs := make([]*Forecast, len(a.cands))
	for i := 0; i < h; i++ {
		j := a.best(i)
		if fs[j] == nil {
			f, err := a.cands[j].Forecast(h, level)
			if err != nil {
				return Forecast{}, fmt.Errorf("auto: %w", err)
			}
			fs[j] = &f
			if out.Point == nil {
				out = Forecast{Model: a.Name(), Start: f.Start, Step: f.Step, Level: level,
					Point: make([]float64, h), Lower: make([]float64, h), Upper: make([]float64, h)}
			}
		}
		out.Point[i], out.Lower[i], out.Upper[i] = fs[j].Point[i], fs[j].Lower[i], fs[j].Upper[i]
	}
	if h <= 0 {
		return a.cands[0].Forecast(h, level) // returns the argument error
	}
	return out, nil
}

// Quantiles assembles the q-quantiles of the best candidate per step.
func (a *Auto) Quantiles(h int, q float64) ([]float64, error) {
	if !a.fitted {
		return nil, fmt.Errorf("auto: quantiles: %w", ErrNotFitted)
	}
	if h <= 0 {
		return a.cands[0].Quantiles(h, q)
	}
	out := make([]float64, h)
	qs := make([][]float64, len(a.cands))
	for i := range out {
		j := a.best(i)
		if qs[j] == nil {
			v, err := a.cands[j].Quantiles(h, q)
			if err != nil {
				return nil, fmt.Errorf("auto: %w", err)
			}
			qs[j] = v
		}
		out[i] = qs[j][i]
	}
	return out, nil
}

var _ Model = (*Auto)(nil)

// Combined returns the ensemble forecast of the candidates: for each step,
// the weighted mean of their points, interval bounds and q-quantiles, with
// weights proportional to the inverse square of their recent error in that
// step's horizon bucket (equal weights before any error is known).
// Averaging calibrated quantiles (Vincentization) keeps them calibrated
// when the candidates are, and is more stable than choosing one.
func (a *Auto) Combined(h int, level, q float64) (Forecast, []float64, error) {
	if !a.fitted {
		return Forecast{}, nil, fmt.Errorf("auto: combined: %w", ErrNotFitted)
	}
	fs := make([]Forecast, len(a.cands))
	qs := make([][]float64, len(a.cands))
	for j, c := range a.cands {
		var err error
		if fs[j], err = c.Forecast(h, level); err != nil {
			return Forecast{}, nil, fmt.Errorf("auto: combined: %w", err)
		}
		if qs[j], err = c.Quantiles(h, q); err != nil {
			return Forecast{}, nil, fmt.Errorf("auto: combined: %w", err)
		}
	}
	out := Forecast{Model: "ensemble", Start: fs[0].Start, Step: fs[0].Step, Level: level,
		Point: make([]float64, h), Lower: make([]float64, h), Upper: make([]float64, h)}
	quant := make([]float64, h)
	c0 := a.cands[0]
	w := make([]float64, len(a.cands))
	lastB := -1
	for i := 0; i < h; i++ {
		b := c0.bucketOf[min(i, len(c0.bucketOf)-1)]
		if b != lastB {
			lastB = b
			var sum float64
			for j, c := range a.cands {
				e := c.bucketScore(b)
				switch {
				case math.IsInf(e, 1):
					w[j] = 0
				case e <= 0:
					w[j] = 1e300
				default:
					w[j] = 1 / (e * e)
				}
				sum += w[j]
			}
			for j := range w {
				if sum == 0 || math.IsInf(sum, 0) {
					w[j] = 1 / float64(len(w))
				} else {
					w[j] /= sum
				}
			}
		}
		for j := range a.cands {
			out.Point[i] += w[j] * fs[j].Point[i]
			out.Lower[i] += w[j] * fs[j].Lower[i]
			out.Upper[i] += w[j] * fs[j].Upper[i]
			quant[i] += w[j] * qs[j][i]
		}
	}
	return out, quant, nil
}
