package profile

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBaseline(t *testing.T) {
	// median 3; deviations 2 1 0 1 97: MAD 1.
	m, s := Baseline([]float64{1, 2, 3, 4, 100})
	if m != 3 || math.Abs(s-1.4826) > 1e-12 {
		t.Errorf("Baseline = %v, %v, want 3, 1.4826", m, s)
	}
}

// TestBursts feeds CPU minute series (one sample every 10 s) and checks
// the bursts found against the rule, worked out by hand per case.
func TestBursts(t *testing.T) {
	type seg struct {
		minutes int
		cpu     float64 // NaN: no samples (the agent was down)
	}
	type want struct {
		Count    int64
		Active   bool
		Last     time.Duration // after the start
		Size     float64
		Duration time.Duration
		Typical  bool
	}
	for _, tc := range []struct {
		name string
		segs []seg
		want want
	}{
		{name: "flat: none", segs: []seg{{180, 1}}},
		{name: "one burst of 5 minutes, twice the baseline",
			segs: []seg{{120, 1}, {5, 2}, {30, 1}},
			want: want{Count: 1, Last: 120 * time.Minute, Size: 1, Duration: 5 * time.Minute, Typical: true}},
		{name: "under the relative threshold (25%): none", segs: []seg{{120, 1}, {5, 1.2}, {30, 1}}},
		{name: "under the CPU floor (50 millicores): none", segs: []seg{{120, 0.01}, {5, 0.055}, {30, 0.01}}},
		{name: "too little baseline: none", segs: []seg{{20, 1}, {5, 3}, {30, 1}}},
		{name: "ongoing burst",
			segs: []seg{{60, 1}, {3, 4}},
			want: want{Count: 1, Active: true, Last: 60 * time.Minute}},
		{name: "two bursts: typical is their median",
			segs: []seg{{60, 1}, {2, 2}, {60, 1}, {10, 4}, {10, 1}},
			want: want{Count: 2, Last: 122 * time.Minute, Size: 2, Duration: 6 * time.Minute, Typical: true}},
		{name: "a change of level ends after an hour and is not a new burst",
			segs: []seg{{60, 1}, {180, 3}},
			want: want{Count: 1, Last: 60 * time.Minute, Size: 2, Duration: time.Hour, Typical: true}},
		{name: "a gap ends a burst",
			segs: []seg{{60, 1}, {4, 5}, {10, math.NaN()}, {5, 5}},
			// after the gap the previous hour has only 50 minutes of 1 and
			// 4 of 5: median 1, so the 5s are a second burst.
			want: want{Count: 2, Active: true, Last: 74 * time.Minute, Size: 4, Duration: 4 * time.Minute, Typical: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New("c")
			at := t0
			for _, s := range tc.segs {
				for range s.minutes * 6 {
					if !math.IsNaN(s.cpu) {
						p.Add(at, vec(s.cpu))
					}
					at = at.Add(10 * time.Second)
				}
			}
			b := &p.Bursts[CPU]
			got := want{Count: b.Count, Active: b.Active}
			if b.Count > 0 {
				got.Last = b.Last.Sub(t0)
			}
			got.Size, got.Duration, got.Typical = b.Typical()
			// Baselines come from stored minutes, within the codes' error.
			opt := cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) <= 1e-3*math.Max(1, math.Abs(b)) })
			if diff := cmp.Diff(tc.want, got, opt); diff != "" {
				t.Errorf("Bursts (-want +got):\n%s", diff)
			}
			for r := Memory; r < NumResources; r++ {
				if p.Bursts[r].Count != 0 {
					t.Errorf("Resource %d has %d bursts, want none", r, p.Bursts[r].Count)
				}
			}
		})
	}
}
