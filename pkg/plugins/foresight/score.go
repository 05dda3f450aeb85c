package foresight

import (
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
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
