package profile

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

func vec(cpu float64) [NumResources]float64 { return [NumResources]float64{CPU: cpu} }

// near reports whether got is within rel of want, relatively.
func near(got, want, rel float64) bool {
	if want == 0 {
		return got == 0
	}
	return math.Abs(got-want) <= rel*math.Abs(want)
}

func TestRing(t *testing.T) {
	for _, tc := range []struct {
		name     string
		samples  map[time.Duration]float64
		now      time.Duration
		window   time.Duration
		wantPts  int
		wantMean float64 // count-weighted mean of the window
		wantMax  float64
	}{
		{name: "two samples in one slot", samples: map[time.Duration]float64{0: 1, 5 * time.Second: 3},
			now: 5 * time.Second, window: time.Minute, wantPts: 1, wantMean: 2, wantMax: 3},
		{name: "three slots", samples: map[time.Duration]float64{0: 1, 10 * time.Second: 2, 20 * time.Second: 6},
			now: 20 * time.Second, window: time.Minute, wantPts: 3, wantMean: 3, wantMax: 6},
		{name: "window excludes old slot", samples: map[time.Duration]float64{0: 100, 10 * time.Second: 2, 20 * time.Second: 4},
			now: 20 * time.Second, window: 20 * time.Second, wantPts: 2, wantMean: 3, wantMax: 4},
		{name: "wrapped ring forgets the oldest", samples: map[time.Duration]float64{0: 100, 60 * time.Second: 5},
			now: 60 * time.Second, window: time.Hour, wantPts: 1, wantMean: 5, wantMax: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRing(10*time.Second, time.Minute) // 6 slots
			for d := time.Duration(0); d <= tc.now; d += time.Second {
				if v, ok := tc.samples[d]; ok {
					r.Add(t0.Add(d), vec(v))
				}
			}
			pts := r.Window(t0.Add(tc.now), tc.window)
			if len(pts) != tc.wantPts {
				t.Fatalf("Window has %d points, want %d", len(pts), tc.wantPts)
			}
			var sum, n, max float64
			for _, p := range pts {
				sum += p.Mean[CPU] * float64(p.Count)
				n += float64(p.Count)
				max = math.Max(max, p.Max[CPU])
			}
			// Finished slots are stored as 16-bit codes.
			if !near(sum/n, tc.wantMean, MaxCodeError) || !near(max, tc.wantMax, MaxCodeError) {
				t.Errorf("mean %v max %v, want %v %v", sum/n, max, tc.wantMean, tc.wantMax)
			}
		})
	}
}

// TestHistogramQuantiles checks quantiles of 1..10000 (exact value q*10000)
// within the bucket's stated bound of (Ratio-1)/2 = 2.5%.
func TestHistogramQuantiles(t *testing.T) {
	h := NewHistogram(1, 1.05, 24*time.Hour)
	for i := 1; i <= 10000; i++ {
		h.Add(t0, float64(i))
	}
	for _, q := range []float64{0.5, 0.9, 0.95, 0.99} {
		t.Run("", func(t *testing.T) {
			got, want := h.Quantile(q), q*10000
			if math.Abs(got-want)/want > 0.025 {
				t.Errorf("Quantile(%v) = %v, want %v within 2.5%%", q, got, want)
			}
		})
	}
}

// TestHistogramDecay: 1000 samples of 1 followed, ten half-lives later, by
// 10 samples of 100 weigh 1000 vs 10*1024: the median must be 100.
func TestHistogramDecay(t *testing.T) {
	h := NewHistogram(0.5, 1.05, time.Hour)
	for i := 0; i < 1000; i++ {
		h.Add(t0, 1)
	}
	if got := h.Quantile(0.5); math.Abs(got-1) > 0.05 {
		t.Fatalf("median before = %v", got)
	}
	for i := 0; i < 10; i++ {
		h.Add(t0.Add(10*time.Hour), 100)
	}
	if got := h.Quantile(0.5); math.Abs(got-100)/100 > 0.025 {
		t.Errorf("median after ten half-lives = %v, want 100", got)
	}
	// 1000/(1000+10240) = 8.9% of the weight is at 1.
	if got := h.Quantile(0.05); math.Abs(got-1) > 0.05 {
		t.Errorf("5th percentile = %v, want 1", got)
	}
	// Far later, rescaling keeps the sums finite.
	h.Add(t0.Add(1000*time.Hour), 7)
	if math.IsInf(h.Total, 0) || math.IsNaN(h.Total) {
		t.Fatalf("total = %v", h.Total)
	}
	if got := h.Quantile(0.5); math.Abs(got-7)/7 > 0.025 {
		t.Errorf("median after rescale = %v, want 7", got)
	}
}

