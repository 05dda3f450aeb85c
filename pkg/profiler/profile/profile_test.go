package profile

import (
	"math"
	"testing"
	"time"
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
