package forecast

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
var nan = math.NaN()

func TestSeriesValidate(t *testing.T) {
	tests := []struct {
		name string
		s    Series
		want error
	}{
		{"ok with gaps", Series{Start: t0, Step: time.Minute, Values: []float64{1, nan, 0}}, nil},
		{"empty", Series{Start: t0, Step: time.Minute}, nil},
		{"zero step", Series{Start: t0, Values: []float64{1}}, ErrInvalidStep},
		{"negative", Series{Start: t0, Step: time.Minute, Values: []float64{1, -0.5}}, ErrNegative},
		{"infinite", Series{Start: t0, Step: time.Minute, Values: []float64{math.Inf(1)}}, ErrInfinite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Validate() = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSeriesIndexing(t *testing.T) {
	s := Series{Start: t0, Step: 5 * time.Minute, Values: make([]float64, 10)}
	if got, want := s.End(), t0.Add(50*time.Minute); !got.Equal(want) {
		t.Errorf("End() = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		at   time.Duration
		want int
	}{{0, 0}, {4 * time.Minute, 0}, {5 * time.Minute, 1}, {-time.Minute, -1}, {-5 * time.Minute, -1}, {-6 * time.Minute, -2}} {
		if got := s.Index(t0.Add(tc.at)); got != tc.want {
			t.Errorf("Index(+%v) = %d, want %d", tc.at, got, tc.want)
		}
	}
	if got := s.Slice(8, 20); got.Len() != 2 || !got.Start.Equal(t0.Add(40*time.Minute)) {
		t.Errorf("Slice(8, 20) = %d samples from %v", got.Len(), got.Start)
	}
}

func TestRegularize(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	samples := []Sample{
		{at(11), 4}, {at(1), 1}, {at(3), 3}, // unsorted; 1 and 3 share the first cell
		{at(7), nan}, {at(8), -1}, // dropped
		{at(21), 6},
	}
	s, dropped, err := Regularize(samples, time.Time{}, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// Cells [0,5) [5,10) [10,15) [15,20) [20,25): mean 2, gap, 4, gap, 6.
	want := []float64{2, nan, 4, nan, 6}
	if diff := cmp.Diff(want, s.Values, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	if dropped != 2 {
		t.Errorf("dropped = %d, want 2", dropped)
	}
	if !s.Start.Equal(t0) {
		t.Errorf("start = %v, want %v", s.Start, t0)
	}
	if _, _, err := Regularize(samples, t0, 0); !errors.Is(err, ErrInvalidStep) {
		t.Errorf("zero step: err = %v", err)
	}
}

func TestFilled(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want []float64
	}{
		{"interior gap interpolated", []float64{1, nan, nan, 4}, []float64{1, 2, 3, 4}},
		{"ends take nearest", []float64{nan, 2, nan}, []float64{2, 2, 2}},
		{"all gaps", []float64{nan, nan}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, filled(tc.in)); diff != "" {
				t.Errorf("filled (-want +got):\n%s", diff)
			}
		})
	}
}
