package forecast

import (
	"fmt"
	"math"
	"time"
)

// Forecast is a point forecast with an interval for each step after the
// end of the history: Point[i] is the forecast for Start + i*Step.
type Forecast struct {
	Model string
	Start time.Time
	Step  time.Duration
	// Level is the nominal coverage of [Lower, Upper], e.g. 0.95.
	Level float64
	Point []float64
	Lower []float64
	Upper []float64
}

// Model is a forecasting model for one series. Fit estimates its parameters
// and state from history (detecting periods unless given); Observe appends
// the next sample (NaN for a gap) so that the state, the calibration of the
// intervals and any model choice follow the data as it arrives; Forecast
// predicts the next h steps with a central interval of the given level;
// Quantiles predicts the q-quantile of each of the next h steps.
//
// A Model is not safe for concurrent use.
type Model interface {
	Name() string
	Fit(s Series) error
	Observe(v float64) error
	Forecast(h int, level float64) (Forecast, error)
	Quantiles(h int, q float64) ([]float64, error)
}

// Options configure the models built by this package. The zero value is
// usable: every field has a default suited to 5-minute samples.
type Options struct {
	// Horizon is the longest forecast, in steps, that intervals are
	// calibrated for. Default: one day of steps.
	Horizon int
	// Level is the interval level that adaptive conformal inference keeps at
	// its nominal coverage online. Default 0.95.
	Level float64
	// Stride is the number of steps between the forecasts whose errors
	// calibrate the intervals. Default: one hour of steps.
	Stride int
	// CalibrationSpan is the tail of the fitting history held out to collect
	// the first out-of-sample errors. Default 7 days, at most a third of the
	// history.
	CalibrationSpan time.Duration
	// Window is the number of recent residuals kept per horizon bucket.
	// Default 1500.
	Window int
	// ACIRate is the step size of adaptive conformal inference (Gibbs and
	// Candès 2021). Default 0.02; negative disables it.
	ACIRate float64
	// Periods, in steps, overrides period detection when non-nil (an empty
	// non-nil slice means "no seasonality").
	Periods []int
	// Period tunes period detection.
	Period PeriodOptions
	// RefitEvery re-estimates parameters on the recent history every so
	// many observed steps. Default: one week of steps; negative disables.
	RefitEvery int
	// MaxHistory is the history kept for refits, in steps. Default 4 weeks.
	MaxHistory int
	// SelectQuantile, when in (0, 1), makes Auto choose models by their
	// recent pinball loss at this quantile instead of their mean absolute
	// error: the choice then targets the quantile that sizes capacity.
	SelectQuantile float64
}

func (o Options) withDefaults(step time.Duration) Options {
	perDur := func(d time.Duration) int { return max(1, int(d/step)) }
	if o.Horizon <= 0 {
		o.Horizon = perDur(Day)
	}
	if o.Level <= 0 || o.Level >= 1 {
		o.Level = 0.95
	}
	if o.Stride <= 0 {
		o.Stride = min(perDur(time.Hour), o.Horizon)
	}
	if o.CalibrationSpan <= 0 {
		o.CalibrationSpan = 7 * Day
	}
	if o.Window <= 0 {
		o.Window = 1500
	}
	if o.ACIRate == 0 {
		o.ACIRate = 0.02
	}
	if o.RefitEvery == 0 {
		o.RefitEvery = perDur(Week)
	}
	if o.MaxHistory <= 0 {
		o.MaxHistory = perDur(4 * Week)
	}
	return o
}

// estimator is a point forecaster; calibrated turns it into a Model.
type estimator interface {
	name() string
	// fit estimates parameters and state from x (NaN = gap); hs are the
	// horizons, in steps, whose in-sample errors parameters should minimise.
	fit(x []float64, periods []int, hs []int) error
	observe(v float64)
	predict(dst []float64)
}

// minFitSamples is the least number of observed samples any model fits on.
const minFitSamples = 12

