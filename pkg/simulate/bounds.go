package simulate

import (
	"math"
	"sort"
)

// Bounds are what every policy is measured against, computed from the
// replayed part of the trace alone (they know the future, no policy does).
// Node counts are fluid: demand is divided by the node size and rounded up,
// as if pods could be split across nodes, so every count is a lower bound
// of its kind. Demand is CPU and memory; a step needs the larger of the two
// counts.
type Bounds struct {
	// NodeCPU (millicores) and NodeMemory (bytes) are the node size used.
	NodeCPU, NodeMemory int64
	// Hours replayed.
	Hours float64
	// PeakCPU and PeakMemory are the peaks over time of the aggregate
	// demand; StaticNodes packs the busiest step (its node count) — the
	// static lower bound: the least a cluster of fixed size needs.
	PeakCPU, PeakMemory float64
	StaticNodes         int
	StaticNodeHours     float64
	// SumPeakCPU and SumPeakMemory add up every pod's own peak;
	// SumOfPeaksNodes packs them: what sizing each pod for its peak needs.
	SumPeakCPU, SumPeakMemory float64
	SumOfPeaksNodes           int
	SumOfPeaksNodeHours       float64
	// OracleNodes packs the aggregate demand anew at every step, the
	// dynamic oracle; OracleNodeHours is its total.
	OracleNodes     []int
	OracleNodeHours float64
}

// nodesFor is the fluid node count for a demand.
func nodesFor(cpu, mem float64, nodeCPU, nodeMem int64) int {
	return int(math.Ceil(math.Max(cpu/float64(nodeCPU), mem/float64(nodeMem)) - 1e-9))
}

// computeBounds computes the bounds of steps [start, end) for nodes of the
// given size. A pod counts from its first to its last sample.
func computeBounds(s *series, start, end int, nodeCPU, nodeMem int64) Bounds {
	b := Bounds{NodeCPU: nodeCPU, NodeMemory: nodeMem, OracleNodes: make([]int, end-start)}
	stepHours := s.tr.Step.Hours()
	b.Hours = float64(end-start) * stepHours
	peakCPU, peakMem := make([]float64, len(s.cpu)), make([]float64, len(s.cpu))
	for t := start; t < end; t++ {
		var cpu, mem float64
		for i := range s.cpu {
			if t < s.first[i] || t > s.last[i] {
				continue
			}
			c, m := s.cpu[i][t], s.mem[i][t]
			cpu += c
			mem += m
			peakCPU[i], peakMem[i] = math.Max(peakCPU[i], c), math.Max(peakMem[i], m)
		}
		b.PeakCPU, b.PeakMemory = math.Max(b.PeakCPU, cpu), math.Max(b.PeakMemory, mem)
		n := nodesFor(cpu, mem, nodeCPU, nodeMem)
		b.OracleNodes[t-start] = n
		b.OracleNodeHours += float64(n) * stepHours
		b.StaticNodes = max(b.StaticNodes, n)
	}
	for i := range peakCPU {
		b.SumPeakCPU += peakCPU[i]
		b.SumPeakMemory += peakMem[i]
	}
	b.StaticNodeHours = float64(b.StaticNodes) * b.Hours
	b.SumOfPeaksNodes = nodesFor(b.SumPeakCPU, b.SumPeakMemory, nodeCPU, nodeMem)
	b.SumOfPeaksNodeHours = float64(b.SumOfPeaksNodes) * b.Hours
	return b
}

// binsFor is the number of empty nodes of the given size that a set of
// requests needs by first-fit decreasing (CPU, then memory); requests
// larger than a node are left out.
func binsFor(reqs [][2]int64, nodeCPU, nodeMem int64) int {
	sorted := make([][2]int64, 0, len(reqs))
	for _, r := range reqs {
		if r[0] <= nodeCPU && r[1] <= nodeMem {
			sorted = append(sorted, r)
		}
	}
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i][0] != sorted[j][0] {
			return sorted[i][0] > sorted[j][0]
		}
		return sorted[i][1] > sorted[j][1]
	})
	var bins [][2]int64 // free room
	for _, r := range sorted {
		placed := false
		for k := range bins {
			if bins[k][0] >= r[0] && bins[k][1] >= r[1] {
				bins[k][0] -= r[0]
				bins[k][1] -= r[1]
				placed = true
				break
			}
		}
		if !placed {
			bins = append(bins, [2]int64{nodeCPU - r[0], nodeMem - r[1]})
		}
	}
	return len(bins)
}
