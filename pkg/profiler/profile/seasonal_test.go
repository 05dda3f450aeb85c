package profile

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// monday is a Monday, 00:00 UTC.
var monday = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

func TestSeasonalSlot(t *testing.T) {
	d, w := NewSeasonal(24*time.Hour, 7), NewSeasonal(7*24*time.Hour, 3)
	for _, tc := range []struct {
		at            time.Time
		daily, weekly int
	}{
		{at: monday, daily: 0, weekly: 0},
		{at: monday.Add(90 * time.Minute), daily: 1, weekly: 1},
		{at: monday.Add(-time.Second), daily: 23, weekly: 167}, // Sunday 23:59:59
		{at: monday.Add(2*24*time.Hour + 13*time.Hour), daily: 13, weekly: 61},
		{at: time.Unix(0, 0), daily: 0, weekly: 3 * 24}, // a Thursday
	} {
		if d.Slot(tc.at) != tc.daily || w.Slot(tc.at) != tc.weekly {
			t.Errorf("Slot(%v) = %d, %d, want %d, %d", tc.at, d.Slot(tc.at), w.Slot(tc.at), tc.daily, tc.weekly)
		}
	}
}

// TestSeasonalDecay folds one slot three times and then enough to reach
// the decaying regime: the first folds average, later ones weigh
// 1 − 2^(−1/HalfLife).
func TestSeasonalDecay(t *testing.T) {
	s := NewSeasonal(24*time.Hour, 1) // half-life one period: weight 1/2
	fold := func(v float64) { s.Fold(monday, vec(v), vec(2*v)) }
	fold(3)
	fold(6) // (3+6)/2
	if got := s.Mean[0][CPU]; got != 4.5 {
		t.Fatalf("Mean after two folds = %v, want 4.5", got)
	}
	fold(0.5) // weight max(1/3, 1/2) = 1/2: 4.5 + (0.5 − 4.5)/2
	if got, peak := s.Mean[0][CPU], s.Peak[0][CPU]; got != 2.5 || peak != 5 {
		t.Errorf("Mean, peak after three folds = %v, %v, want 2.5, 5", got, peak)
	}
	if s.Seen[0] != 3 || s.Seen[1] != 0 {
		t.Errorf("Seen = %v", s.Seen[:2])
	}
}

func officeHours(at time.Time, weekdaysOnly bool) float64 {
	h := at.UTC().Hour()
	wd := at.UTC().Weekday()
	if h >= 9 && h < 18 && (!weekdaysOnly || (wd != time.Saturday && wd != time.Sunday)) {
		return 1.5
	}
	return 1
}

// TestShapes feeds a profile minute by minute and checks which rhythms are
// detected and their factors, computed by hand: office hours (9 of 24
// hours at 1.5, the rest at 1) average 28.5/24 = 1.1875, so the factors are
// 1/1.1875 = 842 and 1.5/1.1875 = 1263 per mille; on weekdays only, the
// week averages (45·1.5 + 123)/168 = 1.13393: 882 and 1323.
func TestShapes(t *testing.T) {
	day := func(lo, hi int32) []int32 {
		f := make([]int32, Hours)
		for h := range f {
			f[h] = lo
			if h >= 9 && h < 18 {
				f[h] = hi
			}
		}
		return f
	}
	week := make([]int32, WeekHours)
	for h := range week {
		week[h] = 882
		if h/24 < 5 && h%24 >= 9 && h%24 < 18 {
			week[h] = 1323
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name       string
		days       int
		cpu        func(time.Time) float64
		wantDaily  []Shape
		wantWeekly []Shape
	}{
		{name: "office hours, one day: too little history", days: 1, cpu: func(at time.Time) float64 { return officeHours(at, false) }},
		{name: "office hours, three days: daily rhythm", days: 3, cpu: func(at time.Time) float64 { return officeHours(at, false) },
			wantDaily: []Shape{{Resource: CPU, Period: 24 * time.Hour, Factors: day(842, 1263), Strength: 1}}},
		{name: "office hours, four weeks: no weekly rhythm beyond the daily one", days: 28, cpu: func(at time.Time) float64 { return officeHours(at, false) },
			wantDaily: []Shape{{Resource: CPU, Period: 24 * time.Hour, Factors: day(842, 1263), Strength: 1}}},
		{name: "weekdays only, three weeks: weekly rhythm", days: 21, cpu: func(at time.Time) float64 { return officeHours(at, true) },
			// The daily rhythm is there too, but weaker: weekends spoil it.
			wantDaily:  []Shape{{Resource: CPU, Period: 24 * time.Hour, Factors: nil, Strength: -1}},
			wantWeekly: []Shape{{Resource: CPU, Period: 7 * 24 * time.Hour, Factors: week, Strength: 1}}},
		{name: "noise: no rhythm", days: 21, cpu: func(time.Time) float64 { return 1 + rng.Float64() }},
		{name: "flat: no rhythm", days: 21, cpu: func(time.Time) float64 { return 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New("c")
			for m := 0; m < tc.days*24*60; m++ {
				at := monday.Add(time.Duration(m) * time.Minute)
				p.Add(at, [NumResources]float64{CPU: tc.cpu(at), Memory: 1 << 30})
			}
			daily, weekly := p.Shapes.Detected()
			// Strength -1 in a wanted shape: only check it is detected.
			if len(tc.wantDaily) == 1 && tc.wantDaily[0].Strength < 0 && len(daily) == 1 {
				t.Logf("Daily strength with weekends %.3f", daily[0].Strength)
				tc.wantDaily, daily = nil, nil
			}
			opt := cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-3 })
			if diff := cmp.Diff(tc.wantDaily, daily, opt); diff != "" {
				t.Errorf("Daily shapes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWeekly, weekly, opt); diff != "" {
				t.Errorf("Weekly shapes (-want +got):\n%s", diff)
			}
		})
	}
}
