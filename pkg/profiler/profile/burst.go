package profile

import (
	"math"
	"slices"
	"time"
)

// The burst rule, documented in docs/nodeagent.md. It runs on 1-minute
// slots: a minute is in a burst when its mean exceeds the baseline — the
// median of the previous hour's minute means — by more than
// max(BurstMADs × 1.4826 × their median absolute deviation,
// BurstRelative × baseline, BurstFloor[r]). A burst is a run of such
// minutes; its baseline and threshold are those of its first minute, it
// ends at the first minute back under the threshold, at a gap in the
// samples, or after MaxBurst (a longer rise is a change of level).
const (
	BurstMADs     = 4
	BurstRelative = 0.25
	// BurstBaseline is how much history the baseline needs, in minutes
	// with samples out of the previous 60.
	BurstBaseline = 30
	MaxBurst      = time.Hour
	// BurstHistory is how many finished bursts the typical size and
	// duration are taken from.
	BurstHistory = 16
)

// BurstFloor is the least excess of a burst per resource, so that noise on
// an idle container is not a burst: 50 millicores, 32 MiB, 1 MiB/s of disk
// and of network.
var BurstFloor = [NumResources]float64{CPU: 0.05, Memory: 32 << 20, DiskIO: 1 << 20, Network: 1 << 20}

// Bursts are the detected bursts of one resource.
type Bursts struct {
	// Count of bursts since the profile began, the current one included.
	Count int64
	// Last is the start of the newest burst.
	Last time.Time
	// Active is true while a burst goes on; Base and Threshold are its
	// baseline and threshold, Peak its largest sample so far, End the end
	// of its newest minute.
	Active    bool
	Base      float64
	Threshold float64
	Peak      float64
	End       time.Time
	// Sizes (peak over baseline) and Durations of the newest finished
	// bursts, oldest first.
	Sizes     []float64
	Durations []time.Duration
}

// Typical returns the median size and duration of the newest finished
// bursts; ok is false when none finished.
func (b *Bursts) Typical() (size float64, d time.Duration, ok bool) {
	if len(b.Sizes) == 0 {
		return 0, 0, false
	}
	s := slices.Clone(b.Sizes)
	slices.Sort(s)
	ds := slices.Clone(b.Durations)
	slices.Sort(ds)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], ds[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, (ds[n/2-1] + ds[n/2]) / 2, true
}

func (b *Bursts) finish() {
	b.Sizes = append(b.Sizes, math.Max(b.Peak-b.Base, 0))
	b.Durations = append(b.Durations, b.End.Sub(b.Last))
	if len(b.Sizes) > BurstHistory {
		b.Sizes = slices.Delete(b.Sizes, 0, len(b.Sizes)-BurstHistory)
		b.Durations = slices.Delete(b.Durations, 0, len(b.Durations)-BurstHistory)
	}
	b.Active = false
}

// Baseline returns the median and the scaled median absolute deviation of
// xs (1.4826·MAD estimates the standard deviation of normal data).
func Baseline(xs []float64) (median, scale float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	median = mid(s)
	for i := range s {
		s[i] = math.Abs(s[i] - median)
	}
	slices.Sort(s)
	return median, 1.4826 * mid(s)
}

func mid(s []float64) float64 {
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// observe scores one finished minute of resource r against the minutes of
// the hour before it.
func (b *Bursts) observe(r Resource, m Slot, res time.Duration, before []Slot) {
	end := m.Start.Add(res)
	if b.Active {
		if m.Start.After(b.End) || m.Mean[r] <= b.Threshold || end.Sub(b.Last) > MaxBurst {
			b.finish()
		} else {
			b.Peak, b.End = math.Max(b.Peak, m.Max[r]), end
			return
		}
	}
	if len(before) < BurstBaseline {
		return
	}
	xs := make([]float64, len(before))
	for i, s := range before {
		xs[i] = s.Mean[r]
	}
	base, scale := Baseline(xs)
	thr := base + math.Max(math.Max(BurstMADs*scale, BurstRelative*base), BurstFloor[r])
	if m.Mean[r] > thr {
		*b = Bursts{Count: b.Count + 1, Last: m.Start, Active: true, Base: base, Threshold: thr, Peak: m.Max[r], End: end,
			Sizes: b.Sizes, Durations: b.Durations}
	}
}
