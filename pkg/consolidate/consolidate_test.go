package consolidate

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const gi = 1 << 30

var (
	now  = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	old  = now.Add(-2 * time.Hour)
	size = Resources{CPU: 8000, Memory: 16 * gi}
)

func pod(name string, cpu, memGi int64) Pod {
	return Pod{Name: name, Requests: Resources{CPU: cpu, Memory: memGi * gi}, Movable: true}
}

func node(name string, tier Tier, pods ...Pod) Node {
	return Node{Name: name, Tier: tier, Allocatable: size, Added: old, Pods: pods}
}

func TestDecide(t *testing.T) {
	critical := pod("crit", 1000, 1)
	critical.Movable = false
	young := node("v-young", Variable, pod("y", 1000, 1))
	young.Added = now.Add(-30 * time.Minute)
	cordoned := node("f-cordoned", Fixed)
	cordoned.Unschedulable = true
	// 2 cores requested but 26 originally: a bound of 32 cores on
	// originals holds 6 more, not the 8 of a pod rightsized to 1.
	overcommitted := pod("oc", 2000, 1)
	overcommitted.Original = Resources{CPU: 26000, Memory: gi}
	bounded := node("f-bounded", Fixed, overcommitted)
	bounded.MaxOriginal = Resources{CPU: 32000, Memory: 64 * gi}
	rightsized := pod("a", 1000, 1)
	rightsized.Original = Resources{CPU: 8000, Memory: gi}
	kept := node("v-kept", Variable, pod("k", 1000, 1))
	kept.Keep = true
	zero := node("v-zero", Variable, pod("z", 1000, 1))
	zero.Allocatable = Resources{}
	negative := node("v-neg", Variable, pod("n", -1000, 1))
	negativeAhead := pod("na", 1000, 1)
	negativeAhead.Ahead = Resources{CPU: -1}
	// with sets a pod's Restart and Ahead requests (cores and GiB).
	with := func(p Pod, restartCPU, restartGi, aheadCPU, aheadGi int64) Pod {
		p.Restart = Resources{CPU: restartCPU, Memory: restartGi * gi}
		p.Ahead = Resources{CPU: aheadCPU, Memory: aheadGi * gi}
		return p
	}
	// staying pods keep their node out of the candidates.
	staying := func(p Pod) Pod {
		p.Movable = false
		return p
	}

	cases := []struct {
		name     string
		nodes    []Node
		maxMoves int
		want     Plan
	}{
		{name: "no nodes", want: Plan{Reason: NoCandidate}},
		{
			name: "least utilised variable node into the fixed pool first",
			nodes: []Node{
				node("f-0", Fixed, pod("a", 4000, 4)),
				node("v-0", Variable, pod("b", 2000, 2), pod("c", 3000, 2)),
				node("v-1", Variable, pod("d", 1000, 1), pod("e", 2000, 1)),
			},
			want: Plan{Reason: Emptied, Node: "v-1", Moves: []Move{{Pod: "e", From: "v-1", To: "f-0"}, {Pod: "d", From: "v-1", To: "f-0"}}},
		},
		{
			name: "fixed pool full: best fit among variable nodes",
			nodes: []Node{
				node("f-0", Fixed, pod("a", 8000, 4)),
				node("v-0", Variable, pod("b", 5000, 2)),
				node("v-1", Variable, pod("c", 3000, 2)),
				node("v-2", Variable, pod("d", 1000, 1)),
			},
			want: Plan{Reason: Emptied, Node: "v-2", Moves: []Move{{Pod: "d", From: "v-2", To: "v-0"}}},
		},
		{
			name: "pods split where one node does not hold them all",
			nodes: []Node{
				node("f-0", Fixed, pod("a", 5000, 4)),
				node("v-0", Variable, pod("b", 6000, 2)),
				node("v-1", Variable, pod("c", 2000, 1), pod("d", 2000, 1)),
			},
			want: Plan{Reason: Emptied, Node: "v-1", Moves: []Move{{Pod: "c", From: "v-1", To: "f-0"}, {Pod: "d", From: "v-1", To: "v-0"}}},
		},
		{
			name: "memory is the dominant share",
			nodes: []Node{
				node("f-0", Fixed),
				node("v-0", Variable, pod("a", 1000, 12)),
				node("v-1", Variable, pod("b", 4000, 1)),
			},
			want: Plan{Reason: Emptied, Node: "v-1", Moves: []Move{{Pod: "b", From: "v-1", To: "f-0"}}},
		},
		{
			name: "a node with a pod that may not move is kept",
			nodes: []Node{
				node("f-0", Fixed),
				node("v-0", Variable, critical),
				node("v-1", Variable, pod("b", 3000, 2)),
			},
			want: Plan{Reason: Emptied, Node: "v-1", Moves: []Move{{Pod: "b", From: "v-1", To: "f-0"}}},
		},
		{
			name:  "a node added within the hour is kept",
			nodes: []Node{node("f-0", Fixed), young},
			want:  Plan{Reason: NoCandidate},
		},
		{
			name:  "a kept node is not emptied but takes pods",
			nodes: []Node{kept, node("v-0", Variable, pod("a", 2000, 1))},
			want:  Plan{Reason: Emptied, Node: "v-0", Moves: []Move{{Pod: "a", From: "v-0", To: "v-kept"}}},
		},
		{
			name:  "nothing moves unless a whole node empties",
			nodes: []Node{node("f-0", Fixed, pod("a", 6000, 2)), node("v-0", Variable, pod("b", 1000, 1), pod("c", 3000, 1))},
			want:  Plan{Reason: NoRoom},
		},
		{
			name: "a node cannot be emptied onto itself or onto a node being emptied",
			nodes: []Node{
				node("v-0", Variable, pod("a", 5000, 2)),
			},
			want: Plan{Reason: NoRoom},
		},
		{
			name:     "the disruption budget bounds the pods moved",
			nodes:    []Node{node("f-0", Fixed), node("v-0", Variable, pod("a", 1000, 1), pod("b", 1000, 1), pod("c", 1000, 1))},
			maxMoves: 2,
			want:     Plan{Reason: NoCandidate},
		},
		{
			name:     "no budget moves nothing",
			nodes:    []Node{node("f-0", Fixed), node("v-0", Variable, pod("a", 1000, 1))},
			maxMoves: -1,
			want:     Plan{Reason: NoCandidate},
		},
		{
			name:  "dedicated and cordoned nodes take no pods",
			nodes: []Node{node("d-0", Dedicated), cordoned, node("v-0", Variable, pod("a", 1000, 1))},
			want:  Plan{Reason: NoRoom},
		},
		{
			name:  "fixed and dedicated nodes are never emptied",
			nodes: []Node{node("f-0", Fixed, pod("a", 1000, 1)), node("d-0", Dedicated, pod("b", 1000, 1)), node("v-0", Variable)},
			want:  Plan{Reason: NoCandidate},
		},
		{
			name:  "the overcommit bound on original requests",
			nodes: []Node{bounded, node("v-0", Variable, rightsized), node("v-1", Variable, pod("b", 7000, 1))},
			want:  Plan{Reason: Emptied, Node: "v-0", Moves: []Move{{Pod: "a", From: "v-0", To: "v-1"}}},
		},
		{
			name:  "bad input: no allocatable, negative requests",
			nodes: []Node{zero, negative, node("f-0", Fixed), {Name: "f-zero", Tier: Fixed, Added: old}},
			want:  Plan{Reason: NoCandidate},
		},
		{
			name:  "bad input: a negative Ahead",
			nodes: []Node{node("f-0", Fixed), node("v-0", Variable, negativeAhead)},
			want:  Plan{Reason: NoCandidate},
		},
		{
			// 3 cores now fit f-0's 4 free, but the pod is predicted to
			// need 6 over the coming hours: only v-1 keeps that room.
			name: "a moved pod needs room for what it is predicted to grow to",
			nodes: []Node{
				node("f-0", Fixed, pod("a", 4000, 4)),
				node("v-0", Variable, with(pod("b", 3000, 1), 0, 0, 6000, 1)),
				node("v-1", Variable, staying(pod("c", 1000, 1))),
			},
			want: Plan{Reason: Emptied, Node: "v-0", Moves: []Move{{Pod: "b", From: "v-0", To: "v-1"}}},
		},
		{
			// f-0's pod requests 2 cores now but is predicted to need 7:
			// the 3 cores of v-0's pod would fit now and not then.
			name: "a target keeps room for its own pods' predicted growth",
			nodes: []Node{
				node("f-0", Fixed, with(pod("a", 2000, 1), 0, 0, 7000, 1)),
				node("v-0", Variable, pod("b", 3000, 1)),
			},
			want: Plan{Reason: NoRoom},
		},
		{
			// v-0 requests the least now (1 core), but its pod is
			// predicted to need 5; v-1's holds at 2: v-1 is tried first.
			name: "candidates ordered by their planned room",
			nodes: []Node{
				node("f-0", Fixed),
				node("v-0", Variable, with(pod("a", 1000, 1), 0, 0, 5000, 1)),
				node("v-1", Variable, pod("b", 2000, 1)),
			},
			want: Plan{Reason: Emptied, Node: "v-1", Moves: []Move{{Pod: "b", From: "v-1", To: "f-0"}}},
		},
		{
			// Re-created, the pod asks 6 cores (admitted afresh), not the
			// 2 it was resized down to: f-0's 4 free cores do not hold it.
			name: "a moved pod is placed by the requests it is re-created with",
			nodes: []Node{
				node("f-0", Fixed, pod("a", 4000, 1)),
				node("v-0", Variable, with(pod("b", 2000, 1), 6000, 1, 0, 0)),
				node("v-1", Variable, staying(pod("c", 1000, 1))),
			},
			want: Plan{Reason: Emptied, Node: "v-0", Moves: []Move{{Pod: "b", From: "v-0", To: "v-1"}}},
		},
		{
			// Re-created smaller (1 core of the 6 it holds now), the pod
			// fits f-0's 2 free cores.
			name: "a pod re-created smaller needs only that",
			nodes: []Node{
				node("f-0", Fixed, pod("a", 6000, 1)),
				node("v-0", Variable, with(pod("b", 6000, 1), 1000, 1, 0, 0)),
			},
			want: Plan{Reason: Emptied, Node: "v-0", Moves: []Move{{Pod: "b", From: "v-0", To: "f-0"}}},
		},
		{
			// Moved pods largest planned room first: d (5 predicted) takes
			// f-0's room, c (3 now) then fits only v-1.
			name: "moved pods sorted by their planned room",
			nodes: []Node{
				node("f-0", Fixed, pod("a", 3000, 1)),
				node("v-0", Variable, pod("c", 3000, 1), with(pod("d", 1000, 1), 0, 0, 5000, 1)),
				node("v-1", Variable, staying(pod("e", 4000, 1))),
			},
			want: Plan{Reason: Emptied, Node: "v-0", Moves: []Move{{Pod: "d", From: "v-0", To: "f-0"}, {Pod: "c", From: "v-0", To: "v-1"}}},
		},
		{
			name:  "bad targets are skipped",
			nodes: []Node{{Name: "f-zero", Tier: Fixed, Added: old}, node("v-0", Variable, pod("a", 1000, 1))},
			want:  Plan{Reason: NoRoom},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultOptions(now)
			if tc.maxMoves != 0 {
				opts.MaxMoves = tc.maxMoves
			}
			got := Decide(tc.nodes, opts)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecideLeavesInputAlone(t *testing.T) {
	nodes := []Node{node("f-0", Fixed), node("v-0", Variable, pod("b", 1000, 1), pod("a", 3000, 1))}
	want := []Node{node("f-0", Fixed), node("v-0", Variable, pod("b", 1000, 1), pod("a", 3000, 1))}
	Decide(nodes, DefaultOptions(now))
	if diff := cmp.Diff(want, nodes); diff != "" {
		t.Errorf("Decide changed its input (-want +got):\n%s", diff)
	}
}

func ExampleDecide() {
	nodes := []Node{
		{Name: "fixed-0", Tier: Fixed, Allocatable: Resources{CPU: 32000, Memory: 128 * gi}, Pods: []Pod{
			{Name: "web", Requests: Resources{CPU: 20000, Memory: 32 * gi}, Movable: true},
		}},
		{Name: "variable-0", Tier: Variable, Allocatable: Resources{CPU: 32000, Memory: 128 * gi}, Pods: []Pod{
			{Name: "batch", Requests: Resources{CPU: 6000, Memory: 8 * gi}, Movable: true},
		}},
	}
	plan := Decide(nodes, DefaultOptions(time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)))
	fmt.Println(plan.Reason, plan.Node, plan.Moves)
	// Output: emptied variable-0 [{batch variable-0 fixed-0}]
}
