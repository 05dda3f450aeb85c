package forecast

import (
	"math"

	"gonum.org/v1/gonum/optimize"
)

// fitMaxSamples caps the history parameters are estimated on.
const fitMaxSamples = 4 * 2016 // four weeks of 5-minute samples

func tail(x []float64, n int) []float64 {
	if len(x) > n {
		return x[len(x)-n:]
	}
	return x
}

func logistic(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
func logit(p float64) float64    { return math.Log(p / (1 - p)) }

// minimize runs Nelder-Mead from x0 on f with a bounded budget and returns
// the best point found (x0 if the optimiser fails).
func minimize(f func([]float64) float64, x0 []float64, evals int) []float64 {
	res, err := optimize.Minimize(optimize.Problem{Func: f}, x0,
		&optimize.Settings{FuncEvaluations: evals, Concurrent: 1,
			Converger: &optimize.FunctionConverge{Relative: 1e-4, Iterations: 30}},
		&optimize.NelderMead{})
	if err != nil || res == nil || math.IsNaN(res.F) || math.IsInf(res.F, 0) {
		return x0
	}
	return res.X
}

// multiHorizonLoss accumulates squared h-step-ahead in-sample errors. It
// keeps, for each horizon, a ring of forecasts made h steps ago.
type multiHorizonLoss struct {
	hs    []int
	rings [][]float64
	sum   float64
	n     int
	abs   bool // absolute instead of squared errors
}

func newMultiHorizonLoss(hs []int) *multiHorizonLoss {
	l := &multiHorizonLoss{hs: hs, rings: make([][]float64, len(hs))}
	for i, h := range hs {
		l.rings[i] = make([]float64, h)
		for j := range l.rings[i] {
			l.rings[i][j] = math.NaN()
		}
	}
	return l
}

// score compares the forecasts made for time t with y (before the model sees
// y); predict(h) must then give the h-step forecast from time t, and is
// called after the model has seen y.
func (l *multiHorizonLoss) score(t int, y float64) {
	for i, h := range l.hs {
		f := l.rings[i][t%h]
		if !math.IsNaN(f) && !math.IsNaN(y) {
			e := (y - f) * (y - f)
			if l.abs {
				e = math.Abs(y - f)
			}
			l.sum += e / float64(h) // weight long horizons less: fewer independent errors
			l.n++
		}
	}
}

func (l *multiHorizonLoss) record(t int, predict func(h int) float64) {
	for i, h := range l.hs {
		l.rings[i][(t+h)%h] = predict(h)
	}
}

func (l *multiHorizonLoss) value() float64 {
	if l.n == 0 {
		return math.Inf(1)
	}
	return l.sum / float64(l.n)
}

// ---------------------------------------------------------------------------

// seasonalNaive repeats the last cycle of the longest detected period, or
// the last value if there is none.
type seasonalNaive struct {
	ring []float64
	pos  int // index of the oldest value: the one a period before the next sample
	last float64
}

// NewSeasonalNaive returns the seasonal-naive baseline: the forecast for a
// step is the value one period earlier (the longest detected period), or the
// last value when the series has no period.
func NewSeasonalNaive(opt Options) Model { return newCalibrated(&seasonalNaive{}, opt) }

func (m *seasonalNaive) name() string { return "seasonal-naive" }

func (m *seasonalNaive) fit(x []float64, periods []int, _ []int) error {
	p := 1
	if len(periods) > 0 {
		p = periods[len(periods)-1]
	}
	f := filled(x)
	if f == nil {
		return ErrTooShort
	}
	m.ring = make([]float64, p)
	m.pos = 0
	src := f[max(0, len(f)-p):]
	// Left-pad with the first value if the history is shorter than a period.
	for i := range m.ring {
		j := i - (p - len(src))
		if j < 0 {
			m.ring[i] = src[0]
		} else {
			m.ring[i] = src[j]
		}
	}
	m.last = f[len(f)-1]
	return nil
}

func (m *seasonalNaive) observe(v float64) {
	if math.IsNaN(v) {
		v = m.ring[m.pos] // a gap repeats the season
	}
	m.ring[m.pos] = v
	m.pos = (m.pos + 1) % len(m.ring)
	m.last = v
}

func (m *seasonalNaive) predict(dst []float64) {
	p := len(m.ring)
	for i := range dst {
		dst[i] = m.ring[(m.pos+i%p)%p]
	}
}

// ---------------------------------------------------------------------------

// holt is additive damped-trend exponential smoothing, ETS(A,Ad,N).
type holt struct {
	alpha, beta, phi float64
	l, b             float64
	init             bool
	fitted           bool
	params           []float64 // unconstrained parameters of the last fit
	hs               []int     // horizons with cached damping sums
	sums             []float64
}

// NewHolt returns exponential smoothing with an additive damped trend,
// whose smoothing and damping parameters minimise in-sample squared errors
// at the forecast horizons that matter (1 step, 1 hour, the horizon).
func NewHolt(opt Options) Model { return newCalibrated(&holt{}, opt) }

func (m *holt) name() string { return "holt-damped" }

func (m *holt) reset(x []float64) {
	m.init = false
	for _, v := range x {
		if !math.IsNaN(v) {
			m.l, m.b, m.init = v, 0, true
			return
		}
	}
}

func (m *holt) observe(v float64) {
	if !m.init {
		if !math.IsNaN(v) {
			m.l, m.b, m.init = v, 0, true
		}
		return
	}
	f := m.l + m.phi*m.b
	if math.IsNaN(v) {
		m.l, m.b = f, m.phi*m.b
		return
	}
	e := v - f
	m.l = f + m.alpha*e
	m.b = m.phi*m.b + m.alpha*m.beta*e
}

func (m *holt) at(h int) float64 {
	// l + (phi + phi^2 + ... + phi^h) b
	for i, c := range m.hs {
		if c == h {
			return m.l + m.sums[i]*m.b
		}
	}
	if m.phi == 1 {
		return m.l + float64(h)*m.b
	}
	return m.l + m.phi*(1-math.Pow(m.phi, float64(h)))/(1-m.phi)*m.b
}

func (m *holt) predict(dst []float64) {
	s := 0.0
	p := 1.0
	for i := range dst {
		p *= m.phi
		s += p
		dst[i] = m.l + s*m.b
	}
}

func (m *holt) fit(x []float64, _ []int, hs []int) error {
	x = tail(x, fitMaxSamples)
	if countObserved(x) < minFitSamples {
		return ErrTooShort
	}
	set := func(p []float64) {
		m.alpha = 0.001 + 0.998*logistic(p[0])
		m.beta = 0.001 + 0.998*logistic(p[1])
		m.phi = 0.8 + 0.19*logistic(p[2])
		m.hs, m.sums = hs, m.sums[:0]
		for _, h := range hs {
			m.sums = append(m.sums, m.phi*(1-math.Pow(m.phi, float64(h)))/(1-m.phi))
		}
	}
	loss := func(p []float64) float64 {
		set(p)
		m.reset(x)
		l := newMultiHorizonLoss(hs)
		for t, v := range x {
			l.score(t, v)
			m.observe(v)
			l.record(t, m.at)
		}
		return l.value()
	}
	x0, evals := []float64{logit(0.3), logit(0.05), logit(0.5)}, 120
	if m.fitted {
		// A refit starts from the previous parameters with a smaller budget.
		x0, evals = m.params, 40
	}
	best := minimize(loss, x0, evals)
	set(best)
	m.params, m.fitted = append([]float64(nil), best...), true
	m.reset(x)
	for _, v := range x {
		m.observe(v)
	}
	return nil
}

// ---------------------------------------------------------------------------

// holtWinters is additive exponential smoothing with up to two seasonal
// components (Taylor's double-seasonal Holt-Winters, error-correction form):
// level, a short season (a day) and a long one (a week), no trend.
type holtWinters struct {
	alpha  float64
	gammas []float64
	ms     []int
	l      float64
	s      [][]float64 // per season, indexed by t mod m
	t      int
	init   bool
	params []float64 // unconstrained parameters of the last fit
}

// NewHoltWinters returns additive Holt-Winters with every detected period
// (daily and weekly when both are present), smoothing parameters fitted by
// minimising in-sample multi-horizon squared errors. With no period it is
// simple exponential smoothing.
func NewHoltWinters(opt Options) Model { return newCalibrated(&holtWinters{}, opt) }

func (m *holtWinters) name() string { return "holt-winters" }

func (m *holtWinters) seasonal(t int) float64 {
	var s float64
	for k, mm := range m.ms {
		s += m.s[k][t%mm]
	}
	return s
}

func (m *holtWinters) at(h int) float64 { return m.l + m.seasonal(m.t+h-1) }

func (m *holtWinters) observe(v float64) {
	if !m.init {
		return
	}
	f := m.l + m.seasonal(m.t)
	if !math.IsNaN(v) {
		e := v - f
		m.l += m.alpha * e
		for k, mm := range m.ms {
			m.s[k][m.t%mm] += m.gammas[k] * e
		}
	}
	m.t++
}

func (m *holtWinters) predict(dst []float64) {
	for i := range dst {
		dst[i] = m.l + m.seasonal(m.t+i)
	}
}

// reset initialises level and seasons from the first cycles of x: the level
// is the mean of the first longest cycle; each season is the mean deviation
// by phase after removing the shorter seasons.
func (m *holtWinters) reset(f []float64) {
	longest := 1
	if len(m.ms) > 0 {
		longest = m.ms[len(m.ms)-1]
	}
	n := min(len(f), max(longest, 2*m.msOr1()))
	var mean float64
	for _, v := range f[:min(len(f), longest)] {
		mean += v
	}
	mean /= float64(min(len(f), longest))
	m.l = mean
	m.s = make([][]float64, len(m.ms))
	for k, mm := range m.ms {
		sum := make([]float64, mm)
		cnt := make([]float64, mm)
		for t := 0; t < n; t++ {
			r := f[t] - mean
			for j := 0; j < k; j++ {
				r -= m.s[j][t%m.ms[j]]
			}
			sum[t%mm] += r
			cnt[t%mm]++
		}
		var avg float64
		for i := range sum {
			if cnt[i] > 0 {
				sum[i] /= cnt[i]
			}
			avg += sum[i]
		}
		avg /= float64(mm)
		for i := range sum {
			sum[i] -= avg
		}
		m.s[k] = sum
	}
	m.t = 0
	m.init = true
}

func (m *holtWinters) msOr1() int {
	if len(m.ms) == 0 {
		return 1
	}
	return m.ms[0]
}

func (m *holtWinters) fit(x []float64, periods []int, hs []int) error {
	x = tail(x, fitMaxSamples)
	if countObserved(x) < minFitSamples {
		return ErrTooShort
	}
	f := filled(x)
	m.ms = nil
	for _, p := range periods {
		if len(x) >= 2*p {
			m.ms = append(m.ms, p)
		}
	}
	m.gammas = make([]float64, len(m.ms))
	set := func(p []float64) {
		m.alpha = 0.001 + 0.998*logistic(p[0])
		for k := range m.gammas {
			m.gammas[k] = 0.999 * (1 - m.alpha) * logistic(p[1+k])
		}
	}
	run := func(l *multiHorizonLoss) {
		m.reset(f)
		for t, v := range x {
			if l != nil {
				l.score(t, v)
			}
			m.observe(v)
			if l != nil {
				l.record(t, m.at)
			}
		}
	}
	loss := func(p []float64) float64 {
		set(p)
		l := newMultiHorizonLoss(hs)
		run(l)
		return l.value()
	}
	x0 := []float64{logit(0.2)}
	for range m.ms {
		x0 = append(x0, logit(0.1))
	}
	evals := 60 * len(x0)
	if len(m.params) == len(x0) {
		// A refit starts from the previous parameters with a smaller budget.
		x0, evals = m.params, 20*len(x0)
	}
	best := minimize(loss, x0, evals)
	set(best)
	m.params = append([]float64(nil), best...)
	run(nil)
	return nil
}
