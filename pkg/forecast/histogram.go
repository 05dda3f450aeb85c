package forecast

import (
	"fmt"
	"math"
	"time"
)

// DecayingHistogram estimates quantiles of recent values with exponentially
// decaying weights, as the Kubernetes Vertical Pod Autoscaler does: a
// sample's weight halves every half-life. Buckets grow geometrically from
// First by Ratio, so relative precision is constant over many orders of
// magnitude.
type DecayingHistogram struct {
	first, ratio float64
	halfLife     float64 // in steps
	weights      []float64
	total        float64
	t            float64 // steps since the reference time of the weights
}

// NewDecayingHistogram returns a histogram whose first bucket ends at first
// (> 0), with buckets growing by ratio (> 1) up to at least maxValue, and
// whose weights halve every halfLife steps.
func NewDecayingHistogram(first, ratio, maxValue, halfLife float64) (*DecayingHistogram, error) {
	if !(first > 0) || !(ratio > 1) || !(maxValue > 0) || !(halfLife > 0) ||
		math.IsInf(first, 0) || math.IsInf(ratio, 0) || math.IsInf(maxValue, 0) || math.IsInf(halfLife, 0) {
		return nil, fmt.Errorf("decaying histogram: %w: first=%v ratio=%v max=%v halfLife=%v", ErrBadArgument, first, ratio, maxValue, halfLife)
	}
	n := 1
	if maxValue > first {
		n = int(math.Ceil(math.Log(maxValue/first)/math.Log(ratio))) + 1
	}
	if n > 10000 {
		return nil, fmt.Errorf("decaying histogram: %w: %d buckets", ErrBadArgument, n)
	}
	return &DecayingHistogram{first: first, ratio: ratio, halfLife: halfLife, weights: make([]float64, n)}, nil
}

func (d *DecayingHistogram) bucket(v float64) int {
	if v <= d.first {
		return 0
	}
	b := int(math.Ceil(math.Log(v/d.first) / math.Log(d.ratio)))
	return min(max(b, 0), len(d.weights)-1)
}

// upper returns the upper bound of bucket b.
func (d *DecayingHistogram) upper(b int) float64 { return d.first * math.Pow(d.ratio, float64(b)) }

// Add records v (gaps, NaN and negative values are ignored) and advances
// time by one step.
func (d *DecayingHistogram) Add(v float64) {
	d.t++
	if math.IsNaN(v) || v < 0 || math.IsInf(v, 0) {
		return
	}
	w := math.Exp2(d.t / d.halfLife)
	if w > 1e100 {
		// Move the reference time forward: rescale every weight.
		for i := range d.weights {
			d.weights[i] /= w
		}
		d.total /= w
		d.t = 0
		w = 1
	}
	d.weights[d.bucket(v)] += w
	d.total += w
}

// Quantile returns the upper bound of the bucket holding the q-quantile of
// the decayed distribution, or 0 if the histogram is empty.
func (d *DecayingHistogram) Quantile(q float64) float64 {
	if d.total == 0 {
		return 0
	}
	target := q * d.total
	var acc float64
	for b, w := range d.weights {
		acc += w
		if acc >= target && w > 0 {
			return d.upper(b)
		}
	}
	return d.upper(len(d.weights) - 1)
}

// histogramFor builds a histogram sized for the values in x: 5% buckets
// from a small fraction of the largest value up to 10 times it.
func histogramFor(x []float64, halfLife float64) (*DecayingHistogram, error) {
	mx := 0.0
	for _, v := range x {
		if !math.IsNaN(v) && v > mx {
			mx = v
		}
	}
	if mx == 0 {
		mx = 1
	}
	return NewDecayingHistogram(mx*1e-4, 1.05, 10*mx, halfLife)
}

// decayingHist is the decaying-histogram model: a flat forecast at the
// decayed median, intervals from conformal residuals; its half-life is
// chosen among a few candidates by in-sample one-hour-ahead error.
type decayingHist struct {
	h *DecayingHistogram
}

// NewDecayingHistogramModel returns the decaying-histogram quantile model.
func NewDecayingHistogramModel(opt Options) Model { return newCalibrated(&decayingHist{}, opt) }

func (m *decayingHist) name() string { return "decaying-histogram" }

func (m *decayingHist) fit(x []float64, _ []int, hs []int) error {
	x = tail(x, fitMaxSamples)
	if countObserved(x) < minFitSamples {
		return ErrTooShort
	}
	// Half-lives in steps: from 1/24 to 4 times the longest fit horizon.
	H := float64(hs[len(hs)-1])
	best, bestLoss := 0.0, math.Inf(1)
	for _, hl := range []float64{H / 24, H / 4, H, 4 * H} {
		hist, err := histogramFor(x, math.Max(hl, 1))
		if err != nil {
			return err
		}
		var loss float64
		var n int
		for t, v := range x {
			if t > len(x)/4 && !math.IsNaN(v) {
				e := v - hist.Quantile(0.5)
				loss += math.Abs(e)
				n++
			}
			hist.Add(v)
		}
		if n > 0 && loss/float64(n) < bestLoss {
			best, bestLoss = hl, loss/float64(n)
		}
	}
	if best == 0 {
		best = H
	}
	hist, err := histogramFor(x, math.Max(best, 1))
	if err != nil {
		return err
	}
	for _, v := range x {
		hist.Add(v)
	}
	m.h = hist
	return nil
}

func (m *decayingHist) observe(v float64) { m.h.Add(v) }

func (m *decayingHist) predict(dst []float64) {
	q := m.h.Quantile(0.5)
	for i := range dst {
		dst[i] = q
	}
}

// VPARecommender is the baseline sizing of the Kubernetes Vertical Pod
// Autoscaler's recommender: the Percentile of a decaying histogram with a
// 24-hour half-life, plus a safety Margin.
type VPARecommender struct {
	hist       *DecayingHistogram
	Percentile float64
	Margin     float64
}

// NewVPARecommender returns the VPA-style baseline (p90, +15%, 24 h
// half-life) for samples every step, sized for values up to maxValue.
func NewVPARecommender(step time.Duration, maxValue float64) (*VPARecommender, error) {
	if step <= 0 {
		return nil, fmt.Errorf("vpa: %w", ErrInvalidStep)
	}
	if !(maxValue > 0) {
		maxValue = 1
	}
	h, err := NewDecayingHistogram(maxValue*1e-4, 1.05, 10*maxValue, float64(Day/step))
	if err != nil {
		return nil, fmt.Errorf("vpa: %w", err)
	}
	return &VPARecommender{hist: h, Percentile: 0.9, Margin: 0.15}, nil
}

// Add records the next sample (NaN for a gap).
func (v *VPARecommender) Add(x float64) { v.hist.Add(x) }

// Recommendation returns the current target.
func (v *VPARecommender) Recommendation() float64 {
	return v.hist.Quantile(v.Percentile) * (1 + v.Margin)
}
