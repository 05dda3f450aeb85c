package profile

import (
	"math"
	"time"
)

// Seasonal is a usage rhythm over a period, at hourly resolution: for each
// hour of the day (24 slots, slot 0 = 00:00 UTC) or of the week (168
// slots, slot 0 = Monday 00:00 UTC), decaying means of the hour's mean and
// of its peak (its largest sample), per resource.
//
// Each finished hour is folded into its slot with weight
// max(1/n, Alpha), n being the number of hours folded into that slot so
// far: a plain average for the first periods, then an exponentially
// decaying mean whose half-life is HalfLife periods.
type Seasonal struct {
	// Period is 24 h or 168 h.
	Period time.Duration
	// HalfLife, in periods, of a slot's means.
	HalfLife float64
	// Mean and Peak per slot and resource.
	Mean, Peak [][NumResources]float32
	// Seen counts the hours folded into each slot (saturating).
	Seen []uint16
}

// Hours is the number of slots of a daily shape; WeekHours of a weekly one.
const (
	Hours     = 24
	WeekHours = 7 * 24
)

// NewSeasonal returns an empty rhythm over a period of 24 or 168 hours.
func NewSeasonal(period time.Duration, halfLife float64) Seasonal {
	n := int(period / time.Hour)
	return Seasonal{Period: period, HalfLife: halfLife, Mean: make([][NumResources]float32, n), Peak: make([][NumResources]float32, n), Seen: make([]uint16, n)}
}

// Slot returns the slot of the hour holding t.
func (s *Seasonal) Slot(t time.Time) int {
	n := len(s.Seen)
	if n == 0 {
		return 0
	}
	// Unix time 0 was a Thursday: shift by 3 days so that slot 0 of a
	// week is Monday 00:00 UTC.
	h := floorDiv(t.Unix(), 3600) + 3*24
	return int(((h % int64(n)) + int64(n)) % int64(n))
}

// Predict returns the slot mean of the hour holding t and whether the slot
// has been seen.
func (s *Seasonal) Predict(t time.Time, r Resource) (float64, bool) {
	i := s.Slot(t)
	if len(s.Seen) == 0 || s.Seen[i] == 0 {
		return 0, false
	}
	return float64(s.Mean[i][r]), true
}

// Fold adds the mean and the peak of the hour holding t.
func (s *Seasonal) Fold(t time.Time, mean, peak [NumResources]float64) {
	if len(s.Seen) == 0 {
		return
	}
	i := s.Slot(t)
	if s.Seen[i] < math.MaxUint16 {
		s.Seen[i]++
	}
	w := math.Max(1/float64(s.Seen[i]), 1-math.Exp2(-1/s.HalfLife))
	for r := range mean {
		s.Mean[i][r] += float32(w * (mean[r] - float64(s.Mean[i][r])))
		s.Peak[i][r] += float32(w * (peak[r] - float64(s.Peak[i][r])))
	}
}

// Factors returns the slot means of resource r relative to their average,
// in thousandths (1000 = the average), with unseen slots at 1000; nil when
// the average is not positive.
func (s *Seasonal) Factors(r Resource) []int32 {
	var sum float64
	var n int
	for i, seen := range s.Seen {
		if seen > 0 {
			sum += float64(s.Mean[i][r])
			n++
		}
	}
	if n == 0 || sum <= 0 {
		return nil
	}
	avg := sum / float64(n)
	out := make([]int32, len(s.Seen))
	for i, seen := range s.Seen {
		out[i] = 1000
		if seen > 0 {
			out[i] = int32(math.Round(float64(s.Mean[i][r]) / avg * 1000))
		}
	}
	return out
}

// fit tracks how well a rhythm predicts each hour against the level, over
// the hours where both predictions exist, as decaying sums of squared
// one-step-ahead errors.
type fit struct {
	// Total is the error of the level (the decaying mean of all hours);
	// Rhythm the error of the slot mean; Daily the error of the daily
	// rhythm over the same hours (kept for the weekly one, to tell
	// whether the week adds anything to the day).
	Total, Rhythm, Daily [NumResources]float64
	// Hours is how many hours were scored.
	Hours int
}

func (f *fit) decay(d float64) {
	for r := range f.Total {
		f.Total[r] *= d
		f.Rhythm[r] *= d
		f.Daily[r] *= d
	}
}

// Strength is the share of the squared error of predicting each hour by
// the level that the rhythm removes, 1 − Σ(x−slot)²/Σ(x−level)², in [0, 1]:
// 1 for a pure rhythm, about 0 where there is none.
func (f *fit) strength(r Resource) float64 {
	if f.Total[r] <= 0 {
		return 0
	}
	return math.Min(math.Max(1-f.Rhythm[r]/f.Total[r], 0), 1)
}

