package forecast

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestHoltRecursion checks the damped-trend recursion against values worked
// out by hand for alpha = beta = 0.5, phi = 0.9 on 10, 12, 13:
// after 12: level 11, trend 0.5; after 13: forecast 11.45, error 1.55,
// level 12.225, trend 0.8375; then 1 step: 12.225 + 0.9*0.8375 = 12.97875,
// 2 steps: + 0.81*0.8375 = 13.657125.
func TestHoltRecursion(t *testing.T) {
	m := &holt{alpha: 0.5, beta: 0.5, phi: 0.9}
	m.reset([]float64{10})
	m.observe(12)
	m.observe(13)
	got := make([]float64, 2)
	m.predict(got)
	for i, want := range []float64{12.97875, 13.657125} {
		if !near(got[i], want, 1e-12) {
			t.Errorf("step %d: got %v, want %v", i+1, got[i], want)
		}
	}
	if !near(m.at(2), 13.657125, 1e-12) {
		t.Errorf("at(2) = %v", m.at(2))
	}
	// A gap advances the state on its own forecast.
	m.observe(nan)
	if !near(m.l, 12.97875, 1e-12) || !near(m.b, 0.75375, 1e-12) {
		t.Errorf("after gap: l=%v b=%v", m.l, m.b)
	}
}

// TestHoltWintersRecursion: season of 2 on 1,3,1,3 starts at level 2 and
// seasonal -1, +1 (by hand). Observing 2 where 1 was forecast (error 1) with
// alpha 0.5, gamma 0.25 moves the level to 2.5 and that phase's season to
// -0.75: the next forecasts are 2.5+1 = 3.5 and 2.5-0.75 = 1.75.
func TestHoltWintersRecursion(t *testing.T) {
	m := &holtWinters{alpha: 0.5, gammas: []float64{0.25}, ms: []int{2}}
	x := []float64{1, 3, 1, 3}
	m.reset(x)
	for _, v := range x {
		m.observe(v)
	}
	m.observe(2)
	got := make([]float64, 3)
	m.predict(got)
	for i, want := range []float64{3.5, 1.75, 3.5} {
		if !near(got[i], want, 1e-12) {
			t.Errorf("step %d: got %v, want %v", i+1, got[i], want)
		}
	}
}

func TestSeasonalNaiveRepeatsLastCycle(t *testing.T) {
	m := &seasonalNaive{}
	if err := m.fit([]float64{9, 1, 2, 3, nan}, []int{3}, []int{1}); err != nil {
		t.Fatal(err)
	}
	// Filled history 9 1 2 3 3: the last cycle is 2 3 3.
	got := make([]float64, 4)
	m.predict(got)
	for i, want := range []float64{2, 3, 3, 2} {
		if got[i] != want {
			t.Errorf("step %d: got %v, want %v", i+1, got[i], want)
		}
	}
}

