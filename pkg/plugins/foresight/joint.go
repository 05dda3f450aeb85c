package foresight

// This file predicts the joint demand of a partition's members, as pure
// maths: no framework imports, no I/O.
//
// Each member i has an expected demand E_i following a daily shape s_i(h)
// (hour h, 1 = the mean) and an upper demand U_i at the partition's
// confidence. What exceeds the shaped expectation, r_i = U_i − E_i·max s_i,
// is the member's random spread at that confidence. Members' spreads are
// taken as independent, so they add in quadrature, while their shapes add
// hour by hour: the joint demand is
//
//	J = max_h Σ E_i·s_i(h) + sqrt(Σ r_i²),
//
// never more than Σ U_i (members that peak together get no pooling gain
// from their shapes) and exactly U for a single member.

import (
	"math"

	"github.com/foresight-dev/foresight/pkg/demand"
)

// memberDemand is one pod's predicted demand as the joint maths needs it.
type memberDemand struct {
	Upper, Expected demand.Vector
	// Daily is the CPU and memory shape in thousandths; nil when flat.
	Daily *[2][demand.Hours]int32
}

// newMemberDemand builds a member's demand from its prediction. Pods that
// may not be overcommitted count with their upper demand and no spread, so
// that their partition reserves the sum of their uppers.
func newMemberDemand(p demand.Prediction, overcommit bool) memberDemand {
	if !overcommit {
		return memberDemand{Upper: p.Upper, Expected: p.Upper}
	}
	return memberDemand{Upper: p.Upper, Expected: p.Expected.Min(p.Upper), Daily: p.Daily}
}

// factor returns the member's shape factor for resource r at hour h.
func (m *memberDemand) factor(r, h int) int64 {
	if m.Daily == nil || r > demand.Memory {
		return 1000
	}
	return int64(m.Daily[r][h])
}

// peakFactor is the largest factor of the member's shape for resource r.
func (m *memberDemand) peakFactor(r int) int64 {
	if m.Daily == nil || r > demand.Memory {
		return 1000
	}
	best := int64(0)
	for h := range demand.Hours {
		best = max(best, int64(m.Daily[r][h]))
	}
	return best
}

// spread is the member's demand above its shaped expectation.
func (m *memberDemand) spread(r int) float64 {
	return float64(max(0, m.Upper[r]-m.Expected[r]*m.peakFactor(r)/1000))
}

// aggregate sums the members of a partition so that the joint demand
// with or without one more member is computed in constant time.
type aggregate struct {
	// expected and upper are Σ E_i and Σ U_i.
	expected, upper demand.Vector
	// spreadSq is Σ r_i².
	spreadSq [demand.NumResources]float64
	members  int
	// shaped counts the members with a daily shape: while none has one,
	// the busiest hour is any hour and meanPeak is a sum.
	shaped int
	// hourly is Σ E_i·s_i(h) for CPU and memory. It comes last: it is
	// read only while a member has a shape, and Filter reads the fields
	// above for every partition of a node it visits.
	hourly [2][demand.Hours]int64
}

// add adds (sign 1) or removes (sign -1) a member.
func (a *aggregate) add(m *memberDemand, sign int64) {
	for r := range 2 {
		for h := range demand.Hours {
			a.hourly[r][h] += sign * m.Expected[r] * m.factor(r, h) / 1000
		}
	}
	for r := range demand.NumResources {
		a.expected[r] += sign * m.Expected[r]
		a.upper[r] += sign * m.Upper[r]
		s := m.spread(r)
		a.spreadSq[r] = max(0, a.spreadSq[r]+float64(sign)*s*s)
	}
	a.members += int(sign)
	if m.Daily != nil {
		a.shaped += int(sign)
	}
	if a.members <= 0 {
		*a = aggregate{}
	}
}

// meanPeak is the largest hourly expected demand of resource r, with m
// added when it is not nil.
func (a *aggregate) meanPeak(r int, m *memberDemand) int64 {
	if r > demand.Memory || (a.shaped == 0 && (m == nil || m.Daily == nil)) {
		v := a.expected[r]
		if m != nil {
			v += m.Expected[r]
		}
		return v
	}
	best := int64(0)
	for h := range demand.Hours {
		v := a.hourly[r][h]
		if m != nil {
			v += m.Expected[r] * m.factor(r, h) / 1000
		}
		best = max(best, v)
	}
	return best
}

// sigmaSq is Σ r_i², with m added when it is not nil.
func (a *aggregate) sigmaSq(r int, m *memberDemand) float64 {
	v := a.spreadSq[r]
	if m != nil {
		s := m.spread(r)
		v += s * s
	}
	return v
}

// joint is the members' joint demand, with m added when it is not nil.
func (a *aggregate) joint(m *memberDemand) demand.Vector {
	var j demand.Vector
	for r := range demand.NumResources {
		upper := a.upper[r]
		if m != nil {
			upper += m.Upper[r]
		}
		v := a.meanPeak(r, m) + int64(math.Ceil(math.Sqrt(a.sigmaSq(r, m))))
		j[r] = min(v, upper)
	}
	return j
}

// exceedProbability estimates the probability that the members' joint
// demand (m included when not nil) exceeds size in CPU or memory at the
// busiest hour of the day, taking spreads as normal with r_i at the
// quantile of the confidence, z (normalQuantile of the confidence).
func (a *aggregate) exceedProbability(size demand.Vector, m *memberDemand, z float64) float64 {
	worst := 0.0
	for r := range 2 {
		if size[r] <= 0 {
			continue
		}
		margin := float64(size[r] - a.meanPeak(r, m))
		sigma := math.Sqrt(a.sigmaSq(r, m)) / z
		var p float64
		switch {
		case sigma <= 0 && margin >= 0:
			p = 0
		case sigma <= 0:
			p = 1
		default:
			p = normalSurvival(margin / sigma)
		}
		worst = max(worst, p)
	}
	return worst
}

// riskScore rates, from 0 to maxScore, how safely a partition of the
// given size holds its members: maxScore when the chance of exceeding it
// is nil, 0 when it is as large as the confidence allows (or larger).
func riskScore(pExceed, confidence float64) int64 {
	allowed := 1 - confidence
	if allowed <= 0 {
		allowed = 1e-6
	}
	f := 1 - pExceed/allowed
	return int64(math.Round(min(1, max(0, f)) * maxScore))
}

// normalSurvival is 1 − Φ(x), the standard normal's upper tail.
func normalSurvival(x float64) float64 { return 0.5 * math.Erfc(x/math.Sqrt2) }

// normalQuantile returns the standard normal quantile of p, at least a
// small positive number so that it can divide.
func normalQuantile(p float64) float64 {
	p = min(max(p, 0.5), 1-1e-9)
	return max(math.Sqrt2*math.Erfinv(2*p-1), 1e-3)
}