// Shapes are a profile's daily and weekly rhythms.
type Shapes struct {
	Daily, Weekly Seasonal
	// Level is the decaying mean of the hourly means (half-life a week of
	// hours), LevelSeen whether it has one.
	Level     [NumResources]float64
	LevelSeen bool
	// DailyFit and WeeklyFit score the rhythms.
	DailyFit, WeeklyFit fit
	// Hour accumulates the samples of the current hour.
	HourStart time.Time
	HourSum   [NumResources]float64
	HourMax   [NumResources]float64
	HourCount int
}

// The detection rule of a rhythm, documented in docs/nodeagent.md.
const (
	// MinShapeStrength is the least strength of a published rhythm.
	MinShapeStrength = 0.3
	// A rhythm needs a whole period scored: a daily one two days of
	// history, a weekly one two weeks.
	minDailyHours  = Hours
	minWeeklyHours = WeekHours
	// WeeklyGain: a weekly rhythm is published only where its error is
	// at most this share of the daily rhythm's over the same hours (it
	// tells more than the day does: weekends, a weekly batch).
	WeeklyGain = 0.8
	// errHalfLife is the half-life of the fit's sums, in hours.
	errHalfLife = WeekHours
)

// NewShapes returns empty rhythms: daily slot means with a half-life of 7
// days, weekly ones with a half-life of 3 weeks.
func NewShapes() Shapes {
	return Shapes{Daily: NewSeasonal(24*time.Hour, 7), Weekly: NewSeasonal(7*24*time.Hour, 3)}
}

// Add accumulates a sample (or a whole slot of count samples with mean v
// and maximum mx) into its hour, folding the previous hour first when t is
// in a later one.
func (s *Shapes) Add(t time.Time, v, mx [NumResources]float64, count int) {
	h := t.Truncate(time.Hour)
	if s.HourCount > 0 && h.After(s.HourStart) {
		s.foldHour()
	}
	if s.HourCount > 0 && h.Before(s.HourStart) {
		return // late sample of a folded hour
	}
	if s.HourCount == 0 {
		s.HourStart = h
		s.HourMax = mx
	}
	for r := range v {
		s.HourSum[r] += v[r] * float64(count)
		s.HourMax[r] = math.Max(s.HourMax[r], mx[r])
	}
	s.HourCount += count
}

func (s *Shapes) foldHour() {
	var mean [NumResources]float64
	for r := range mean {
		mean[r] = s.HourSum[r] / float64(s.HourCount)
	}
	t := s.HourStart
	if s.LevelSeen {
		s.DailyFit.decay(math.Exp2(-1.0 / errHalfLife))
		s.WeeklyFit.decay(math.Exp2(-1.0 / errHalfLife))
		daily := true
		for r := range mean {
			d, ok := s.Daily.Predict(t, Resource(r))
			if !ok {
				daily = false
				break
			}
			e, l := mean[r]-d, mean[r]-s.Level[r]
			s.DailyFit.Total[r] += l * l
			s.DailyFit.Rhythm[r] += e * e
			if w, ok := s.Weekly.Predict(t, Resource(r)); ok {
				ew := mean[r] - w
				s.WeeklyFit.Total[r] += l * l
				s.WeeklyFit.Rhythm[r] += ew * ew
				s.WeeklyFit.Daily[r] += e * e
				if r == 0 {
					s.WeeklyFit.Hours++
				}
			}
		}
		if daily {
			s.DailyFit.Hours++
		}
	}
	a := 1 - math.Exp2(-1.0/errHalfLife)
	if !s.LevelSeen {
		a, s.LevelSeen = 1, true
	}
	for r := range mean {
		s.Level[r] += a * (mean[r] - s.Level[r])
	}
	s.Daily.Fold(t, mean, s.HourMax)
	s.Weekly.Fold(t, mean, s.HourMax)
	s.HourSum, s.HourMax, s.HourCount = [NumResources]float64{}, [NumResources]float64{}, 0
}

// Shape is a detected rhythm of one resource.
type Shape struct {
	Resource Resource
	// Period is 24 h or a week; Factors has one entry per hour of it.
	Period   time.Duration
	Factors  []int32
	Strength float64
}

// Detected returns the daily and the weekly rhythms that pass the
// detection rule, per resource.
func (s *Shapes) Detected() (daily, weekly []Shape) {
	for r := Resource(0); r < NumResources; r++ {
		if s.DailyFit.Hours >= minDailyHours {
			if st := s.DailyFit.strength(r); st >= MinShapeStrength {
				if f := s.Daily.Factors(r); f != nil {
					daily = append(daily, Shape{Resource: r, Period: s.Daily.Period, Factors: f, Strength: st})
				}
			}
		}
		if s.WeeklyFit.Hours >= minWeeklyHours && s.WeeklyFit.Rhythm[r] < WeeklyGain*s.WeeklyFit.Daily[r] {
			if st := s.WeeklyFit.strength(r); st >= MinShapeStrength {
				if f := s.Weekly.Factors(r); f != nil {
					weekly = append(weekly, Shape{Resource: r, Period: s.Weekly.Period, Factors: f, Strength: st})
				}
			}
		}
	}
	return daily, weekly
}
