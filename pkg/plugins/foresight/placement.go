package foresight

import "github.com/foresight-dev/foresight/pkg/demand"

// This file is the allocation step of the design, as pure maths over
// vectors: it has no framework imports and no I/O.

// partitionView is a partition of one SLA class on one node, as the
// placement maths sees it.
type partitionView struct {
	// Size is the capacity reserved for the partition.
	Size demand.Vector
	// Demand is its members' predicted joint demand, assumed pods
	// included.
	Demand demand.Vector
	// With is the joint demand if the pod joins.
	With demand.Vector
	// Floor is the least the partition can shrink to (its joint demand
	// without headroom): what it takes of the node's budget when room is
	// short. Zero means Size.
	Floor demand.Vector
}

func (p partitionView) floor() demand.Vector {
	if p.Floor == (demand.Vector{}) {
		return p.Size
	}
	return p.Floor
}

// poolPolicy is how a pool sizes its partitions.
type poolPolicy struct {
	// HeadroomPercent is added to a partition's predicted demand.
	HeadroomPercent int64
	// MinSize, MaxSize and Step bound partition sizes; zero means unbounded
	// (MaxSize) or no rounding (Step).
	MinSize, MaxSize, Step demand.Vector
}

// placementKind says how a pod fits a node.
type placementKind int

const (
	// placeNone: the pod does not fit.
	placeNone placementKind = iota
	// placeExisting: an existing partition has room as it is.
	placeExisting
	// placeGrow: an existing partition grows within the node's budget.
	placeGrow
	// placeNew: a new partition fits within the node's budget.
	placeNew
)

func (k placementKind) String() string {
	switch k {
	case placeExisting:
		return "existing"
	case placeGrow:
		return "grow"
	case placeNew:
		return "new"
	default:
		return "none"
	}
}

// placement is where a pod goes on a node.
type placement struct {
	Kind placementKind
	// Partition is the index of the partition used, -1 for a new one.
	Partition int
	// Size is the partition's size once the pod is in it.
	Size demand.Vector
	// Demand is the partition's predicted demand once the pod is in it.
	Demand demand.Vector
	// Allocated is the sum of the node's partition sizes after the
	// placement, and Budget what the node has for partitions.
	Allocated, Budget demand.Vector
}

// Reasons a pod does not fit a node.
const (
	ReasonTooLargeForPartitions = "pod's predicted demand exceeds the pool's maximum partition size"
	ReasonPoolBudget            = "no partition of the pod's class has room and the node's pool budget is used up"
)

// sizeFor is the partition size for a predicted demand: the demand plus
// headroom, rounded up to the step, at least the minimum size.
func sizeFor(d demand.Vector, pol poolPolicy) demand.Vector {
	var s demand.Vector
	for i := range d {
		v := d[i] + d[i]*pol.HeadroomPercent/100
		if st := pol.Step[i]; st > 0 && v%st != 0 {
			v += st - v%st
		}
		s[i] = max(v, pol.MinSize[i])
	}
	return s
}

// place finds room on a node for a pod with predicted demand d, among the
// node's partitions of the pod's class (others is the sum of the sizes of
// the node's partitions of other classes, limit what the node has for
// partitions): the existing partition it fits best without growing, else
// the one that grows least within the limit, else a new partition within
// the limit. It returns the reason when the pod does not fit.
//
// Budgets count partitions at their floor: headroom gives way to pods, and
// the caller shrinks partitions whose headroom a placement takes.
func place(d demand.Vector, partitions []partitionView, others, limit demand.Vector, pol poolPolicy) (placement, string) {
	allocated := others
	for _, p := range partitions {
		allocated = allocated.Add(p.floor())
	}
	best := placement{Kind: placeNone, Partition: -1, Budget: limit}

	// An existing partition with room: the tightest fit keeps the others'
	// room for larger pods.
	bestSlack := int64(-1)
	for i, p := range partitions {
		after := p.With
		if !after.FitsIn(p.Size) {
			continue
		}
		if s := slack(p.Size, after, limit); bestSlack < 0 || s < bestSlack {
			bestSlack = s
			best = placement{Kind: placeExisting, Partition: i, Size: p.Size, Demand: after, Allocated: allocated, Budget: limit}
		}
	}
	if best.Kind != placeNone {
		return best, ""
	}

	tooLarge := false
	bestGrowth := int64(-1)
	for i, p := range partitions {
		after := p.With
		if !sizeFor(after, pol).Max(p.Size).FitsIn(pol.MaxSize) {
			tooLarge = true
			continue
		}
		size, ok := fitSize(after, p.Size, allocated.Sub(p.floor()), limit, pol)
		if !ok {
			continue
		}
		total := allocated.Sub(p.floor()).Add(size)
		if g := slack(size, p.Size, limit); bestGrowth < 0 || g < bestGrowth {
			bestGrowth = g
			best = placement{Kind: placeGrow, Partition: i, Size: size, Demand: after, Allocated: total, Budget: limit}
		}
	}
	if best.Kind != placeNone {
		return best, ""
	}

	if !sizeFor(d, pol).FitsIn(pol.MaxSize) {
		return best, ReasonTooLargeForPartitions
	}
	if size, ok := fitSize(d, demand.Vector{}, allocated, limit, pol); ok {
		return placement{Kind: placeNew, Partition: -1, Size: size, Demand: d, Allocated: allocated.Add(size), Budget: limit}, ""
	}
	if tooLarge && len(partitions) > 0 {
		return best, ReasonTooLargeForPartitions
	}
	return best, ReasonPoolBudget
}

// fitSize is the size of a partition that must hold the joint demand
// after, is at least current, and shares the node's limit with others:
// the pool's size for the demand (headroom, step, minimum) when it fits,
// else as much of it as fits, as long as the bare demand does. Headroom is
// a cushion, not a reason to leave a pod pending on a node with room.
func fitSize(after, current, others, limit demand.Vector, pol poolPolicy) (demand.Vector, bool) {
	ideal := sizeFor(after, pol).Max(current)
	if withinBudget(others.Add(ideal), limit) {
		return ideal, true
	}
	bare := after.Max(current)
	if !withinBudget(others.Add(bare), limit) {
		return demand.Vector{}, false
	}
	room := limit.Sub(others)
	size := ideal
	for i := range size {
		bounded := i == demand.CPU || i == demand.Memory || limit[i] > 0
		if bounded {
			size[i] = max(bare[i], min(ideal[i], room[i]))
		}
	}
	return size, true
}

// slack measures a - b over the resources the node has, each as a share of
// the node's capacity in parts per million, summed: a unit-free distance
// between two vectors.
func slack(a, b, capacity demand.Vector) int64 {
	var s int64
	for i := range a {
		if capacity[i] > 0 {
			s += (a[i] - b[i]) * 1_000_000 / capacity[i]
		}
	}
	return s
}

// withinBudget tells whether v fits a node's budget: CPU and memory are
// always bounded (a budget at or below zero admits nothing), disk I/O and
// network only when the node declares them.
func withinBudget(v, limit demand.Vector) bool {
	for i := range v {
		bounded := i == demand.CPU || i == demand.Memory || limit[i] > 0
		if bounded && v[i] > limit[i] {
			return false
		}
	}
	return true
}
