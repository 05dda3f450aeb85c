package simulate

import foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"

// PoolSizes are node counts of the three pools.
type PoolSizes struct {
	Fixed, Dedicated, MaxVariable int
}

// SuggestPools sizes the pools from what is known before the replay
// starts, the same for every policy: the fixed pool holds half the
// history's static lower bound (capacity owned for the base load, at
// least one node), the dedicated pool the critical workloads' requests by
// first-fit decreasing (they are never overcommitted), and the variable
// pool may grow to what every workload's requests need (so that the
// requests-based policies can place every pod).
func SuggestPools(tr *Trace, start int, nodeCPU, nodeMem int64) PoolSizes {
	var critical, all [][2]int64
	for _, p := range tr.Pods {
		r := [2]int64{p.CPURequest, p.MemoryRequest}
		all = append(all, r)
		if p.Class == foresightv1alpha1.SLAClassCritical {
			critical = append(critical, r)
		}
	}
	sizes := PoolSizes{Fixed: 1, Dedicated: binsFor(critical, nodeCPU, nodeMem), MaxVariable: binsFor(all, nodeCPU, nodeMem)}
	if start > 0 {
		h := computeBounds(prepare(tr), 0, start, nodeCPU, nodeMem)
		sizes.Fixed = max(1, h.StaticNodes/2)
	}
	return sizes
}
