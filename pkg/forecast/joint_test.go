package forecast

import (
	"errors"
	"math"
	"testing"
)

func TestPublishedPeakPredictors(t *testing.T) {
	a := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	b := []float64{2, 2, nan, 2}
	// Empirical quantile (gonum: the smallest value whose CDF reaches q):
	// a: q=0.95 -> 10, q=0.5 -> 5; b (gap skipped): 2.
	for _, tc := range []struct {
		q, want float64
	}{{0.95, 12}, {0.5, 7}} {
		got, err := SumOfQuantiles([][]float64{a, b}, tc.q)
		if err != nil || got != tc.want {
			t.Errorf("SumOfQuantiles(q=%v) = %v, %v; want %v", tc.q, got, err, tc.want)
		}
	}
	// N-sigma: means 5.5 and 2; sample variances 55/6 ≈ 9.1667 and 0, so
	// 7.5 + 2*sqrt(9.1667) (by hand).
	got, err := NSigma([][]float64{a, b}, 2)
	if want := 7.5 + 2*math.Sqrt(55.0/6); err != nil || !near(got, want, 1e-12) {
		t.Errorf("NSigma = %v, %v; want %v", got, err, want)
	}
	got, err = LimitFraction([]float64{4, 6}, 0.5)
	if err != nil || got != 5 {
		t.Errorf("LimitFraction = %v, %v; want 5", got, err)
	}
	for name, err := range map[string]error{
		"quantile 1":     second(SumOfQuantiles(nil, 1)),
		"negative n":     second(NSigma(nil, -1)),
		"negative limit": second(LimitFraction([]float64{-1}, 0.5)),
		"zero fraction":  second(LimitFraction([]float64{1}, 0)),
	} {
		if !errors.Is(err, ErrBadArgument) {
			t.Errorf("%s: err = %v, want ErrBadArgument", name, err)
		}
	}
}

func second(_ float64, err error) error { return err }

// TestJointPeakUsesAlignment: two members peaking at different times need
// less than the sum of their peaks.
func TestJointPeakUsesAlignment(t *testing.T) {
	day := []float64{1, 1, 10, 1}
	night := []float64{1, 10, 1, 1}
	sum, err := SumPaths([][]float64{day, night})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Peak(sum), 11.0; got != want {
		t.Errorf("joint peak = %v, want %v (not %v)", got, want, Peak(day)+Peak(night))
	}
	if _, err := SumPaths([][]float64{day, {1}}); !errors.Is(err, ErrBadArgument) {
		t.Errorf("ragged paths: err = %v", err)
	}
	if _, err := SumPaths(nil); !errors.Is(err, ErrBadArgument) {
		t.Errorf("no path: err = %v", err)
	}
	if !math.IsNaN(Peak([]float64{nan})) {
		t.Error("Peak of gaps should be NaN")
	}
}

func TestPeakCalibrator(t *testing.T) {
	c, err := NewPeakCalibrator(0.9, 100)
	if err != nil {
		t.Fatal(err)
	}
	if c.Calibrated() {
		t.Error("calibrated before any record")
	}
	// Errors 1..20: the conformal 0.9-quantile is the ceil(21*0.9) = 19th
	// smallest, 19, while adaptive inference is still at its nominal level
	// (it starts after 20 records).
	for i := 1; i <= 20; i++ {
		c.Record(100, 100+float64(i))
	}
	if !c.Calibrated() {
		t.Error("not calibrated after 20 records")
	}
	if got := c.Predict(50); got != 69 {
		t.Errorf("Predict(50) = %v, want 69", got)
	}
	c.Record(nan, 3) // ignored
	if _, err := NewPeakCalibrator(1.5, 10); !errors.Is(err, ErrBadArgument) {
		t.Errorf("confidence 1.5: err = %v", err)
	}
}
