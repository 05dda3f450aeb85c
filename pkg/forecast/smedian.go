package forecast

import (
	"math"
	"sort"
)

// seasonalMedian forecasts each step by the median of the values at the
// same phase of the period (and the phases next to it) over the last K
// cycles: a robust seasonal profile that a single spike cannot move, plus
// the median of its errors over the last hour as a level correction that
// fades over the horizon. Without a period, it is the median of the last K
// hours. The period (each detected one is a candidate), K and the fading of
// the level are chosen by in-sample multi-horizon absolute error.
type seasonalMedian struct {
	p, k   int
	ring   []float64 // last k*p values, ring[t % (k*p)]
	t      int
	recent []float64 // last errors against the profile, for the level
	rpos   int
	decay  float64 // per step, of the level correction
	buf    []float64
	fitted bool
}

// NewSeasonalMedian returns the seasonal-median model.
func NewSeasonalMedian(opt Options) Model { return newCalibrated(&seasonalMedian{}, opt) }

func (m *seasonalMedian) name() string { return "seasonal-median" }

func (m *seasonalMedian) reset(p, k int) {
	m.p, m.k = p, k
	m.ring = make([]float64, k*p)
	for i := range m.ring {
		m.ring[i] = math.NaN()
	}
	m.t = 0
	m.recent = make([]float64, 12)
	for i := range m.recent {
		m.recent[i] = math.NaN()
	}
	m.rpos = 0
}

// profile returns the median of the stored values at the phase of time
// index t and its two neighbours.
func (m *seasonalMedian) profile(t int) float64 {
	b := m.buf[:0]
	n := len(m.ring)
	if m.p == 1 {
		for _, v := range m.ring {
			if !math.IsNaN(v) {
				b = append(b, v)
			}
		}
	} else {
		for c := 1; c <= m.k; c++ {
			for d := -1; d <= 1; d++ {
				i := t - c*m.p + d
				if i < 0 || i >= m.t || m.t-i > n {
					continue
				}
				if v := m.ring[i%n]; !math.IsNaN(v) {
					b = append(b, v)
				}
			}
		}
	}
	m.buf = b
	if len(b) == 0 {
		return math.NaN()
	}
	sort.Float64s(b)
	if len(b)%2 == 1 {
		return b[len(b)/2]
	}
	return (b[len(b)/2-1] + b[len(b)/2]) / 2
}

func (m *seasonalMedian) level() float64 {
	var b [12]float64
	n := 0
	for _, v := range m.recent {
		if !math.IsNaN(v) {
			b[n] = v
			n++
		}
	}
	if n == 0 {
		return 0
	}
	s := b[:n]
	sort.Float64s(s)
	return s[n/2]
}

// online reports that the model needs no periodic refit: its profile and
// level follow the data by construction.
func (m *seasonalMedian) online() bool { return m.fitted }

func (m *seasonalMedian) observe(v float64) {
	if !math.IsNaN(v) && m.p > 1 {
		if f := m.profile(m.t); !math.IsNaN(f) {
			m.recent[m.rpos] = v - f
			m.rpos = (m.rpos + 1) % len(m.recent)
		}
	}
	m.ring[m.t%len(m.ring)] = v
	m.t++
}

func (m *seasonalMedian) at(h int) float64 {
	f := m.profile(m.t + h - 1)
	if math.IsNaN(f) {
		return math.NaN()
	}
	return f + math.Pow(m.decay, float64(h))*m.level()
}

func (m *seasonalMedian) predict(dst []float64) {
	if m.p == 1 {
		// Without a period the profile is the same at every step.
		f := m.profile(m.t)
		if math.IsNaN(f) {
			f = 0
		}
		for i := range dst {
			dst[i] = f
		}
		return
	}
	lv := m.level()
	c := 1.0
	last := 0.0
	for i := range dst {
		c *= m.decay
		f := m.profile(m.t + i)
		if math.IsNaN(f) {
			f = last
		}
		last = f
		dst[i] = f + c*lv
	}
}

func (m *seasonalMedian) fit(x []float64, periods []int, hs []int) error {
	x = tail(x, fitMaxSamples)
	if countObserved(x) < minFitSamples {
		return ErrTooShort
	}
	H := hs[len(hs)-1]
	type cand struct {
		p, k  int
		decay float64
	}
	var cands []cand
	decays := []float64{math.Exp2(-1 / float64(max(1, H/24))), math.Exp2(-1 / float64(max(1, H/4)))}
	for i, p := range periods {
		ks := []int{3, 7}
		if i > 0 {
			ks = []int{2, 3} // longer periods (a week): fewer cycles
		}
		for _, k := range ks {
			if len(x) >= (k+1)*p {
				for _, d := range decays {
					cands = append(cands, cand{p, k, d})
				}
			}
		}
	}
	if len(cands) == 0 {
		for _, k := range []int{max(1, H/24), max(1, H/4), max(1, H)} {
			cands = append(cands, cand{1, k, 1})
		}
	}
	best, bestLoss := cands[0], math.Inf(1)
	if len(cands) > 1 {
		for _, c := range cands {
			m.reset(c.p, c.k)
			m.decay = c.decay
			l := newMultiHorizonLoss(hs)
			l.abs = true
			warm := min(len(x)/2, len(m.ring))
			for t, v := range x {
				if t >= warm {
					l.score(t, v)
				}
				m.observe(v)
				// Score a subsample of origins: the profile costs O(k log k).
				if t+1 >= warm-H && t%3 == 0 {
					l.record(t, m.at)
				} else {
					l.record(t, func(int) float64 { return math.NaN() })
				}
			}
			if v := l.value(); v < bestLoss {
				best, bestLoss = c, v
			}
		}
	}
	m.reset(best.p, best.k)
	m.decay = best.decay
	for _, v := range x {
		m.observe(v)
	}
	m.fitted = true
	return nil
}
