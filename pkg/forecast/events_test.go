package forecast

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestApplyEvents(t *testing.T) {
	f := Forecast{Start: t0, Step: time.Hour, Level: 0.9,
		Point: []float64{10, 10, 10, 10}, Lower: []float64{8, 8, 8, 8}, Upper: []float64{12, 12, 12, 12}}
	tests := []struct {
		name      string
		events    []Event
		wantPoint []float64
		wantUpper []float64
		wantErr   error
	}{
		{"none", nil, []float64{10, 10, 10, 10}, []float64{12, 12, 12, 12}, nil},
		// Steps at +1h and +2h are in [+1h, +3h): 10*1.5 = 15, 12*1.5 = 18.
		{"surge", []Event{{Start: t0.Add(time.Hour), End: t0.Add(3 * time.Hour), Change: 0.5}},
			[]float64{10, 15, 15, 10}, []float64{12, 18, 18, 12}, nil},
		// Composition in order: (10*2)+5 = 25, then the second event adds -30: clamped to 0.
		{"compose and clamp", []Event{
			{Start: t0, End: t0.Add(time.Hour), Change: 1, Add: 5},
			{Start: t0, End: t0.Add(time.Hour), Add: -30}},
			[]float64{0, 10, 10, 10}, []float64{0, 12, 12, 12}, nil},
		{"empty window", []Event{{Start: t0, End: t0}}, nil, nil, ErrBadArgument},
		{"change below -1", []Event{{Start: t0, End: t0.Add(time.Hour), Change: -2}}, nil, nil, ErrBadArgument},
		{"NaN add", []Event{{Start: t0, End: t0.Add(time.Hour), Add: math.NaN()}}, nil, nil, ErrBadArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ApplyEvents(f, tc.events)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tc.wantPoint, got.Point); diff != "" {
				t.Errorf("point (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantUpper, got.Upper); diff != "" {
				t.Errorf("upper (-want +got):\n%s", diff)
			}
			if f.Point[1] != 10 {
				t.Error("ApplyEvents modified its input")
			}
		})
	}
}

func TestRemoveEvents(t *testing.T) {
	s := Series{Start: t0, Step: time.Hour, Values: []float64{10, 25, 25, 10}}
	got, err := RemoveEvents(s, []Event{{Start: t0.Add(time.Hour), End: t0.Add(3 * time.Hour), Change: 1, Add: 5}})
	if err != nil {
		t.Fatal(err)
	}
	// (25-5)/2 = 10.
	if diff := cmp.Diff([]float64{10, 10, 10, 10}, got.Values); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got, err = RemoveEvents(s, []Event{{Start: t0, End: t0.Add(time.Hour), Change: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float64{nan, 25, 25, 10}, got.Values, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("outage becomes a gap (-want +got):\n%s", diff)
	}
}

// TestEventsImproveForecast: a model told about a surge forecasts it; the
// same model not told does not.
func TestEventsImproveForecast(t *testing.T) {
	s := synth(14*288, 100, 20, 0, 2, 3)
	m := NewHoltWinters(Options{})
	if err := m.Fit(s); err != nil {
		t.Fatal(err)
	}
	f, err := m.Forecast(288, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	ev := Event{Start: f.Start.Add(6 * time.Hour), End: f.Start.Add(8 * time.Hour), Change: 1}
	g, err := ApplyEvents(f, []Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	i := 7 * 12 // 7 hours in
	if !near(g.Point[i], 2*f.Point[i], 1e-9) || !near(g.Upper[i], 2*f.Upper[i], 1e-9) {
		t.Errorf("step %d: %v (upper %v), want twice %v (%v)", i, g.Point[i], g.Upper[i], f.Point[i], f.Upper[i])
	}
}