func TestProfileSummary(t *testing.T) {
	p := New("pod/ctr")
	for i := 0; i < 600; i++ { // 10 minutes at 1 s, CPU alternating 1 and 3
		v := 1.0
		if i%2 == 1 {
			v = 3
		}
		p.Add(t0.Add(time.Duration(i)*time.Second), vec(v))
	}
	s := p.Summary(t0.Add(599*time.Second), time.Hour)[CPU]
	if s.Current != 3 || !near(s.Peak, 3, MaxCodeError) || !near(s.Mean, 2, MaxCodeError) {
		t.Errorf("Summary = %+v, want current 3, peak 3, mean 2", s)
	}
	// Later samples weigh slightly more, so the median lands on 3; the
	// lower quartile is 1.
	if q25 := p.Histograms[CPU].Quantile(0.25); math.Abs(q25-1)/1 > 0.025 || math.Abs(s.P90-3)/3 > 0.025 {
		t.Errorf("p25 %v p90 %v, want 1 and 3", q25, s.P90)
	}
}

// oldRings is the layout of profiles before the hour ring: 5-minute slots
// for five weeks.
func oldRings() []Ring {
	return []Ring{NewRing(10*time.Second, time.Hour), NewRing(time.Minute, 24*time.Hour), NewRing(5*time.Minute, LongHistory)}
}

// hourly feeds p a sample every 5 minutes for n hours from t0: in hour h,
// step k (0..11) of CPU is (h%5+1)·(k+1), so that the hour's mean is
// (h%5+1)·6.5 and its maximum (h%5+1)·12. It returns the last sample's
// time.
func hourly(p *Profile, n int) time.Time {
	var at time.Time
	for h := range n {
		for k := range 12 {
			at = t0.Add(time.Duration(h)*time.Hour + time.Duration(k)*5*time.Minute)
			p.Add(at, [NumResources]float64{CPU: float64((h%5 + 1) * (k + 1)), Memory: 1 << 30})
		}
	}
	return at
}

// TestConform lays out a profile of the earlier format (five weeks at 5
// minutes, plus a day more) as today's: the 10-second, 1-minute and the
// newest week of 5-minute slots are carried over unchanged, and every hour
// of the five weeks has the mean and maximum of its twelve 5-minute slots.
func TestConform(t *testing.T) {
	p := New("pod/c")
	p.Rings = oldRings()
	last := hourly(p, 6*7*24) // six weeks: the oldest is beyond the old ring too
	old := p.Clone(p.Key)
	if !p.Conform() {
		t.Fatal("Conform left the old layout")
	}
	if p.Conform() {
		t.Error("Conform changed a profile already laid out as DefaultRings")
	}
	want := DefaultRings()
	if len(p.Rings) != len(want) {
		t.Fatalf("%d rings, want %d", len(p.Rings), len(want))
	}
	for i := range want {
		if p.Rings[i].Resolution != want[i].Resolution || p.Rings[i].Slots != want[i].Slots {
			t.Fatalf("Ring %d: %v × %d, want %v × %d", i, p.Rings[i].Resolution, p.Rings[i].Slots, want[i].Resolution, want[i].Slots)
		}
	}
	// The finer rings and the newest week: the same slots.
	for i := range HourRing {
		span := p.Rings[i].Span()
		if diff := cmp.Diff(old.Rings[i].Window(last, span), p.Rings[i].Window(last, span)); diff != "" {
			t.Errorf("Ring %v (-old +conformed):\n%s", p.Rings[i].Resolution, diff)
		}
	}
	// Hours: 840 of them, each (h%5+1)·6.5 on average and (h%5+1)·12 at
	// most; two roundings to 16-bit codes.
	hours := p.Rings[HourRing].Window(last, LongHistory)
	if len(hours) != 840 {
		t.Fatalf("The hour ring holds %d hours, want 840", len(hours))
	}
	for _, sl := range hours {
		h := int(sl.Start.Sub(t0) / time.Hour)
		f := float64(h%5 + 1)
		if !near(sl.Mean[CPU], f*6.5, 2*MaxCodeError) || !near(sl.Max[CPU], f*12, 2*MaxCodeError) || sl.Count != 12 {
			t.Fatalf("Hour %d: mean %v, max %v of %d samples, want %v, %v of 12", h, sl.Mean[CPU], sl.Max[CPU], sl.Count, f*6.5, f*12)
		}
	}
	// Everything else is kept.
	p.Rings, old.Rings = nil, nil
	if diff := cmp.Diff(old, p, cmp.AllowUnexported(fit{})); diff != "" {
		t.Errorf("Conform changed more than the rings (-old +conformed):\n%s", diff)
	}
}