// calibrated wraps an estimator with split-conformal intervals calibrated
// on the estimator's own out-of-sample errors at rolling origins: residuals
// are normalised by a per-horizon scale (locally weighted conformal
// prediction) and pooled in horizon buckets, and adaptive conformal
// inference keeps each bucket at nominal coverage online.
type calibrated struct {
	est     estimator
	opt     Options
	step    time.Duration
	next    time.Time // time of the next sample
	periods []int
	fitHs   []int
	fitted  bool

	t        int // samples seen since Fit's first sample
	sinceFit int
	hist     []float64

	bucketOf []int // horizon index (h-1) -> bucket
	sampled  []bool
	buckets  []*residuals // residuals divided by the scale of their horizon
	scale    []float64    // per horizon index: recent mean absolute residual
	scaleN   []int
	alphaH   []float64 // per sampled horizon index: ACI miscoverage level
	slot     []int     // per horizon index: its slot among the sampled ones, or -1
	nSampled int
	nearest  []int     // per horizon index: the nearest sampled one in its bucket
	rel      []float64 // per horizon index: scale relative to its bucket
	relAt    int       // t at which rel was computed, -1 if stale

	pending []*pendingForecast
	free    []*pendingForecast
	path    []float64
	pathAt  int // t at which path was predicted, -1 if stale
}

type pendingForecast struct {
	t0     int
	path   []float64
	lo, hi []float64 // per sampled horizon slot: interval offsets issued at the ACI level
	q      []float64 // per bucket: offset of the SelectQuantile quantile
	sc     []float64 // per sampled horizon slot: the relative scale at issue time
}

func newCalibrated(est estimator, opt Options) *calibrated {
	return &calibrated{est: est, opt: opt, pathAt: -1, relAt: -1}
}

func (c *calibrated) Name() string { return c.est.name() }

// Periods returns the periods, in steps, the model uses.
func (c *calibrated) Periods() []int { return c.periods }

func (c *calibrated) Fit(s Series) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("%s: fit: %w", c.Name(), err)
	}
	if n := s.Observed(); n < minFitSamples {
		return fmt.Errorf("%s: fit: %w: %d observed samples, need %d", c.Name(), ErrTooShort, n, minFitSamples)
	}
	c.step = s.Step
	c.opt = c.opt.withDefaults(s.Step)
	c.periods = c.opt.Periods
	if c.periods == nil {
		p, err := DetectPeriods(s, c.opt.Period)
		if err != nil {
			return fmt.Errorf("%s: fit: %w", c.Name(), err)
		}
		c.periods = p
	}
	H := c.opt.Horizon
	c.fitHs = uniqueSorted([]int{1, min(H, max(1, int(time.Hour/s.Step))), H})
	c.initBuckets()
	n := len(s.Values)
	calLen := min(int(c.opt.CalibrationSpan/s.Step), n/3)
	trainEnd := n - calLen
	// The fitting part must hold at least two cycles of the longest period it
	// uses, or the calibration part shrinks.
	if len(c.periods) > 0 {
		need := 2 * c.periods[len(c.periods)-1]
		if trainEnd < need && n >= need {
			trainEnd = need
		}
	}
	if err := c.est.fit(s.Values[:trainEnd], c.periods, c.fitHs); err != nil {
		return fmt.Errorf("%s: fit: %w", c.Name(), err)
	}
	c.fitted = true
	c.t = trainEnd
	c.sinceFit = 0
	c.hist = append(c.hist[:0], s.Values[max(0, trainEnd-c.opt.MaxHistory):trainEnd]...)
	c.pending = c.pending[:0]
	c.pathAt = -1
	c.next = s.Time(trainEnd)
	for _, v := range s.Values[trainEnd:] {
		c.observe(v)
	}
	return nil
}

