package foresight

import (
	"testing"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
)

func TestCostScore(t *testing.T) {
	fixed, variable, dedicated := foresightv1alpha1.PoolTierFixed, foresightv1alpha1.PoolTierVariable, foresightv1alpha1.PoolTierDedicated
	// The order the design asks for, best first.
	nonCritical := []nodeCost{{Tier: fixed}, {Tier: variable, Busy: true}, {Tier: ""}, {Tier: variable}}
	critical := []nodeCost{{Tier: dedicated}, {Tier: fixed}, {Tier: variable, Busy: true}, {Tier: ""}, {Tier: variable}}
	for name, tc := range map[string]struct {
		order    []nodeCost
		critical bool
	}{"non-critical": {nonCritical, false}, "critical": {critical, true}} {
		t.Run(name, func(t *testing.T) {
			for i := 1; i < len(tc.order); i++ {
				a, b := costScore(tc.order[i-1], tc.critical), costScore(tc.order[i], tc.critical)
				if a <= b {
					t.Errorf("costScore(%+v)=%d should beat costScore(%+v)=%d", tc.order[i-1], a, tc.order[i], b)
				}
			}
			for _, c := range tc.order {
				if s := costScore(c, tc.critical); s < 0 || s > maxScore {
					t.Errorf("costScore(%+v)=%d outside [0, %d]", c, s, maxScore)
				}
			}
		})
	}
	if got := costScore(nodeCost{Tier: dedicated}, false); got != 0 {
		t.Errorf("dedicated capacity for a non-critical pod scores %d, want 0", got)
	}
}

func TestUtilizationScore(t *testing.T) {
	tests := []struct {
		name                               string
		reqCPU, allocCPU, reqMem, allocMem int64
		want                               int64
	}{
		{name: "empty", reqCPU: 0, allocCPU: 4000, reqMem: 0, allocMem: 16 << 30, want: 0},
		{name: "half CPU, quarter memory", reqCPU: 2000, allocCPU: 4000, reqMem: 4 << 30, allocMem: 16 << 30, want: 37}, // (0.5+0.25)/2 = 0.375
		{name: "full", reqCPU: 4000, allocCPU: 4000, reqMem: 16 << 30, allocMem: 16 << 30, want: 100},
		{name: "over capacity counts as full", reqCPU: 8000, allocCPU: 4000, reqMem: 16 << 30, allocMem: 16 << 30, want: 100},
		{name: "no memory allocatable: CPU only", reqCPU: 1000, allocCPU: 4000, reqMem: 1, allocMem: 0, want: 25},
		{name: "nothing allocatable", want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := utilizationScore(tc.reqCPU, tc.allocCPU, tc.reqMem, tc.allocMem); got != tc.want {
				t.Errorf("utilizationScore() = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestWeighted(t *testing.T) {
	// (100·4 + 50·3) / 7 = 78.57 → 78
	if got := weighted([2]int64{100, 4}, [2]int64{50, 3}); got != 78 {
		t.Errorf("weighted() = %d, want 78", got)
	}
	if got := weighted([2]int64{100, 0}); got != 0 {
		t.Errorf("weighted() with zero weights = %d, want 0", got)
	}
}

func TestConfidenceScore(t *testing.T) {
	alloc := demand.Vector{4000, 8 << 30}
	limit := demand.Vector{6000, 12 << 30} // 150%
	tests := []struct {
		name     string
		trust    float64
		original demand.Vector
		want     int64
	}{
		{"trusted prediction, full overcommit", 0.9, limit, 90},
		{"guess on a node without overcommit", 0.25, demand.Vector{3000, 4 << 30}, 100},
		{"guess on a node at the limit", 0.25, limit, 25},
		{"guess halfway through the allowance", 0.25, demand.Vector{5000, 8 << 30}, 63},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := confidenceScore(tc.trust, overcommitUsed(tc.original, alloc, limit)); got != tc.want {
				t.Errorf("confidenceScore = %d, want %d", got, tc.want)
			}
		})
	}
	if u := overcommitUsed(demand.Vector{5000, 0}, alloc, alloc); u != 1 {
		t.Errorf("beyond allocatable in a pool without overcommit: used = %g, want 1", u)
	}
}