// TestMSRRecoversSine: exponentially weighted least squares on Fourier terms
// must reproduce a noiseless daily sine exactly (closed form).
func TestMSRRecoversSine(t *testing.T) {
	s := synth(10*288, 50, 20, 0, 0, 1)
	m := NewMSR(Options{Periods: []int{288}})
	if err := m.Fit(s); err != nil {
		t.Fatal(err)
	}
	f, err := m.Forecast(288, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	n := len(s.Values)
	for i, got := range f.Point {
		want := 50 + 20*math.Sin(2*math.Pi*float64(n+i)/288)
		if !near(got, want, 1e-3) {
			t.Fatalf("step %d: got %v, want %v", i+1, got, want)
		}
	}
}

func TestDecayingHistogram(t *testing.T) {
	// Buckets (0,0.5], (0.5,1], (1,2], (2,4], (4,8], (8,16]; half-life one
	// step: 1 added at t=1 weighs 2, 10 at t=2 weighs 4 (by hand).
	h, err := NewDecayingHistogram(0.5, 2, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	h.Add(1)
	h.Add(10)
	h.Add(nan) // a gap only advances time
	for _, tc := range []struct{ q, want float64 }{{0.3, 1}, {1.0 / 3, 1}, {0.34, 16}, {0.9, 16}} {
		if got := h.Quantile(tc.q); got != tc.want {
			t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if _, err := NewDecayingHistogram(0, 2, 1, 1); !errors.Is(err, ErrBadArgument) {
		t.Errorf("first=0: err = %v", err)
	}
	// Decay: after many steps of 1s, an old 10 no longer matters.
	for range 50 {
		h.Add(1)
	}
	if got := h.Quantile(0.99); got != 1 {
		t.Errorf("after decay Quantile(0.99) = %v, want 1", got)
	}
}

func TestVPARecommender(t *testing.T) {
	v, err := NewVPARecommender(5*time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		v.Add(float64(i % 100))
	}
	// p90 of a uniform 0..99 is about 90; its bucket bound is within 5%
	// above it, and the margin adds 15%.
	got := v.Recommendation()
	if got < 89*1.15 || got > 90*1.05*1.15+1 {
		t.Errorf("Recommendation = %v, want about %v", got, 90*1.15)
	}
}

var allModels = []struct {
	name string
	new  func(Options) Model
}{
	{"seasonal-naive", NewSeasonalNaive},
	{"holt-damped", NewHolt},
	{"holt-winters", NewHoltWinters},
	{"decaying-histogram", NewDecayingHistogramModel},
	{"msr", NewMSR},
	{"seasonal-median", NewSeasonalMedian},
	{"auto", func(o Options) Model { return NewAuto(o) }},
}

func TestModelsBadInput(t *testing.T) {
	good := synth(3*288, 10, 2, 0, 0.5, 7)
	tests := []struct {
		name string
		s    Series
		want error
	}{
		{"negative", Series{Start: t0, Step: time.Minute, Values: []float64{1, 2, -3, 4}}, ErrNegative},
		{"infinite", Series{Start: t0, Step: time.Minute, Values: []float64{1, math.Inf(1)}}, ErrInfinite},
		{"all gaps", Series{Start: t0, Step: time.Minute, Values: []float64{nan, nan, nan}}, ErrTooShort},
		{"too short", Series{Start: t0, Step: time.Minute, Values: []float64{1, 2, 3}}, ErrTooShort},
		{"zero step", Series{Start: t0, Values: []float64{1, 2, 3}}, ErrInvalidStep},
	}
	for _, m := range allModels {
		for _, tc := range tests {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				if err := m.new(Options{}).Fit(tc.s); !errors.Is(err, tc.want) {
					t.Errorf("Fit err = %v, want %v", err, tc.want)
				}
			})
		}
		t.Run(m.name+"/not fitted", func(t *testing.T) {
			mm := m.new(Options{})
			if _, err := mm.Forecast(1, 0.9); !errors.Is(err, ErrNotFitted) {
				t.Errorf("Forecast err = %v", err)
			}
			if err := mm.Observe(1); !errors.Is(err, ErrNotFitted) {
				t.Errorf("Observe err = %v", err)
			}
		})
		t.Run(m.name+"/bad arguments", func(t *testing.T) {
			mm := m.new(Options{})
			if err := mm.Fit(good); err != nil {
				t.Fatal(err)
			}
			if _, err := mm.Forecast(0, 0.9); !errors.Is(err, ErrBadArgument) {
				t.Errorf("h=0: err = %v", err)
			}
			if _, err := mm.Forecast(3, 1); !errors.Is(err, ErrBadArgument) {
				t.Errorf("level=1: err = %v", err)
			}
			if _, err := mm.Quantiles(3, -0.1); !errors.Is(err, ErrBadArgument) {
				t.Errorf("q<0: err = %v", err)
			}
			if err := mm.Observe(-1); !errors.Is(err, ErrNegative) {
				t.Errorf("Observe(-1): err = %v", err)
			}
			if err := mm.Observe(nan); err != nil {
				t.Errorf("Observe(NaN) (a gap): err = %v", err)
			}
			// Beyond the calibrated horizon still works.
			if f, err := mm.Forecast(400, 0.9); err != nil || len(f.Point) != 400 {
				t.Errorf("h=400: %v", err)
			}
		})
	}
}

func TestModelsConstantSeries(t *testing.T) {
	s := Series{Start: t0, Step: 5 * time.Minute, Values: make([]float64, 4*288)}
	for i := range s.Values {
		s.Values[i] = 7
	}
	s.Values[100] = nan
	for _, m := range allModels {
		t.Run(m.name, func(t *testing.T) {
			mm := m.new(Options{})
			if err := mm.Fit(s); err != nil {
				t.Fatal(err)
			}
			f, err := mm.Forecast(24, 0.95)
			if err != nil {
				t.Fatal(err)
			}
			tol := 1e-5
			if m.name == "decaying-histogram" {
				tol = 7 * 0.05 // bucket resolution
			}
			for i := range f.Point {
				if !near(f.Point[i], 7, tol) || f.Lower[i] > 7+tol || f.Upper[i] < 7-tol || !near(f.Upper[i]-f.Lower[i], 0, 2*tol) {
					t.Fatalf("step %d: %v [%v, %v], want 7 with a zero-width interval", i+1, f.Point[i], f.Lower[i], f.Upper[i])
				}
			}
		})
	}
}

// ar1 returns n 5-minute samples of level + an AR(1) process (phi 0.9,
// innovations of sd noise): no rhythm, strongly autocorrelated errors.
func ar1(n int, level, noise float64, seed uint64) Series {
	r := rand.New(rand.NewPCG(seed, 2))
	v := make([]float64, n)
	e := 0.0
	for i := range v {
		e = 0.9*e + noise*r.NormFloat64()
		v[i] = math.Max(0, level+e)
	}
	return Series{Start: t0, Step: 5 * time.Minute, Values: v}
}

// TestCoverage checks that held-out empirical coverage of the conformal
// intervals is within 2 points of nominal, per horizon (5 min, 1 h, 24 h),
// for the models suited to each series: seasonal models on a series with a
// daily and a weekly rhythm, every model on a series without rhythm.
// (A non-seasonal model on seasonal data makes errors that depend on the
// time of day; conformal coverage then holds only on average over long
// windows, and auto does not choose such a model there.)
func TestCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	seasonal := synth(119*288, 100, 30, 20, 8, 11)
	flat := ar1(119*288, 100, 5, 12)
	for _, m := range allModels {
		for _, data := range []struct {
			name string
			s    Series
		}{{"seasonal", seasonal}, {"ar1", flat}} {
			if data.name == "seasonal" && (m.name == "holt-damped" || m.name == "decaying-histogram") {
				continue
			}
			for _, level := range []float64{0.8, 0.95} {
				t.Run(fmt.Sprintf("%s/%s/%v", m.name, data.name, level), func(t *testing.T) {
					cov := coverage(t, m.new(Options{Level: level}), data.s, level)
					for h, c := range cov {
						if math.Abs(c-level) > 0.02 {
							t.Errorf("horizon %d: coverage %.3f, want %v ± 0.02", h, c, level)
						}
					}
				})
			}
		}
	}
}

// coverage fits on four weeks and returns the coverage of the level
// intervals at 1, 12 and 288 steps on the rest, with origins every 12 steps.
func coverage(t *testing.T, mm Model, s Series, level float64) map[int]float64 {
	t.Helper()
	train, test := s.Slice(0, 28*288), s.Values[28*288:]
	if err := mm.Fit(train); err != nil {
		t.Fatal(err)
	}
	hs := []int{1, 12, 288}
	hit := make([]int, len(hs))
	n := 0
	for i := 0; i+288 <= len(test); i++ {
		if i%12 == 0 {
			f, err := mm.Forecast(288, level)
			if err != nil {
				t.Fatal(err)
			}
			for j, h := range hs {
				if y := test[i+h-1]; y >= f.Lower[h-1] && y <= f.Upper[h-1] {
					hit[j]++
				}
			}
			n++
		}
		if err := mm.Observe(test[i]); err != nil {
			t.Fatal(err)
		}
	}
	out := map[int]float64{}
	for j, h := range hs {
		out[h] = float64(hit[j]) / float64(n)
	}
	return out
}

func TestAutoPrefersSeasonalModels(t *testing.T) {
	s := synth(28*288, 100, 30, 20, 3, 5)
	a := NewAuto(Options{})
	if err := a.Fit(s); err != nil {
		t.Fatal(err)
	}
	for _, name := range a.Choice(288)[200:] {
		if name == "decaying-histogram" || name == "holt-damped" {
			t.Fatalf("auto chose %s for a strongly seasonal series at 24 h", name)
		}
	}
}

// TestSeasonalMedianRecursion works a period of 2, K = 2, fading 0.5 by hand
// on 1 5 3 7. Profiles (median of the same phase ±1 step over the last two
// cycles): for the next step {5,3,7,1,5} -> 5, for the one after
// {3,7,1,5,3} -> 3. Errors against the profile while observing: 5-1 = 4,
// 3-3 = 0, 7-median{1,5,3,1} = 5; the level is their median, 4. Forecast:
// 5 + 0.5*4 = 7, then 3 + 0.25*4 = 4.
func TestSeasonalMedianRecursion(t *testing.T) {
	m := &seasonalMedian{}
	m.reset(2, 2)
	m.decay = 0.5
	for _, v := range []float64{1, 5, 3, 7} {
		m.observe(v)
	}
	got := make([]float64, 2)
	m.predict(got)
	for i, want := range []float64{7, 4} {
		if !near(got[i], want, 1e-12) {
			t.Errorf("step %d: got %v, want %v", i+1, got[i], want)
		}
	}
}
