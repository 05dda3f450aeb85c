package rightsize

import (
	"fmt"
	"math"

	v1 "k8s.io/api/core/v1"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
)

// ResizeMember is a running pod of a partition, with the status of its
// WorkloadProfile (nil when it has none or it is stale).
type ResizeMember struct {
	Pod     *v1.Pod
	Profile *foresightv1alpha1.WorkloadProfileStatus
}

// DecidePartitionResize returns DecideResize's decision for each member of
// one partition (pods of one node, pool and SLA class that the scheduler
// placed together), in order. Without opts.Pooled, and for every member
// that DecideResize leaves alone, the decision is DecideResize's.
//
// With opts.Pooled, the members that DecideResize would resize are sized
// together, per resource. For member i let U_i be the request DecideResize
// targets (its own upper bound at its class's confidence over the horizon,
// clamped as DecideResize clamps it), B_i its base: its expected demand
// over the horizon (demand.Prediction.Expected), at most U_i and at least
// its floors (the minimum requests and, for CPU, its guarantee), and
// s_i = U_i − B_i its spread, what its own bound adds to its expected
// demand for the confidence. Taking the members' deviations from their
// expected demand as independent, as the Foresight plugin's joint demand
// of a partition does (the joint maths of pkg/plugins/foresight), spreads
// add in quadrature, and the members' pooled bound at that confidence is
//
//	J = Σ B_i + sqrt(Σ s_i²).
//
// Each member is given the same fraction ρ of its own spread:
//
//	share_i = B_i + ρ·s_i,  ρ = sqrt(Σ s_j²) / Σ s_j, in [1/√n, 1],
//
// rounded up (and split between a pod's containers in proportion to what
// each may lose above its floor), so that the shares add up to J. Why this
// allocation:
//
//   - The shares add up to the pooled bound: a node whose allocatable holds
//     its pods' requests holds each partition's pooled demand at the
//     class's confidence, which is what the partition reserves.
//   - A share is never above the member's own bound (ρ ≤ 1), never below its
//     expected demand, its floors or its guarantee; a member alone, or
//     beside members without spread, keeps its own bound (ρ = 1). Limits
//     and the original requests bound U_i already.
//   - The pooling gain goes to the members in proportion to the margin each
//     one's own bound carries, so requests keep their order and, under CPU
//     contention (where the kernel divides CPU by requests), every member
//     keeps the same fraction of its margin. The marginal (Euler)
//     allocation s_i²/sqrt(Σ s_j²), the usual one for risk capital, also
//     adds up to J, but leaves a member with a small spread next to a
//     bursty one almost nothing above its expected demand: under
//     contention the quiet pod would lose its CPU to the pod causing it.
//   - J has no daily-shape term (the plugin's joint demand has one, for a
//     day): over the resize horizon the members' forecasts already follow
//     their daily rhythm, and their bases are the forecasts' mean over the
//     horizon, not the peak of the day.
//
// What it assumes, and a member's own bound does not: that the members'
// deviations are independent (members bursting together exceed J more
// often than the confidence says), and that the node keeps every member
// (a share is sized for the pod's present partition: it falls when a member
// joins, rises when one leaves, and a pod moved to another node is
// re-admitted at its own bound). Members are pooled with those of their
// own SLA class only (a partition holds one); critical pods, which
// DecideResize leaves alone, are never pooled: they are reserved in full.
// The share then goes through DecideResize's hysteresis: a request rises
// to it whenever it exceeds it, falls to it by MinChangePercent or more.
//
// A member without a pod is an error.
func DecidePartitionResize(members []ResizeMember, policy *foresightv1alpha1.TenantPolicySpec, opts ResizeOptions) ([]Decision, error) {
	plans := make([]resizePlan, len(members))
	for i, m := range members {
		if m.Pod == nil {
			return nil, fmt.Errorf("partition member %d has no pod", i)
		}
		plans[i] = planResize(m.Pod, policy, m.Profile, opts)
	}
	if opts.Pooled {
		poolPlans(plans)
	}
	out := make([]Decision, len(members))
	for i := range plans {
		if plans[i].refused != nil {
			out[i] = *plans[i].refused
			continue
		}
		out[i] = plans[i].decide(members[i].Pod, opts)
	}
	return out, nil
}

