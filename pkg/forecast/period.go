package forecast

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Common seasonal periods.
const (
	Day  = 24 * time.Hour
	Week = 7 * Day
)

// PeriodOptions tune DetectPeriods.
type PeriodOptions struct {
	// Candidates are the periods tested, shortest first. Default: Day, Week.
	Candidates []time.Duration
	// MinCycles is the number of full cycles of history a period needs. Default 2.
	MinCycles float64
	// MinACF is the autocorrelation the lag must reach. Default 0.3.
	MinACF float64
	// MinGain is how much a longer period's autocorrelation must exceed that
	// of the shorter detected periods it contains. Default 0.05.
	MinGain float64
}

func (o PeriodOptions) withDefaults() PeriodOptions {
	if len(o.Candidates) == 0 {
		o.Candidates = []time.Duration{Day, Week}
	}
	if o.MinCycles <= 0 {
		o.MinCycles = 2
	}
	if o.MinACF <= 0 {
		o.MinACF = 0.3
	}
	if o.MinGain <= 0 {
		o.MinGain = 0.05
	}
	return o
}

// DetectPeriods returns, in steps, the candidate periods that the series
// actually shows. A candidate is kept when the history holds MinCycles full
// cycles, the autocorrelation at its lag reaches MinACF, the lag is a local
// maximum of the autocorrelation, and, for a period that is a multiple of an
// already detected shorter one (a week of a day), its autocorrelation beats
// the shorter one's by MinGain: a weekly rhythm must add something to the
// daily one. A series without rhythm gets no period.
func DetectPeriods(s Series, opt PeriodOptions) ([]int, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("detect periods: %w", err)
	}
	opt = opt.withDefaults()
	x := filled(s.Values)
	if x == nil {
		return nil, fmt.Errorf("detect periods: %w: no observed value", ErrTooShort)
	}
	var found []int
	var foundACF []float64
	for _, c := range opt.Candidates {
		lag := int(c / s.Step)
		if lag < 2 || float64(len(x)) < opt.MinCycles*float64(lag) {
			continue
		}
		r := pairACF(s.Values, lag)
		if math.IsNaN(r) || r < opt.MinACF {
			continue
		}
		// Local maximum: the lag must beat its neighbours a few percent away.
		d := max(1, lag/20)
		if pairACF(s.Values, lag-d) > r || (lag+d < len(x) && pairACF(s.Values, lag+d) > r) {
			continue
		}
		ok := true
		for i, f := range found {
			if lag%f == 0 && r < foundACF[i]+opt.MinGain {
				ok = false
			}
		}
		if ok {
			found = append(found, lag)
			foundACF = append(foundACF, r)
		}
	}
	return found, nil
}

// ACF returns the sample autocorrelation of x at lag (the standard estimator
// sum over pairs of (x_t - mean)(x_t-lag - mean) / sum of (x_t - mean)^2),
// skipping pairs with a gap. It returns NaN if fewer than 3 pairs remain or
// x is constant.
func ACF(x []float64, lag int) float64 {
	return acf(x, lag, false)
}

// pairACF is the autocorrelation normalised per pair, which the standard
// estimator shrinks by (n-lag)/n: it compares lags of different lengths
// fairly (a week against a day in four weeks of history).
func pairACF(x []float64, lag int) float64 {
	return acf(x, lag, true)
}

func acf(x []float64, lag int, perPair bool) float64 {
	if lag <= 0 || lag >= len(x) {
		return math.NaN()
	}
	var sum float64
	var n int
	for _, v := range x {
		if !math.IsNaN(v) {
			sum += v
			n++
		}
	}
	if n < 3 {
		return math.NaN()
	}
	mean := sum / float64(n)
	var den float64
	for _, v := range x {
		if !math.IsNaN(v) {
			den += (v - mean) * (v - mean)
		}
	}
	if den == 0 {
		return math.NaN()
	}
	var num float64
	var pairs int
	for i := lag; i < len(x); i++ {
		a, b := x[i], x[i-lag]
		if math.IsNaN(a) || math.IsNaN(b) {
			continue
		}
		num += (a - mean) * (b - mean)
		pairs++
	}
	if pairs < 3 {
		return math.NaN()
	}
	// Without gaps this is the standard estimator num/den; with gaps, the
	// sums are rescaled by the pairs and samples actually present so that
	// gaps do not bias r towards zero.
	r := (num / float64(pairs)) / (den / float64(n))
	if !perPair {
		r *= float64(len(x)-lag) / float64(len(x))
	}
	return r
}

// DominantPeriod returns the period, in steps, of the strongest peak of the
// periodogram of the (gap-filled, mean-removed) series, between minLag and
// len/2 steps, as a DSP-style sizer does. It returns 0 if the series is
// constant or too short.
func DominantPeriod(s Series, minLag int) (int, error) {
	if err := s.Validate(); err != nil {
		return 0, fmt.Errorf("dominant period: %w", err)
	}
	x := filled(s.Values)
	if len(x) < 8 {
		return 0, nil
	}
	var mean float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for i := range x {
		x[i] -= mean
	}
	fft := fourier.NewFFT(len(x))
	coef := fft.Coefficients(nil, x)
	best, bestP := 0, 0.0
	n := len(x)
	for k := 2; k < len(coef); k++ { // k>=2: at least two cycles
		lag := float64(n) / float64(k)
		if lag < float64(minLag) {
			break
		}
		p := real(coef[k])*real(coef[k]) + imag(coef[k])*imag(coef[k])
		if p > bestP {
			best, bestP = k, p
		}
	}
	if best == 0 || bestP < 1e-12 {
		return 0, nil
	}
	return int(math.Round(float64(n) / float64(best))), nil
}
