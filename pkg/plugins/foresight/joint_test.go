package foresight

import (
	"math"
	"testing"

	"github.com/foresight-dev/foresight/pkg/demand"
)

// shaped returns a member whose CPU runs at hi (per mille of its mean)
// during hours [from, to) and lo otherwise.
func shaped(upper, expected int64, from, to int, hi, lo int32) memberDemand {
	var d [2][demand.Hours]int32
	for h := range demand.Hours {
		d[0][h], d[1][h] = lo, 1000
		if h >= from && h < to {
			d[0][h] = hi
		}
	}
	return memberDemand{Upper: demand.Vector{upper, 1 << 30}, Expected: demand.Vector{expected, 1 << 30}, Daily: &d}
}

func TestJointDemand(t *testing.T) {
	flat := memberDemand{Upper: demand.Vector{1000, 4 << 30}, Expected: demand.Vector{400, 2 << 30}}
	tests := []struct {
		name    string
		members []memberDemand
		wantCPU int64
	}{
		{name: "one member: its upper", members: []memberDemand{flat}, wantCPU: 1000},
		// 2·400 + sqrt(2)·600 = 800 + 848.5 → 1649 < 2000.
		{name: "two independent flat members pool their spread", members: []memberDemand{flat, flat}, wantCPU: 1649},
		// Both peak 09–17 at 2× a mean of 400: shaped peak 1600, spreads 200 → 1600 + 283 = 1883.
		{name: "aligned daily shapes", members: []memberDemand{shaped(1000, 400, 9, 17, 2000, 0), shaped(1000, 400, 9, 17, 2000, 0)}, wantCPU: 1883},
		// Day and night: the busiest hour holds one peak (800) and one trough (0) → 800 + 283.
		{name: "complementary daily shapes", members: []memberDemand{shaped(1000, 400, 9, 17, 2000, 0), shaped(1000, 400, 0, 8, 2000, 0)}, wantCPU: 1083},
		{name: "not overcommitted: the sum of uppers", members: []memberDemand{newMemberDemand(demand.Prediction{Upper: demand.Vector{1000, 1}, Expected: demand.Vector{400, 1}}, false), newMemberDemand(demand.Prediction{Upper: demand.Vector{1000, 1}, Expected: demand.Vector{400, 1}}, false)}, wantCPU: 2000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a aggregate
			for i := range tc.members {
				a.add(&tc.members[i], 1)
			}
			if got := a.joint(nil)[demand.CPU]; got != tc.wantCPU {
				t.Errorf("joint CPU = %d, want %d", got, tc.wantCPU)
			}
			// Adding through joint(m) agrees with add(m).
			last := tc.members[len(tc.members)-1]
			a.add(&last, -1)
			if got := a.joint(&last)[demand.CPU]; got != tc.wantCPU {
				t.Errorf("joint(m) CPU = %d, want %d", got, tc.wantCPU)
			}
			// Removing every member leaves nothing.
			for i := range tc.members[:len(tc.members)-1] {
				a.add(&tc.members[i], -1)
			}
			if a.joint(nil) != (demand.Vector{}) {
				t.Errorf("after removing every member joint = %v", a.joint(nil))
			}
		})
	}
}

func TestExceedProbabilityAndRisk(t *testing.T) {
	m := memberDemand{Upper: demand.Vector{1000, 0}, Expected: demand.Vector{400, 0}}
	var a aggregate
	conf := 0.99
	// Sized exactly at the upper, the chance of exceeding is 1 − confidence.
	if p := a.exceedProbability(demand.Vector{1000, 0}, &m, normalQuantile(conf)); math.Abs(p-0.01) > 1e-6 {
		t.Errorf("at the upper: p = %g, want 0.01", p)
	}
	if s := riskScore(a.exceedProbability(demand.Vector{1000, 0}, &m, normalQuantile(conf)), conf); s != 0 {
		t.Errorf("risk score at the bound = %d, want 0", s)
	}
	if s := riskScore(a.exceedProbability(demand.Vector{2000, 0}, &m, normalQuantile(conf)), conf); s != maxScore {
		t.Errorf("risk score with ample room = %d, want %d", s, maxScore)
	}
	mid := riskScore(a.exceedProbability(demand.Vector{1100, 0}, &m, normalQuantile(conf)), conf)
	if mid <= 0 || mid >= maxScore {
		t.Errorf("risk score with some room = %d, want strictly between 0 and %d", mid, maxScore)
	}
	if p := a.exceedProbability(demand.Vector{300, 0}, &memberDemand{Upper: demand.Vector{400, 0}, Expected: demand.Vector{400, 0}}, normalQuantile(conf)); p != 1 {
		t.Errorf("certain demand above the size: p = %g, want 1", p)
	}
}
