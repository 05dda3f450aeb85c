package forecast

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Errors returned for bad input. They are wrapped with context; test with
// errors.Is.
var (
	// ErrInvalidStep means a series' step is not positive.
	ErrInvalidStep = errors.New("step must be positive")
	// ErrNegative means a value is negative: resource usage never is.
	ErrNegative = errors.New("negative value")
	// ErrInfinite means a value is infinite.
	ErrInfinite = errors.New("infinite value")
	// ErrTooShort means there is not enough (non-gap) history to fit.
	ErrTooShort = errors.New("history too short")
	// ErrNotFitted means Forecast or Observe was called before Fit.
	ErrNotFitted = errors.New("model not fitted")
	// ErrBadArgument means an argument (horizon, level, quantile…) is out of range.
	ErrBadArgument = errors.New("bad argument")
)

// Series is a regularly sampled series: Values[i] was measured at
// Start + i*Step. NaN marks a gap (a missing sample).
type Series struct {
	Start  time.Time
	Step   time.Duration
	Values []float64
}

// Len returns the number of samples, gaps included.
func (s Series) Len() int { return len(s.Values) }

// End returns the time of the sample after the last one, where a forecast
// of this series starts.
func (s Series) End() time.Time { return s.Start.Add(time.Duration(len(s.Values)) * s.Step) }

// Time returns the time of sample i.
func (s Series) Time(i int) time.Time { return s.Start.Add(time.Duration(i) * s.Step) }

// Index returns the index of the sample at or before t, which may be out of
// range.
func (s Series) Index(t time.Time) int {
	d := t.Sub(s.Start)
	i := int(d / s.Step)
	if d < 0 && d%s.Step != 0 {
		i--
	}
	return i
}

// Slice returns the samples [i, j) as a new Series sharing Values.
func (s Series) Slice(i, j int) Series {
	i = max(0, min(i, len(s.Values)))
	j = max(i, min(j, len(s.Values)))
	return Series{Start: s.Time(i), Step: s.Step, Values: s.Values[i:j]}
}

// Validate checks that the step is positive and that every value is either a
// gap (NaN) or a finite non-negative number.
func (s Series) Validate() error {
	if s.Step <= 0 {
		return fmt.Errorf("series: %w (got %v)", ErrInvalidStep, s.Step)
	}
	for i, v := range s.Values {
		if err := checkValue(v); err != nil {
			return fmt.Errorf("series: sample %d at %s: %w", i, s.Time(i).UTC().Format(time.RFC3339), err)
		}
	}
	return nil
}

func checkValue(v float64) error {
	switch {
	case math.IsNaN(v):
		return nil
	case math.IsInf(v, 0):
		return fmt.Errorf("%w: %v", ErrInfinite, v)
	case v < 0:
		return fmt.Errorf("%w: %v", ErrNegative, v)
	}
	return nil
}

// Observed returns the number of non-gap samples.
func (s Series) Observed() int {
	n := 0
	for _, v := range s.Values {
		if !math.IsNaN(v) {
			n++
		}
	}
	return n
}

// Sample is one irregular measurement.
type Sample struct {
	Time  time.Time
	Value float64
}

// Regularize puts irregular samples onto a grid of the given step starting
// at start (or at the first sample, floored to the step, if start is zero).
// Samples falling in the same cell are averaged; empty cells become gaps.
// Samples with NaN, infinite or negative values are dropped and counted in
// dropped.
func Regularize(samples []Sample, start time.Time, step time.Duration) (s Series, dropped int, err error) {
	if step <= 0 {
		return Series{}, 0, fmt.Errorf("regularize: %w (got %v)", ErrInvalidStep, step)
	}
	ok := make([]Sample, 0, len(samples))
	for _, x := range samples {
		if checkValue(x.Value) != nil || math.IsNaN(x.Value) {
			dropped++
			continue
		}
		ok = append(ok, x)
	}
	if len(ok) == 0 {
		return Series{Start: start, Step: step}, dropped, nil
	}
	sort.SliceStable(ok, func(i, j int) bool { return ok[i].Time.Before(ok[j].Time) })
	if start.IsZero() {
		start = ok[0].Time.Truncate(step)
	}
	last := ok[len(ok)-1].Time
	n := int(last.Sub(start)/step) + 1
	if n <= 0 {
		return Series{Start: start, Step: step}, dropped + len(ok), nil
	}
	sum := make([]float64, n)
	cnt := make([]int, n)
	for _, x := range ok {
		d := x.Time.Sub(start)
		if d < 0 {
			dropped++
			continue
		}
		i := int(d / step)
		sum[i] += x.Value
		cnt[i]++
	}
	for i := range sum {
		if cnt[i] == 0 {
			sum[i] = math.NaN()
		} else {
			sum[i] /= float64(cnt[i])
		}
	}
	return Series{Start: start, Step: step, Values: sum}, dropped, nil
}

// filled returns a copy of x with gaps filled by linear interpolation
// between neighbours (and by the nearest value at the ends). It returns nil
// if x has no observed value.
func filled(x []float64) []float64 {
	out := make([]float64, len(x))
	prev := -1
	for i, v := range x {
		if math.IsNaN(v) {
			continue
		}
		out[i] = v
		if prev == -1 {
			for j := 0; j < i; j++ {
				out[j] = v
			}
		} else if i-prev > 1 {
			a, b := out[prev], v
			for j := prev + 1; j < i; j++ {
				f := float64(j-prev) / float64(i-prev)
				out[j] = a + f*(b-a)
			}
		}
		prev = i
	}
	if prev == -1 {
		return nil
	}
	for j := prev + 1; j < len(x); j++ {
		out[j] = out[prev]
	}
	return out
}
