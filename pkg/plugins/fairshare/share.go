package fairshare

import (
	"math"
	"time"
)

// This file is the fair-share maths, free of framework imports.

// usage is an amount of CPU (millicores) and memory (bytes).
type usage struct {
	cpu, memory int64
}

func (u usage) add(o usage) usage { return usage{u.cpu + o.cpu, u.memory + o.memory} }
func (u usage) sub(o usage) usage { return usage{u.cpu - o.cpu, u.memory - o.memory} }

// dominantShare is the larger of a tenant's shares of the cluster's CPU and
// memory (Ghodsi et al., "Dominant Resource Fairness", NSDI 2011), in [0, 1]
// when used fits in capacity. A resource the cluster has none of is left
// out.
func dominantShare(used, capacity usage) float64 {
	var s float64
	if capacity.cpu > 0 {
		s = math.Max(s, float64(used.cpu)/float64(capacity.cpu))
	}
	if capacity.memory > 0 {
		s = math.Max(s, float64(used.memory)/float64(capacity.memory))
	}
	return s
}

// effectiveShare is the share a pending pod is ordered by: its tenant's
// dominant share divided by the tenant's weight, halved for every half-life
// the pod has waited, so that a pod of a heavy tenant eventually comes
// first and nothing starves.
func effectiveShare(share float64, weight int32, waited, halfLife time.Duration) float64 {
	if weight < 1 {
		weight = 1
	}
	s := share / float64(weight)
	if waited > 0 && halfLife > 0 {
		s *= math.Exp2(-waited.Seconds() / halfLife.Seconds())
	}
	return s
}
