package foresight

import (
	"math"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
)

// maxScore is the score of the best node; it equals the scheduler's
// MaxNodeScore, repeated here so that this file stays free of framework
// imports.
const maxScore = 100

// nodeCost describes what placing a pod on a node costs.
type nodeCost struct {
	// Tier of the node's pool; empty when the node is in no pool.
	Tier foresightv1alpha1.PoolTier
	// Busy is true when the node already runs pods, so that using it does
	// not keep an otherwise idle node alive.
	Busy bool
}

// costScore rates, from 0 to maxScore, how cheap the capacity of a node is
// for a pod: fixed capacity is already paid for and comes first; variable
// capacity comes next, on nodes that are busy anyway before idle ones that
// could be given back; dedicated capacity is for critical pods and is their
// first choice. A node outside every pool has an unknown cost and ranks
// between busy and idle variable nodes.
func costScore(c nodeCost, critical bool) int64 {
	switch c.Tier {
	case foresightv1alpha1.PoolTierDedicated:
		if critical {
			return maxScore
		}
		return 0
	case foresightv1alpha1.PoolTierFixed:
		if critical {
			return 70
		}
		return maxScore
	case foresightv1alpha1.PoolTierVariable:
		if c.Busy {
			return 60
		}
		return 20
	default:
		return 40
	}
}

// utilizationScore rates, from 0 to maxScore, how full a node would be
// after the placement: the mean over CPU and memory of requested divided
// by allocatable, so that pods pack onto capacity already in use.
// Resources a node does not have are left out.
func utilizationScore(requestedCPU, allocatableCPU, requestedMemory, allocatableMemory int64) int64 {
	var sum float64
	var n int
	for _, r := range [][2]int64{{requestedCPU, allocatableCPU}, {requestedMemory, allocatableMemory}} {
		if r[1] <= 0 {
			continue
		}
		f := float64(r[0]) / float64(r[1])
		if f > 1 {
			f = 1
		}
		sum += f
		n++
	}
	if n == 0 {
		return 0
	}
	return int64(sum / float64(n) * maxScore)
}

// weighted combines terms in [0, maxScore] by their weights; weights must
// not all be zero.
func weighted(terms ...[2]int64) int64 {
	var num, den int64
	for _, t := range terms {
		num += t[0] * t[1]
		den += t[1]
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// sourceConfidence is how much a prediction from each source is trusted,
// in [0, 1]: forecasts are back-tested, profiles are measured, requests
// are what users guessed, the default is a guess of ours.
func sourceConfidence(s demand.Source) float64 {
	switch s {
	case demand.SourceForecast:
		return 0.9
	case demand.SourceProfile:
		return 0.75
	case demand.SourceRequests:
		return 0.5
	default:
		return 0.25
	}
}

// confidenceScore rates, from 0 to maxScore, how well a node suits a pod
// given how much its prediction can be trusted: a trusted prediction may
// go anywhere, an untrusted one prefers nodes whose pool overcommit
// allowance is little used (overcommitUsed in [0, 1] after the placement),
// so that a wrong guess hurts where there is slack.
func confidenceScore(trust, overcommitUsed float64) int64 {
	trust = min(max(trust, 0), 1)
	overcommitUsed = min(max(overcommitUsed, 0), 1)
	return int64(math.Round((trust + (1-trust)*(1-overcommitUsed)) * maxScore))
}

// overcommitUsed is how much of a node's overcommit allowance its
// original requests use, in [0, 1]: 0 while they fit its allocatable, 1
// at the pool's limit; the larger of CPU and memory.
func overcommitUsed(original, allocatable, limit demand.Vector) float64 {
	used := 0.0
	for _, r := range []int{demand.CPU, demand.Memory} {
		allowance := limit[r] - allocatable[r]
		over := original[r] - allocatable[r]
		switch {
		case over <= 0:
		case allowance <= 0:
			used = 1
		default:
			used = max(used, float64(over)/float64(allowance))
		}
	}
	return min(used, 1)
}