func uniqueSorted(x []int) []int {
	out := x[:0]
	for i, v := range x {
		if i == 0 || v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}

// bucketEdges are the first horizons (in steps) of the calibration buckets.
var bucketEdges = []int{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192}

func (c *calibrated) initBuckets() {
	H := c.opt.Horizon
	c.bucketOf = make([]int, H)
	b := 0
	for h := 1; h <= H; h++ {
		for b+1 < len(bucketEdges) && h >= bucketEdges[b+1] {
			b++
		}
		c.bucketOf[h-1] = b
	}
	c.scale = make([]float64, H)
	c.scaleN = make([]int, H)
	c.relAt = -1
	nb := c.bucketOf[H-1] + 1
	c.buckets = make([]*residuals, nb)
	for i := range c.buckets {
		c.buckets[i] = newResiduals(c.opt.Window, 1-c.opt.Level)
	}
	// Sample at most 3 horizons per bucket from each origin (its first,
	// middle and last), so that a bucket's window spans many origins (three
	// weeks of hourly origins by default: long horizons must see weekends)
	// and the longest horizon is calibrated on itself.
	c.sampled = make([]bool, H)
	lo := 0
	for h := 1; h <= H+1; h++ {
		if h == H+1 || (h > 1 && c.bucketOf[h-1] != c.bucketOf[h-2]) {
			last := h - 2
			c.sampled[lo] = true
			c.sampled[(lo+last)/2] = true
			c.sampled[last] = true
			lo = h - 1
		}
	}
	c.alphaH = make([]float64, H)
	c.nearest = make([]int, H)
	c.slot = make([]int, H)
	c.nSampled = 0
	for i, ok := range c.sampled {
		c.slot[i] = -1
		if ok {
			c.slot[i] = c.nSampled
			c.nSampled++
		}
	}
	for i := range c.alphaH {
		c.alphaH[i] = 1 - c.opt.Level
		best := -1
		for j := i; j >= 0 && c.bucketOf[j] == c.bucketOf[i]; j-- {
			if c.sampled[j] {
				best = j
				break
			}
		}
		for j := i; j < H && c.bucketOf[j] == c.bucketOf[i]; j++ {
			if c.sampled[j] {
				if best == -1 || j-i < i-best {
					best = j
				}
				break
			}
		}
		c.nearest[i] = best
	}
}

func (c *calibrated) Observe(v float64) error {
	if !c.fitted {
		return fmt.Errorf("%s: observe: %w", c.Name(), ErrNotFitted)
	}
	if err := checkValue(v); err != nil {
		return fmt.Errorf("%s: observe: %w", c.Name(), err)
	}
	c.observe(v)
	return nil
}

func (c *calibrated) observe(v float64) {
	H := c.opt.Horizon
	if (c.t % c.opt.Stride) == 0 {
		c.issue()
	}
	// Resolve pending forecasts against the new sample.
	keep := c.pending[:0]
	for _, p := range c.pending {
		h := c.t - p.t0 + 1
		if h >= 1 && h <= H && !math.IsNaN(v) {
			r := v - p.path[h-1]
			// Every horizon's scale learns from every origin; the sampled
			// horizons feed their bucket's normalised residuals.
			c.scaleN[h-1]++
			w := math.Max(1/float64(c.scaleN[h-1]), scaleWeight)
			c.scale[h-1] += w * (math.Abs(r) - c.scale[h-1])
			if c.sampled[h-1] {
				b := c.bucketOf[h-1]
				k := c.slot[h-1]
				sc := p.sc[k]
				miss := r < sc*p.lo[k] || r > sc*p.hi[k]
				bk := c.buckets[b]
				bk.push(r/sc, false, 0)
				if g := c.opt.ACIRate; g > 0 && bk.n > minBucket {
					// Adaptive conformal inference, per sampled horizon.
					e, target := 0.0, 1-c.opt.Level
					if miss {
						e = 1
					}
					a := c.alphaH[h-1] + g*(target-e)
					c.alphaH[h-1] = math.Min(math.Max(a, -0.1), math.Min(0.9, 3*target))
				}
				if q := c.opt.SelectQuantile; q > 0 && q < 1 {
					bk.score(pinball(q, v, math.Max(0, p.path[h-1]+sc*p.q[b])))
				} else {
					bk.score(math.Abs(r))
				}
			}
		}
		if h >= H {
			c.free = append(c.free, p)
		} else {
			keep = append(keep, p)
		}
	}
	c.pending = keep
	c.est.observe(v)
	c.t++
	c.next = c.next.Add(c.step)
	c.pathAt = -1
	c.relAt = -1
	c.hist = append(c.hist, v)
	if len(c.hist) >= 2*c.opt.MaxHistory {
		c.hist = append(c.hist[:0], c.hist[len(c.hist)-c.opt.MaxHistory:]...)
	}
	c.sinceFit++
	if c.opt.RefitEvery > 0 && c.sinceFit >= c.opt.RefitEvery {
		c.sinceFit = 0
		h := c.hist[max(0, len(c.hist)-c.opt.MaxHistory):]
		if k, ok := c.est.(interface{ online() bool }); ok && k.online() {
			// The estimator refits itself with every sample.
		} else if countObserved(h) >= minFitSamples {
			// A failed refit keeps the previous parameters and state.
			_ = c.est.fit(h, c.periods, c.fitHs)
			c.pathAt = -1
		}
	}
}

func countObserved(x []float64) int {
	n := 0
	for _, v := range x {
		if !math.IsNaN(v) {
			n++
		}
	}
	return n
}

func (c *calibrated) issue() {
	var p *pendingForecast
	if n := len(c.free); n > 0 {
		p = c.free[n-1]
		c.free = c.free[:n-1]
	} else {
		p = &pendingForecast{
			path: make([]float64, c.opt.Horizon),
			lo:   make([]float64, c.nSampled),
			hi:   make([]float64, c.nSampled),
			q:    make([]float64, len(c.buckets)),
			sc:   make([]float64, c.nSampled),
		}
	}
	p.t0 = c.t
	copy(p.path, c.pointPath())
	for i, k := range c.slot {
		if k >= 0 {
			p.sc[k] = c.scaleAt(i)
		}
	}
	for i, k := range c.slot {
		if k >= 0 {
			p.lo[k], p.hi[k] = aciInterval(c.bucketRes(c.bucketOf[i]), c.alphaH[i])
		}
	}
	for b := range c.buckets {
		if q := c.opt.SelectQuantile; q > 0 && q < 1 {
			p.q[b] = c.bucketRes(b).quantile(q)
		}
	}
	c.pending = append(c.pending, p)
}

// pointPath returns the point forecast for the next Horizon steps, cached
// until the next observation.
func (c *calibrated) pointPath() []float64 {
	if c.pathAt == c.t {
		return c.path
	}
	if len(c.path) != c.opt.Horizon {
		c.path = make([]float64, c.opt.Horizon)
	}
	c.est.predict(c.path)
	for i, v := range c.path {
		if v < 0 || math.IsNaN(v) {
			c.path[i] = math.Max(0, v) // NaN -> 0 too
			if math.IsNaN(v) {
				c.path[i] = 0
			}
		}
	}
	c.pathAt = c.t
	return c.path
}

func checkHorizon(h int) error {
	if h <= 0 {
		return fmt.Errorf("%w: horizon %d must be positive", ErrBadArgument, h)
	}
	return nil
}

func checkLevel(level float64) error {
	if !(level > 0 && level < 1) {
		return fmt.Errorf("%w: level %v must be in (0, 1)", ErrBadArgument, level)
	}
	return nil
}

// Forecast predicts the next h steps with a central interval at level.
// Steps beyond the calibrated horizon use the last bucket's residuals.
func (c *calibrated) Forecast(h int, level float64) (Forecast, error) {
	if !c.fitted {
		return Forecast{}, fmt.Errorf("%s: forecast: %w", c.Name(), ErrNotFitted)
	}
	if err := checkHorizon(h); err != nil {
		return Forecast{}, fmt.Errorf("%s: forecast: %w", c.Name(), err)
	}
	if err := checkLevel(level); err != nil {
		return Forecast{}, fmt.Errorf("%s: forecast: %w", c.Name(), err)
	}
	f := Forecast{Model: c.Name(), Start: c.next, Step: c.step, Level: level,
		Point: make([]float64, h), Lower: make([]float64, h), Upper: make([]float64, h)}
	c.fill(f.Point, f.Lower, f.Upper, level)
	return f, nil
}

func (c *calibrated) fill(point, lower, upper []float64, level float64) {
	path := c.pointPath()
	H := c.opt.Horizon
	aci := level == c.opt.Level
	los := make([]float64, len(c.buckets))
	his := make([]float64, len(c.buckets))
	if !aci {
		for b := range c.buckets {
			los[b], his[b] = c.bucketRes(b).interval(1 - level)
		}
	}
	lastNear := -1
	var lo, hi float64
	for i := range point {
		j := min(i, H-1)
		p := path[j]
		b := c.bucketOf[j]
		point[i] = p
		if lower == nil {
			continue
		}
		if aci {
			if n := c.nearest[j]; n != lastNear {
				lo, hi = aciInterval(c.bucketRes(b), c.alphaH[n])
				lastNear = n
			}
		} else {
			lo, hi = los[b], his[b]
		}
		sc := c.scaleAt(j)
		lower[i] = math.Max(0, p+sc*lo)
		upper[i] = math.Max(0, p+sc*hi)
	}
}

// Quantiles predicts the q-quantile of each of the next h steps: the point
// forecast plus the q-quantile of recent out-of-sample residuals.
func (c *calibrated) Quantiles(h int, q float64) ([]float64, error) {
	if !c.fitted {
		return nil, fmt.Errorf("%s: quantiles: %w", c.Name(), ErrNotFitted)
	}
	if err := checkHorizon(h); err != nil {
		return nil, fmt.Errorf("%s: quantiles: %w", c.Name(), err)
	}
	if err := checkLevel(q); err != nil {
		return nil, fmt.Errorf("%s: quantiles: %w", c.Name(), err)
	}
	path := c.pointPath()
	H := c.opt.Horizon
	qs := make([]float64, len(c.buckets))
	for b := range c.buckets {
		qs[b] = c.bucketRes(b).quantile(q)
	}
	out := make([]float64, h)
	for i := range out {
		b := c.bucketOf[min(i, H-1)]
		out[i] = math.Max(0, path[min(i, H-1)]+c.scaleAt(i)*qs[b])
	}
	return out, nil
}

// scaleWeight is the weight of a new absolute residual in the scale of its
// horizon: about fifty origins (two days of hourly origins) of memory.
const scaleWeight = 0.02

// scaleAt returns the relative scale of horizon index i inside its bucket:
// its recent mean absolute residual over the bucket's mean, clamped to
// [0.5, 2] (1 when unknown). Residuals are divided by it before pooling, so
// that a bucket's quantiles fit each of its horizons (errors grow with the
// horizon), while the clamp keeps an intermittent series from blowing up.
func (c *calibrated) scaleAt(i int) float64 {
	i = min(i, len(c.scale)-1)
	if c.relAt != c.t {
		c.updateRel()
	}
	return c.rel[i]
}

func (c *calibrated) updateRel() {
	H := len(c.scale)
	if len(c.rel) != H {
		c.rel = make([]float64, H)
	}
	for lo := 0; lo < H; {
		hi := lo
		var sum float64
		var n int
		for hi < H && c.bucketOf[hi] == c.bucketOf[lo] {
			if c.scaleN[hi] > 0 {
				sum += c.scale[hi]
				n++
			}
			hi++
		}
		mean := 0.0
		if n > 0 {
			mean = sum / float64(n)
		}
		for i := lo; i < hi; i++ {
			r := 1.0
			if mean > 0 && c.scaleN[i] > 0 {
				r = math.Min(math.Max(c.scale[i]/mean, 0.5), 2)
			}
			c.rel[i] = r
		}
		lo = hi
	}
	c.relAt = c.t
}

// aciInterval returns the interval offsets at miscoverage alpha. Adaptive
// conformal inference may drive alpha below what the window can resolve
// (even below zero) when errors outgrow everything in the window, as after
// a change of regime; the interval then widens beyond the window's extremes
// around the median residual, by e^(20·deficit) (at most about e^2, as alpha
// stops at -0.1), instead of silently losing the coverage guarantee.
func aciInterval(r *residuals, alpha float64) (lo, hi float64) {
	floor := 2 / float64(len(r.sorted)+1)
	if alpha >= floor {
		return r.interval(alpha)
	}
	lo, hi = r.interval(floor)
	m := r.quantile(0.5)
	k := math.Exp(20 * (floor - alpha))
	return m + k*(lo-m), m + k*(hi-m)
}

// minBucket is the number of residuals a bucket needs before its own
// quantiles are used; until then the nearest shorter-horizon bucket with
// enough residuals stands in (and, failing that, the nearest longer one).
const minBucket = 20

func (c *calibrated) bucketRes(b int) *residuals {
	if c.buckets[b].n >= minBucket {
		return c.buckets[b]
	}
	for d := b - 1; d >= 0; d-- {
		if c.buckets[d].n >= minBucket {
			return c.buckets[d]
		}
	}
	for d := b + 1; d < len(c.buckets); d++ {
		if c.buckets[d].n >= minBucket {
			return c.buckets[d]
		}
	}
	return c.buckets[b]
}

// bucketScore returns the recent mean error (absolute, or pinball at
// SelectQuantile) of bucket b, or +Inf.
func (c *calibrated) bucketScore(b int) float64 {
	if b >= len(c.buckets) || c.buckets[b].scored == 0 {
		return math.Inf(1)
	}
	return c.buckets[b].avg
}

// pinball is the pinball (quantile) loss of forecast f of the q-quantile
// when y is observed.
func pinball(q, y, f float64) float64 {
	if y >= f {
		return q * (y - f)
	}
	return (1 - q) * (f - y)
}

// Pinball is the pinball (quantile) loss of forecast f of the q-quantile
// when y is observed: q(y-f) if y >= f, else (1-q)(f-y).
func Pinball(q, y, f float64) float64 { return pinball(q, y, f) }

var _ Model = (*calibrated)(nil)
