package forecast

import (
	"fmt"
	"math"
	"time"
)

// Event is a known future change of demand: during [Start, End) demand is
// expected to be value*(1+Change) + Add. Change is relative (0.5 means +50%,
// -1 means down to zero); the zero Event changes nothing.
type Event struct {
	Start, End time.Time
	Change     float64
	Add        float64
}

// Validate checks that the window is not empty and the effect is finite and
// cannot make demand negative by itself.
func (e Event) Validate() error {
	if !e.End.After(e.Start) {
		return fmt.Errorf("event: %w: end %s not after start %s", ErrBadArgument, e.End, e.Start)
	}
	if math.IsNaN(e.Change) || math.IsInf(e.Change, 0) || e.Change < -1 {
		return fmt.Errorf("event: %w: change %v must be finite and >= -1", ErrBadArgument, e.Change)
	}
	if math.IsNaN(e.Add) || math.IsInf(e.Add, 0) {
		return fmt.Errorf("event: %w: add %v must be finite", ErrBadArgument, e.Add)
	}
	return nil
}

// ApplyEvents returns a copy of f with the events folded in: every step
// whose time falls in an event's window has its point and bounds scaled by
// 1+Change and shifted by Add (bounds stay non-negative). Overlapping events
// compose in order.
func ApplyEvents(f Forecast, events []Event) (Forecast, error) {
	for i, e := range events {
		if err := e.Validate(); err != nil {
			return Forecast{}, fmt.Errorf("apply events: event %d: %w", i, err)
		}
	}
	if f.Step <= 0 {
		return Forecast{}, fmt.Errorf("apply events: %w", ErrInvalidStep)
	}
	out := f
	out.Point = append([]float64(nil), f.Point...)
	out.Lower = append([]float64(nil), f.Lower...)
	out.Upper = append([]float64(nil), f.Upper...)
	for _, e := range events {
		for i := range out.Point {
			t := f.Start.Add(time.Duration(i) * f.Step)
			if t.Before(e.Start) || !t.Before(e.End) {
				continue
			}
			k := 1 + e.Change
			out.Point[i] = math.Max(0, out.Point[i]*k+e.Add)
			if i < len(out.Lower) {
				out.Lower[i] = math.Max(0, out.Lower[i]*k+e.Add)
			}
			if i < len(out.Upper) {
				out.Upper[i] = math.Max(0, out.Upper[i]*k+e.Add)
			}
		}
	}
	return out, nil
}

// RemoveEvents undoes known past events in an observed series, so that a
// model does not learn a one-off surge as normal demand: every sample in an
// event's window becomes (value-Add)/(1+Change) (a gap where Change is -1).
func RemoveEvents(s Series, events []Event) (Series, error) {
	if err := s.Validate(); err != nil {
		return Series{}, fmt.Errorf("remove events: %w", err)
	}
	out := s
	out.Values = append([]float64(nil), s.Values...)
	for i, e := range events {
		if err := e.Validate(); err != nil {
			return Series{}, fmt.Errorf("remove events: event %d: %w", i, err)
		}
		for j := max(0, s.Index(e.Start)); j < len(out.Values); j++ {
			t := s.Time(j)
			if t.Before(e.Start) {
				continue
			}
			if !t.Before(e.End) {
				break
			}
			if e.Change == -1 {
				out.Values[j] = math.NaN()
				continue
			}
			out.Values[j] = math.Max(0, (out.Values[j]-e.Add)/(1+e.Change))
		}
	}
	return out, nil
}