// poolPlans lowers the targets of the plans of each SLA class to their
// shares of the class's pooled demand.
func poolPlans(plans []resizePlan) {
	byClass := map[foresightv1alpha1.SLAClass][]*resizePlan{}
	for i := range plans {
		p := &plans[i]
		for r := range p.rho {
			p.rho[r] = 1
		}
		if p.refused == nil {
			byClass[p.class] = append(byClass[p.class], p)
		}
	}
	for _, members := range byClass {
		if len(members) < 2 {
			continue
		}
		for _, r := range resources {
			levels := make([]podLevel, len(members))
			spreads := make([]int64, len(members))
			for k, p := range members {
				levels[k] = p.level(r.idx)
				spreads[k] = levels[k].upper - levels[k].base
			}
			rho := pooledFraction(spreads)
			for k, p := range members {
				p.rho[r.idx] = rho
				share := min(levels[k].upper, levels[k].base+int64(math.Ceil(rho*float64(spreads[k]))))
				if p.lowerTo(r.idx, share) {
					p.pooled = true
				}
			}
		}
	}
}

// pooledFraction is ρ = sqrt(Σ s²) / Σ s, the fraction of its own spread
// each member of a pool is given so that the shares add up to the pooled
// spread; 1 when no member has a spread. Negative spreads count as none.
func pooledFraction(spreads []int64) float64 {
	var sum, sumSq float64
	for _, s := range spreads {
		if s <= 0 {
			continue
		}
		f := float64(s)
		sum += f
		sumSq += f * f
	}
	if sum <= 0 {
		return 1
	}
	return min(1, math.Sqrt(sumSq)/sum)
}

// podLevel is a pod's own target of one resource and the base below which
// pooling never takes it.
type podLevel struct {
	upper, base int64
}

// level sums the plan's containers' targets of resource idx (upper), and
// gives its base: the pod's expected demand, at most upper, at least the
// containers' floors and, for CPU, the pod's guarantee.
func (p *resizePlan) level(idx int) podLevel {
	var upper, floor int64
	for i := range p.t.all {
		a := &p.t.all[i]
		if a.has[idx] {
			upper += a.next[idx]
			floor += a.floor[idx]
		}
	}
	if idx == demand.CPU {
		floor = max(floor, min(p.t.minCPU, upper))
	}
	return podLevel{upper: upper, base: max(min(p.t.expected[idx], upper), floor)}
}

// lowerTo lowers the plan's targets of resource idx so that they add up to
// share (rounded up), taking from each container in proportion to what it
// may lose above its floor. It tells whether any target fell.
func (p *resizePlan) lowerTo(idx int, share int64) bool {
	var upper, room int64
	for i := range p.t.all {
		a := &p.t.all[i]
		if a.has[idx] {
			upper += a.next[idx]
			room += a.next[idx] - a.floor[idx]
		}
	}
	cut := upper - share
	if cut <= 0 || room <= 0 {
		return false
	}
	cut = min(cut, room)
	lowered := false
	for i := range p.t.all {
		a := &p.t.all[i]
		if !a.has[idx] || a.next[idx] <= a.floor[idx] {
			continue
		}
		// In floating point: bytes times bytes overflows int64.
		c := int64(float64(cut) * float64(a.next[idx]-a.floor[idx]) / float64(room))
		next := max(a.floor[idx], a.next[idx]-c)
		if idx == demand.Memory {
			next = min(roundUp(next, 1<<20), a.next[idx])
		}
		if next < a.next[idx] {
			a.next[idx] = next
			lowered = true
		}
	}
	return lowered
}
