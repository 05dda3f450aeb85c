package consolidate

import (
	"cmp"
	"slices"
	"time"
)

// Resources are a CPU (millicores) and memory (bytes) amount.
type Resources struct {
	CPU, Memory int64
}

func (r Resources) add(o Resources) Resources { return Resources{r.CPU + o.CPU, r.Memory + o.Memory} }

func (r Resources) fits(limit Resources) bool { return r.CPU <= limit.CPU && r.Memory <= limit.Memory }

// share is the larger of r's CPU and memory shares of c (its dominant
// share); c must be positive.
func (r Resources) share(c Resources) float64 {
	return max(float64(r.CPU)/float64(c.CPU), float64(r.Memory)/float64(c.Memory))
}

// Tier is what a node may be in a consolidation.
type Tier int

const (
	// Dedicated nodes are neither emptied nor given pods: their pool is
	// reserved for other pods. It is the zero value, so that a node of
	// unknown tier is left alone.
	Dedicated Tier = iota
	// Fixed nodes are paid for whether used or not: they take pods first
	// and are never emptied.
	Fixed
	// Variable nodes are autoscaled: they may be emptied (so that the
	// autoscaler removes them) and take pods after the fixed ones.
	Variable
)

// Pod is a pod running on a node.
type Pod struct {
	Name string
	// Requests are what a kubelet admits the pod by.
	Requests Resources
	// Original are its requests before rightsizing (zero: Requests), what
	// a pool's overcommit bound counts.
	Original Resources
	// Restart are the requests the pod is re-created with when it is
	// evicted (the admission webhook's at the time of the pass; zero:
	// Requests): what a moved pod needs on its new node.
	Restart Resources
	// Ahead is the most the pod is predicted to request over the coming
	// hours (the controller's resize target over a longer horizon than its
	// visits'; zero: nothing beyond its requests). A node keeps room for
	// the larger of it and the pod's requests, so that a move does not
	// fill a node whose pods grow back at their next burst.
	Ahead Resources
	// Movable is false for pods that must not be disrupted: critical
	// pods, pods of a dedicated pool, pods without a controller to
	// re-create them. A node holding one is never emptied.
	Movable bool
}

func (p *Pod) original() Resources {
	if p.Original == (Resources{}) {
		return p.Requests
	}
	return p.Original
}

// restart is what the pod requests once re-created.
func (p *Pod) restart() Resources {
	if p.Restart == (Resources{}) {
		return p.Requests
	}
	return p.Restart
}

// planned is the room the pod needs over the coming hours, given what it
// requests now (or once re-created).
func (p *Pod) planned(now Resources) Resources {
	return Resources{max(now.CPU, p.Ahead.CPU), max(now.Memory, p.Ahead.Memory)}
}

func (p *Pod) valid() bool {
	for _, r := range []Resources{p.Requests, p.Original, p.Restart, p.Ahead} {
		if r.CPU < 0 || r.Memory < 0 {
			return false
		}
	}
	return true
}

// Node is a node with the pods on it.
type Node struct {
	Name string
	Tier Tier
	// Allocatable is what the kubelet admits pods up to.
	Allocatable Resources
	// MaxOriginal bounds the sum of its pods' original requests (the
	// pool's overcommit ratio times Allocatable); zero: no bound.
	MaxOriginal Resources
	// Added is when the node joined the cluster.
	Added time.Time
	// Unschedulable nodes (cordoned) take no pods and are not emptied.
	Unschedulable bool
	// Keep marks a node the caller does not want emptied now (say, an
	// attempt to empty it failed recently); it still takes pods.
	Keep bool
	Pods []Pod
}

// Options tune a pass; DefaultOptions gives the documented defaults.
type Options struct {
	// Now is the time of the pass.
	Now time.Time
	// MinNodeAge: a node added less than this long ago is not emptied, so
	// that consolidation does not undo what the autoscaler just did.
	MinNodeAge time.Duration
	// MaxMoves is the disruption budget of a pass: a node is emptied only
	// if it holds at most this many pods. Zero or less moves nothing.
	MaxMoves int
}

// DefaultOptions: nodes at least an hour old, at most 16 pods moved per
// pass.
func DefaultOptions(now time.Time) Options {
	return Options{Now: now, MinNodeAge: time.Hour, MaxMoves: 16}
}

// Move is one pod to evict from a node, and the node that has room for it.
type Move struct {
	Pod, From, To string
}

// Reason says why a pass moves what it moves, or nothing.
type Reason string

// The reasons of a Plan.
const (
	// Emptied: every pod of Plan.Node fits elsewhere; Moves empty it.
	Emptied Reason = "emptied"
	// NoCandidate: no variable node is old enough, schedulable, non-empty,
	// within the budget and holds only movable pods.
	NoCandidate Reason = "no-candidate"
	// NoRoom: candidates exist, but none has all its pods fit elsewhere.
	NoRoom Reason = "no-room"
)

// Plan is a pass's decision: at most one node to empty.
type Plan struct {
	Reason Reason
	// Node is the node emptied ("" when none).
	Node string
	// Moves take every pod off Node, largest first.
	Moves []Move
}

