package forecast

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// AnomalyKind separates short bursts from lasting level shifts.
type AnomalyKind int

// The kinds of anomaly.
const (
	// Burst is a deviation that returns to the previous level quickly.
	Burst AnomalyKind = iota + 1
	// LevelShift is a deviation that lasts: the series moved to a new level.
	LevelShift
)

func (k AnomalyKind) String() string {
	switch k {
	case Burst:
		return "burst"
	case LevelShift:
		return "level-shift"
	}
	return fmt.Sprintf("AnomalyKind(%d)", int(k))
}

// AnomalyOptions tune DetectAnomalies. Zero values take the defaults.
type AnomalyOptions struct {
	// Window is the trailing baseline, in steps. Default: one day.
	Window int
	// Threshold is the robust z-score (deviation from the baseline median
	// over 1.4826 times its median absolute deviation) above which a sample
	// is anomalous. Default 6.
	Threshold float64
	// Persist is how many steps a deviation must last, with half the
	// threshold, to be a level shift rather than a burst. Default: 30
	// minutes of steps, at least 3.
	Persist int
	// Cooldown merges an anomaly starting within this many steps of the
	// previous one's end into it, so that one incident is reported once.
	// Default: two hours of steps.
	Cooldown int
}

func (o AnomalyOptions) withDefaults(step time.Duration) AnomalyOptions {
	if o.Window <= 0 {
		o.Window = max(8, int(Day/step))
	}
	if o.Threshold <= 0 {
		o.Threshold = 6
	}
	if o.Persist <= 0 {
		o.Persist = max(3, int(30*time.Minute/step))
	}
	if o.Cooldown <= 0 {
		o.Cooldown = max(1, int(2*time.Hour/step))
	}
	return o
}

// Anomaly is a detected anomaly: the samples [Start, End] deviated from the
// baseline; Score is the largest absolute robust z-score among them.
type Anomaly struct {
	Start, End time.Time
	Kind       AnomalyKind
	Score      float64
}

// DetectAnomalies scans s and returns its anomalies and, per sample, the
// signed robust z-score against the trailing baseline (NaN where there is
// not enough baseline or a gap). It is causal except for classification,
// which looks Persist steps ahead. After a level shift the baseline
// restarts at the shift, so that the new level becomes normal.
func DetectAnomalies(s Series, opt AnomalyOptions) ([]Anomaly, []float64, error) {
	if err := s.Validate(); err != nil {
		return nil, nil, fmt.Errorf("detect anomalies: %w", err)
	}
	opt = opt.withDefaults(s.Step)
	if opt.Threshold <= 0 || math.IsNaN(opt.Threshold) || math.IsInf(opt.Threshold, 0) {
		return nil, nil, fmt.Errorf("detect anomalies: %w: threshold %v", ErrBadArgument, opt.Threshold)
	}
	x := s.Values
	scores := make([]float64, len(x))
	for i := range scores {
		scores[i] = math.NaN()
	}
	minBase := max(2*opt.Persist, opt.Window/4)
	buf := make([]float64, 0, opt.Window)
	dev := make([]float64, 0, opt.Window)
	var out []Anomaly
	baseStart := 0
	for t := 0; t < len(x); t++ {
		if math.IsNaN(x[t]) {
			continue
		}
		med, scale, ok := baseline(x[max(baseStart, t-opt.Window):t], minBase, &buf, &dev)
		if !ok {
			continue
		}
		z := (x[t] - med) / scale
		scores[t] = z
		if math.Abs(z) <= opt.Threshold {
			continue
		}
		// An anomaly starts at t: a level shift if the next Persist samples
		// stay beyond half the threshold on the same side.
		end := min(len(x), t+opt.Persist)
		ahead := make([]float64, 0, opt.Persist)
		for _, v := range x[t:end] {
			if !math.IsNaN(v) {
				ahead = append(ahead, (v-med)/scale)
			}
		}
		sort.Float64s(ahead)
		kind := Burst
		if end-t == opt.Persist && len(ahead) > 0 {
			m := ahead[len(ahead)/2]
			if math.Abs(m) > opt.Threshold/2 && math.Signbit(m) == math.Signbit(z) {
				kind = LevelShift
			}
		}
		a := Anomaly{Start: s.Time(t), End: s.Time(t), Kind: kind, Score: math.Abs(z)}
		cool := time.Duration(opt.Cooldown) * s.Step
		if kind == LevelShift {
			baseStart = t
			if n := len(out); n > 0 && a.Start.Sub(out[n-1].End) <= cool {
				out[n-1].End = a.End
				out[n-1].Kind = LevelShift
				out[n-1].Score = math.Max(out[n-1].Score, a.Score)
			} else {
				out = append(out, a)
			}
			continue
		}
		// Extend the burst while samples stay anomalous against the same baseline.
		j := t + 1
		for ; j < len(x); j++ {
			if math.IsNaN(x[j]) {
				continue
			}
			zj := (x[j] - med) / scale
			if math.Abs(zj) <= opt.Threshold {
				break
			}
			scores[j] = zj
			a.End = s.Time(j)
			a.Score = math.Max(a.Score, math.Abs(zj))
		}
		if n := len(out); n > 0 && a.Start.Sub(out[n-1].End) <= cool {
			out[n-1].End = a.End
			out[n-1].Score = math.Max(out[n-1].Score, a.Score)
		} else {
			out = append(out, a)
		}
		t = j - 1
	}
	return out, scores, nil
}

// baseline returns the median of the observed values of w and a robust
// scale: 1.4826 times their median absolute deviation, or, when more than
// half of them are equal, 1.2533 times their mean absolute deviation, and
// never less than 1e-9 times (1 + |median|).
func baseline(w []float64, minN int, buf, dev *[]float64) (med, scale float64, ok bool) {
	b := (*buf)[:0]
	for _, v := range w {
		if !math.IsNaN(v) {
			b = append(b, v)
		}
	}
	*buf = b
	if len(b) < minN {
		return 0, 0, false
	}
	sort.Float64s(b)
	med = b[len(b)/2]
	d := (*dev)[:0]
	var mean float64
	for _, v := range b {
		d = append(d, math.Abs(v-med))
		mean += math.Abs(v - med)
	}
	*dev = d
	sort.Float64s(d)
	scale = 1.4826 * d[len(d)/2]
	if scale == 0 {
		scale = 1.2533 * mean / float64(len(d))
	}
	return med, math.Max(scale, 1e-9*(1+math.Abs(med))), true
}
