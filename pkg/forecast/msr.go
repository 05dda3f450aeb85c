package forecast

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// msr is multi-seasonal regression with two time scales. The seasonal shape
// is a regression on Fourier terms of every detected period (8 harmonics of
// a day, 6 of a week when a weekly period adds to a daily one), fitted by
// exponentially weighted least squares with a long memory and updated with
// every sample. The level follows the regression residuals with a short
// memory (an exponentially weighted mean that persists over the horizon),
// and an AR(1) model of what is left corrects short horizons. Both
// half-lives are chosen by in-sample multi-horizon error.
type msr struct {
	periods []int
	harm    []int
	cos     [][]float64 // per period, cos(2*pi*i/p)
	sin     [][]float64
	p       int

	lambda float64
	a      []float64 // p*p, exponentially weighted X'X (upper triangle)
	b      []float64 // X'y
	beta   []float64
	stale  int

	// Per level candidate (several while fitting, one after).
	lv []levelState

	eLast  float64
	t      int
	fitted bool

	x    []float64 // feature scratch
	sym  *mat.SymDense
	chol mat.Cholesky
	rhs  *mat.VecDense
	sol  *mat.VecDense
}

// levelState is the short-memory level of the residuals and the AR(1) of
// the deviations from it.
type levelState struct {
	w                 float64 // weight of a new residual in the level
	level             float64
	dLast, dNum, dDen float64
	phi               float64
	n                 int
}

func (l *levelState) observe(e, lambda float64) {
	l.n++
	w := math.Max(l.w, 1/float64(l.n))
	l.level += w * (e - l.level)
	d := e - l.level
	l.dNum = lambda*l.dNum + d*l.dLast
	l.dDen = lambda*l.dDen + l.dLast*l.dLast
	l.dLast = d
	if l.dDen > 0 {
		l.phi = math.Min(math.Max(l.dNum/l.dDen, 0), 0.99)
	}
}

func (l *levelState) gap() { l.dLast *= l.phi }

func (l *levelState) at(h int) float64 {
	return l.level + math.Pow(l.phi, float64(h))*l.dLast
}

// NewMSR returns the multi-seasonal regression model (see the package
// documentation), the model Foresight expects to win on resource series.
func NewMSR(opt Options) Model { return newCalibrated(&msr{}, opt) }

func (m *msr) name() string { return "msr" }

// online reports that exponentially weighted least squares refits itself
// with every sample, so that periodic refits are not needed.
func (m *msr) online() bool { return m.fitted }

// resolveEvery is how many samples pass between two least-squares solves.
const resolveEvery = 12

func (m *msr) setup(periods []int) {
	m.periods = nil
	m.harm = nil
	m.cos, m.sin = nil, nil
	m.p = 1
	for i, per := range periods {
		k := 8
		if i > 0 {
			k = 6
		}
		k = min(k, per/2)
		if k < 1 {
			continue
		}
		m.periods = append(m.periods, per)
		m.harm = append(m.harm, k)
		c := make([]float64, per)
		s := make([]float64, per)
		for j := range c {
			c[j] = math.Cos(2 * math.Pi * float64(j) / float64(per))
			s[j] = math.Sin(2 * math.Pi * float64(j) / float64(per))
		}
		m.cos = append(m.cos, c)
		m.sin = append(m.sin, s)
		m.p += 2 * k
	}
	m.x = make([]float64, m.p)
	m.sym = mat.NewSymDense(m.p, nil)
	m.rhs = mat.NewVecDense(m.p, nil)
	m.sol = mat.NewVecDense(m.p, nil)
}

func (m *msr) reset(levelWeights []float64) {
	m.a = make([]float64, m.p*m.p)
	m.b = make([]float64, m.p)
	m.beta = make([]float64, m.p)
	m.stale = 0
	m.eLast = 0
	m.t = 0
	m.lv = m.lv[:0]
	for _, w := range levelWeights {
		m.lv = append(m.lv, levelState{w: w})
	}
}

func (m *msr) features(t int) []float64 {
	x := m.x
	x[0] = 1
	j := 1
	for i, per := range m.periods {
		ph := t % per
		for k := 1; k <= m.harm[i]; k++ {
			idx := (k * ph) % per
			x[j] = m.cos[i][idx]
			x[j+1] = m.sin[i][idx]
			j += 2
		}
	}
	return x
}

