package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// synth returns n 5-minute samples: level + daily sine of amplitude
// dailyAmp + a weekend drop of weekendDrop + Gaussian noise of sd noise.
func synth(n int, level, dailyAmp, weekendDrop, noise float64, seed uint64) Series {
	r := rand.New(rand.NewPCG(seed, 1))
	v := make([]float64, n)
	for i := range v {
		t := t0.Add(time.Duration(i) * 5 * time.Minute)
		x := level + dailyAmp*math.Sin(2*math.Pi*float64(i)/288)
		if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			x -= weekendDrop
		}
		v[i] = math.Max(0, x+noise*r.NormFloat64())
	}
	return Series{Start: t0, Step: 5 * time.Minute, Values: v}
}

func TestACF(t *testing.T) {
	// [1 2 3 4 5], lag 1: mean 3, sum of squares 10, lagged products
	// (-2)(-1)+(-1)(0)+(0)(1)+(1)(2) = 4, so r = 0.4 (by hand).
	if got := ACF([]float64{1, 2, 3, 4, 5}, 1); math.Abs(got-0.4) > 1e-12 {
		t.Errorf("ACF lag 1 = %v, want 0.4", got)
	}
	// A sine of period 24 over exactly 4 cycles: r(24) = (n-24)/n = 0.75
	// (closed form: the mean is 0 and both sums are half the pair counts).
	x := make([]float64, 96)
	for i := range x {
		x[i] = math.Sin(2 * math.Pi * float64(i) / 24)
	}
	if got := ACF(x, 24); math.Abs(got-0.75) > 1e-9 {
		t.Errorf("ACF sine lag 24 = %v, want 0.75", got)
	}
	// Gaps: dropping one sample leaves r close to the full-data value.
	x[10] = nan
	if got := ACF(x, 24); math.Abs(got-0.75) > 0.03 {
		t.Errorf("ACF sine with a gap = %v, want about 0.75", got)
	}
	for _, tc := range []struct {
		name string
		x    []float64
		lag  int
	}{{"constant", []float64{2, 2, 2, 2}, 1}, {"lag too long", []float64{1, 2}, 2}, {"zero lag", []float64{1, 2, 3}, 0}} {
		if got := ACF(tc.x, tc.lag); !math.IsNaN(got) {
			t.Errorf("%s: ACF = %v, want NaN", tc.name, got)
		}
	}
}

func TestDetectPeriods(t *testing.T) {
	tests := []struct {
		name string
		s    Series
		want []int
	}{
		{"daily", synth(21*288, 100, 30, 0, 5, 1), []int{288}},
		{"daily and weekly", synth(28*288, 100, 30, 40, 5, 2), []int{288, 2016}},
		{"white noise has no rhythm", synth(21*288, 100, 0, 0, 5, 3), nil},
		{"constant", synth(21*288, 100, 0, 0, 0, 4), nil},
		{"one day is too short for a daily period", synth(288, 100, 30, 0, 1, 5), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DetectPeriods(tc.s, PeriodOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("periods (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDominantPeriod(t *testing.T) {
	x := make([]float64, 1000)
	for i := range x {
		x[i] = 10 + math.Sin(2*math.Pi*float64(i)/50)
	}
	got, err := DominantPeriod(Series{Start: t0, Step: time.Minute, Values: x}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got != 50 {
		t.Errorf("DominantPeriod = %d, want 50", got)
	}
	got, err = DominantPeriod(Series{Start: t0, Step: time.Minute, Values: []float64{3, 3, 3, 3, 3, 3, 3, 3, 3}}, 2)
	if err != nil || got != 0 {
		t.Errorf("constant: DominantPeriod = %d, %v; want 0, nil", got, err)
	}
}