// Decide chooses the variable node to empty and where its pods go.
//
// Candidates are the variable nodes that are schedulable, not kept, at
// least MinNodeAge old, hold at least one pod and at most MaxMoves, all of them
// movable. They are tried from the least utilised over the coming hours
// (the larger of the CPU and memory shares of allocatable that its pods'
// planned room takes, the larger of their requests and Ahead; then fewer
// pods, then name). A candidate is chosen when all its pods, largest
// planned room first, fit on the other schedulable non-dedicated nodes: by
// their Restart requests over the requests there now (what a kubelet
// admits), by their planned room over the planned room there (so that the
// node still holds its pods when they grow back), and by original requests
// under a node's MaxOriginal. Fixed nodes are tried first, then variable
// ones, and within a tier the fullest node (by planned room) that holds the
// pod (best fit, which leaves the others emptier for later passes). Only a
// node that can be emptied whole is: moving some pods of a node saves
// nothing.
//
// Nodes with a non-positive allocatable, and pods with negative amounts,
// are bad input: such a node is neither emptied nor a target, and a node
// holding such a pod is not emptied. Empty nodes are the autoscaler's to
// remove and are not candidates.
func Decide(nodes []Node, opts Options) Plan {
	valid := make([]bool, len(nodes))
	used := make([]Resources, len(nodes))
	plan := make([]Resources, len(nodes))
	orig := make([]Resources, len(nodes))
	for i := range nodes {
		n := &nodes[i]
		valid[i] = n.Allocatable.CPU > 0 && n.Allocatable.Memory > 0
		for k := range n.Pods {
			p := &n.Pods[k]
			if !p.valid() {
				valid[i] = false
			}
			used[i] = used[i].add(p.Requests)
			plan[i] = plan[i].add(p.planned(p.Requests))
			orig[i] = orig[i].add(p.original())
		}
	}
	var candidates []int
	for i := range nodes {
		n := &nodes[i]
		if !valid[i] || n.Tier != Variable || n.Unschedulable || n.Keep || len(n.Pods) == 0 || len(n.Pods) > opts.MaxMoves ||
			opts.Now.Sub(n.Added) < opts.MinNodeAge {
			continue
		}
		if slices.ContainsFunc(n.Pods, func(p Pod) bool { return !p.Movable }) {
			continue
		}
		candidates = append(candidates, i)
	}
	if len(candidates) == 0 {
		return Plan{Reason: NoCandidate}
	}
	slices.SortStableFunc(candidates, func(a, b int) int {
		return cmp.Or(cmp.Compare(plan[a].share(nodes[a].Allocatable), plan[b].share(nodes[b].Allocatable)),
			cmp.Compare(len(nodes[a].Pods), len(nodes[b].Pods)), cmp.Compare(nodes[a].Name, nodes[b].Name))
	})
	for _, c := range candidates {
		if moves, ok := empty(nodes, valid, used, plan, orig, c); ok {
			return Plan{Reason: Emptied, Node: nodes[c].Name, Moves: moves}
		}
	}
	return Plan{Reason: NoRoom}
}

// empty places node c's pods on the other nodes, on copies of their
// usage; ok is false if one does not fit.
func empty(nodes []Node, valid []bool, used, plan, orig []Resources, c int) ([]Move, bool) {
	used, plan, orig = slices.Clone(used), slices.Clone(plan), slices.Clone(orig)
	src := &nodes[c]
	type moving struct {
		p         *Pod
		req, plan Resources
	}
	pods := make([]moving, len(src.Pods))
	for k := range src.Pods {
		p := &src.Pods[k]
		pods[k] = moving{p: p, req: p.restart(), plan: p.planned(p.restart())}
	}
	slices.SortStableFunc(pods, func(a, b moving) int {
		return cmp.Or(-cmp.Compare(a.plan.share(src.Allocatable), b.plan.share(src.Allocatable)), cmp.Compare(a.p.Name, b.p.Name))
	})
	moves := make([]Move, 0, len(pods))
	for _, m := range pods {
		best := -1
		var bestRoom float64
		for _, tier := range []Tier{Fixed, Variable} {
			for i := range nodes {
				n := &nodes[i]
				if i == c || !valid[i] || n.Tier != tier || n.Unschedulable {
					continue
				}
				if !used[i].add(m.req).fits(n.Allocatable) {
					continue
				}
				u := plan[i].add(m.plan)
				if !u.fits(n.Allocatable) {
					continue
				}
				if n.MaxOriginal != (Resources{}) && !orig[i].add(m.p.original()).fits(n.MaxOriginal) {
					continue
				}
				// Best fit: the least room left after the pod.
				if room := 1 - u.share(n.Allocatable); best < 0 || room < bestRoom {
					best, bestRoom = i, room
				}
			}
			if best >= 0 {
				break
			}
		}
		if best < 0 {
			return nil, false
		}
		used[best] = used[best].add(m.req)
		plan[best] = plan[best].add(m.plan)
		orig[best] = orig[best].add(m.p.original())
		p := m.p
		moves = append(moves, Move{Pod: p.Name, From: src.Name, To: nodes[best].Name})
	}
	return moves, true
}