func (m *msr) dot(t int) float64 {
	x := m.features(t)
	var s float64
	for i, v := range x {
		s += v * m.beta[i]
	}
	return s
}

func (m *msr) solve() {
	p := m.p
	var tr float64
	for i := 0; i < p; i++ {
		tr += m.a[i*p+i]
	}
	ridge := 1e-6*tr/float64(p) + 1e-12
	for i := 0; i < p; i++ {
		for j := i; j < p; j++ {
			v := m.a[i*p+j]
			if i == j {
				v += ridge
			}
			m.sym.SetSym(i, j, v)
		}
		m.rhs.SetVec(i, m.b[i])
	}
	m.stale = 0
	if ok := m.chol.Factorize(m.sym); !ok {
		return
	}
	if err := m.chol.SolveVecTo(m.sol, m.rhs); err != nil {
		return
	}
	for i := range m.beta {
		m.beta[i] = m.sol.AtVec(i)
	}
}

func (m *msr) observe(v float64) {
	if !math.IsNaN(v) {
		e := v - m.dot(m.t)
		m.eLast = e
		for i := range m.lv {
			m.lv[i].observe(e, m.lambda)
		}
		x := m.x // features(m.t), left by dot
		p, l := m.p, m.lambda
		for i := 0; i < p; i++ {
			m.b[i] = l*m.b[i] + x[i]*v
			row := m.a[i*p : i*p+p]
			xi := x[i]
			for j := i; j < p; j++ {
				row[j] = l*row[j] + xi*x[j]
			}
		}
	} else {
		for i := range m.lv {
			m.lv[i].gap()
		}
	}
	m.t++
	m.stale++
	if m.stale >= resolveEvery {
		m.solve()
	}
}

func (m *msr) predict(dst []float64) {
	if m.stale > 0 {
		m.solve()
	}
	lv := &m.lv[0]
	c := 1.0
	for i := range dst {
		c *= lv.phi
		dst[i] = m.dot(m.t+i) + lv.level + c*lv.dLast
	}
}

func (m *msr) fit(x []float64, periods []int, hs []int) error {
	x = tail(x, fitMaxSamples)
	if countObserved(x) < minFitSamples {
		return ErrTooShort
	}
	m.setup(periods)
	longest := 1
	if len(m.periods) > 0 {
		longest = m.periods[len(m.periods)-1]
	}
	H := hs[len(hs)-1]
	warm := min(len(x)/3, max(longest, m.p*4))
	// Regression half-lives: 7 and 21 times the longest period (at least
	// the horizon). Level half-lives: from 1/24 to 2 horizons.
	base := float64(max(longest, H))
	levelHL := []float64{float64(H) / 24, float64(H) / 4, float64(H), 2 * float64(H)}
	weights := make([]float64, len(levelHL))
	for i, hl := range levelHL {
		weights[i] = 1 - math.Exp2(-1/math.Max(hl, 1))
	}
	bestR, bestW, bestLoss := 0.0, 0.0, math.Inf(1)
	for _, hl := range []float64{7 * base, 21 * base} {
		m.lambda = math.Exp2(-1 / hl)
		m.reset(weights)
		losses := make([]*multiHorizonLoss, len(weights))
		for i := range losses {
			losses[i] = newMultiHorizonLoss(hs)
		}
		for t, v := range x {
			for k := range losses {
				if t >= warm {
					losses[k].score(t, v)
				}
			}
			m.observe(v)
			if t+1 >= warm-H {
				for k := range losses {
					lv := &m.lv[k]
					losses[k].record(t, func(h int) float64 { return m.dot(m.t+h-1) + lv.at(h) })
				}
			}
		}
		for k, l := range losses {
			if v := l.value(); v < bestLoss {
				bestR, bestW, bestLoss = hl, weights[k], v
			}
		}
	}
	if bestR == 0 {
		bestR, bestW = 7*base, weights[2]
	}
	m.lambda = math.Exp2(-1 / bestR)
	m.reset([]float64{bestW})
	for _, v := range x {
		m.observe(v)
	}
	m.solve()
	m.fitted = true
	return nil
}