// TestProfileSeries reads two weeks at 5-minute steps from a profile three
// weeks old: the newest week from the 5-minute ring, the week before it
// as hourly means repeated over each hour's twelve steps; and two weeks
// from a profile two days old: empty steps before its first sample.
func TestProfileSeries(t *testing.T) {
	p := New("pod/c")
	last := hourly(p, 3*7*24)
	// Up to the last finished slot.
	end := last.Add(-5 * time.Minute)
	xs, start := p.Series(end, 2*WeekHistory, LongRing, CPU)
	if want := end.Add(5*time.Minute - 2*WeekHistory); len(xs) != 4032 || !start.Equal(want) {
		t.Fatalf("Series of %d steps from %v, want 4032 from %v", len(xs), start, want)
	}
	// The 5-minute ring's finished slots: at least the week before end.
	week := p.Rings[LongRing].Slots - 1
	if week < 2016 {
		t.Fatalf("The 5-minute ring holds %d finished slots, under a week", week)
	}
	for i, x := range xs {
		at := start.Add(time.Duration(i) * 5 * time.Minute)
		h, k := int(at.Sub(t0)/time.Hour), int(at.Sub(t0)%time.Hour/(5*time.Minute))
		want := float64((h%5 + 1) * (k + 1))
		if i < len(xs)-week {
			want = float64(h%5+1) * 6.5
		}
		if !near(x, want, MaxCodeError) {
			t.Fatalf("Step %d (%v): %v, want %v", i, at, x, want)
		}
	}

	young := New("pod/young")
	last = hourly(young, 48)
	xs, _ = young.Series(last, 2*WeekHistory, LongRing, CPU)
	nan := 0
	for nan < len(xs) && math.IsNaN(xs[nan]) {
		nan++
	}
	if len(xs) != 4032 || nan != 4032-48*12 {
		t.Errorf("Series of a 2-day-old profile: %d steps, %d empty first; want 4032, %d", len(xs), nan, 4032-48*12)
	}
}

// TestClone checks that a clone is equal to its original and shares none
// of its state.
func TestClone(t *testing.T) {
	p := New("pod/c")
	last := hourly(p, 30)
	p.Bursts[CPU].Sizes = []float64{1}
	c := p.Clone("u/c")
	if c.Key != "u/c" {
		t.Errorf("Clone key %q", c.Key)
	}
	c.Key = p.Key
	opts := cmp.Options{cmp.AllowUnexported(Ring{}, acc{}, fit{})}
	if diff := cmp.Diff(p, c, opts); diff != "" {
		t.Fatalf("Clone (-original +clone):\n%s", diff)
	}
	before := p.Clone(p.Key)
	for k := range 12 {
		c.Add(last.Add(time.Duration(k+1)*5*time.Minute), vec(1000))
	}
	c.Bursts[CPU].Sizes[0] = 2
	c.Shapes.Daily.Seen[0]++
	if diff := cmp.Diff(before, p, opts); diff != "" {
		t.Errorf("Changing the clone changed the original (-before +after):\n%s", diff)
	}
}
