package forecast

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
)

// SumPaths returns the step-by-step sum of aligned paths (forecasts of the
// members of a node or partition over the same steps). Paths of different
// lengths are an error.
func SumPaths(paths [][]float64) ([]float64, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("sum paths: %w: no path", ErrBadArgument)
	}
	out := make([]float64, len(paths[0]))
	for i, p := range paths {
		if len(p) != len(out) {
			return nil, fmt.Errorf("sum paths: %w: path %d has %d steps, want %d", ErrBadArgument, i, len(p), len(out))
		}
		for j, v := range p {
			out[j] += v
		}
	}
	return out, nil
}

// Peak returns the largest non-NaN value of x (NaN if none).
func Peak(x []float64) float64 {
	m := math.NaN()
	for _, v := range x {
		if !math.IsNaN(v) && (math.IsNaN(m) || v > m) {
			m = v
		}
	}
	return m
}

// PeakCalibrator turns a point forecast of a joint peak (the peak over a
// horizon of the summed member forecasts, which keeps their alignment in
// time) into a prediction at a confidence: it adds the conformal quantile of
// recent errors actual peak - predicted point peak, with adaptive conformal
// inference keeping the violation rate at 1-confidence online.
type PeakCalibrator struct {
	res        *residuals
	confidence float64
	rate       float64
}

// NewPeakCalibrator returns a calibrator at confidence in (0, 1) keeping
// the last window errors.
func NewPeakCalibrator(confidence float64, window int) (*PeakCalibrator, error) {
	if err := checkLevel(confidence); err != nil {
		return nil, fmt.Errorf("peak calibrator: %w", err)
	}
	if window < 2 {
		return nil, fmt.Errorf("peak calibrator: %w: window %d", ErrBadArgument, window)
	}
	return &PeakCalibrator{res: newResiduals(window, 1-confidence), confidence: confidence, rate: 0.005}, nil
}

// Record adds the outcome of one earlier prediction: pointPeak is what
// Predict was given, actual the observed peak of the sum over the horizon.
func (p *PeakCalibrator) Record(pointPeak, actual float64) {
	if math.IsNaN(pointPeak) || math.IsNaN(actual) || math.IsInf(pointPeak, 0) || math.IsInf(actual, 0) {
		return
	}
	r := actual - pointPeak
	miss := r > p.res.quantile(1-p.res.aciAlpha())
	p.res.push(r, miss, p.rate)
}

// Calibrated reports whether enough outcomes were recorded (10) for Predict
// to be meaningful.
func (p *PeakCalibrator) Calibrated() bool { return p.res.n >= 10 }

// Predict returns the joint peak at the calibrator's confidence.
func (p *PeakCalibrator) Predict(pointPeak float64) float64 {
	return math.Max(0, pointPeak+p.res.quantile(1-p.res.aciAlpha()))
}

// The published peak predictors of Bashir et al., "Take it to the limit:
// peak prediction-driven resource overcommitment in datacenters", EuroSys
// 2021, computed from the recent usage histories of the members.

// SumOfQuantiles is the "RC-like" predictor: the sum of each member's
// q-quantile of its own history. It ignores alignment in time. Gaps (NaN)
// are skipped; a member with no observed value counts as 0.
func SumOfQuantiles(histories [][]float64, q float64) (float64, error) {
	if err := checkLevel(q); err != nil {
		return 0, fmt.Errorf("sum of quantiles: %w", err)
	}
	var sum float64
	buf := make([]float64, 0, 64)
	for _, h := range histories {
		buf = appendObserved(buf[:0], h)
		if len(buf) == 0 {
			continue
		}
		sort.Float64s(buf)
		sum += stat.Quantile(q, stat.Empirical, buf, nil)
	}
	return sum, nil
}

// NSigma is the N-sigma predictor: the sum of the members' means plus n
// standard deviations of their sum under the independence assumption of the
// central limit theorem, sqrt(sum of variances).
func NSigma(histories [][]float64, n float64) (float64, error) {
	if math.IsNaN(n) || math.IsInf(n, 0) || n < 0 {
		return 0, fmt.Errorf("n-sigma: %w: n=%v", ErrBadArgument, n)
	}
	var mean, variance float64
	buf := make([]float64, 0, 64)
	for _, h := range histories {
		buf = appendObserved(buf[:0], h)
		if len(buf) == 0 {
			continue
		}
		m, sd := stat.MeanStdDev(buf, nil)
		if len(buf) < 2 {
			sd = 0
		}
		mean += m
		variance += sd * sd
	}
	return mean + n*math.Sqrt(variance), nil
}

// appendObserved appends the values of h that are not gaps (NaN) to dst.
func appendObserved(dst, h []float64) []float64 {
	for _, v := range h {
		if !math.IsNaN(v) {
			dst = append(dst, v)
		}
	}
	return dst
}

// LimitFraction is the "fraction of the sum of limits" predictor (Borg's
// static overcommit): frac times the sum of the members' limits.
func LimitFraction(limits []float64, frac float64) (float64, error) {
	if !(frac > 0) || math.IsInf(frac, 0) {
		return 0, fmt.Errorf("limit fraction: %w: frac=%v", ErrBadArgument, frac)
	}
	var s float64
	for i, l := range limits {
		if math.IsNaN(l) || math.IsInf(l, 0) || l < 0 {
			return 0, fmt.Errorf("limit fraction: %w: limit %d is %v", ErrBadArgument, i, l)
		}
		s += l
	}
	return frac * s, nil
}
