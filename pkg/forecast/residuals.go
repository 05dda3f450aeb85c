package forecast

import (
	"math"
	"sort"
)

// residuals keeps the last cap signed residuals of one horizon bucket, both
// in arrival order (to drop the oldest) and sorted (for O(1) quantiles),
// with the adaptive miscoverage level of adaptive conformal inference and a
// recent mean absolute error for model choice.
type residuals struct {
	ring   []float64
	sorted []float64
	pos, n int
	alpha  float64 // ACI miscoverage level, starts at the nominal one
	target float64
	avg    float64 // recent mean error, for model choice
	scored int
}

func newResiduals(capacity int, alpha float64) *residuals {
	return &residuals{ring: make([]float64, capacity), sorted: make([]float64, 0, capacity), alpha: alpha, target: alpha}
}

// push adds a residual. miss says whether it fell outside the interval
// issued at the ACI level; rate is the ACI step (<= 0: off).
func (r *residuals) push(v float64, miss bool, rate float64) {
	if r.n == len(r.ring) {
		old := r.ring[r.pos]
		i := sort.SearchFloat64s(r.sorted, old)
		r.sorted = append(r.sorted[:i], r.sorted[i+1:]...)
	} else {
		r.n++
	}
	r.ring[r.pos] = v
	r.pos = (r.pos + 1) % len(r.ring)
	i := sort.SearchFloat64s(r.sorted, v)
	r.sorted = append(r.sorted, 0)
	copy(r.sorted[i+1:], r.sorted[i:])
	r.sorted[i] = v
	if rate > 0 && r.n > 20 {
		e := 0.0
		if miss {
			e = 1
		}
		r.alpha += rate * (r.target - e)
		r.alpha = math.Min(math.Max(r.alpha, 1e-4), math.Min(0.9, 3*r.target))
	}
}

// score folds an error into the recent mean error: an exponentially
// weighted mean with a weight of 0.003 (a plain mean for the first 333).
func (r *residuals) score(e float64) {
	r.scored++
	w := math.Max(1/float64(r.scored), 0.003)
	r.avg += w * (e - r.avg)
}

func (r *residuals) aciAlpha() float64 { return r.alpha }

// quantile returns the conformal q-quantile of the residuals: the
// ceil((n+1)q)-th smallest (the largest if that exceeds n), or 0 if empty.
func (r *residuals) quantile(q float64) float64 {
	n := len(r.sorted)
	if n == 0 {
		return 0
	}
	k := int(math.Ceil(float64(n+1)*q)) - 1
	k = min(max(k, 0), n-1)
	return r.sorted[k]
}

// interval returns the offsets of a central interval of miscoverage alpha.
func (r *residuals) interval(alpha float64) (lo, hi float64) {
	// Lower tail: the floor((n+1)·alpha/2)-th smallest, mirrored.
	n := len(r.sorted)
	if n == 0 {
		return 0, 0
	}
	k := int(math.Floor(float64(n+1)*alpha/2)) - 1
	k = min(max(k, 0), n-1)
	return r.sorted[k], r.quantile(1 - alpha/2)
}
