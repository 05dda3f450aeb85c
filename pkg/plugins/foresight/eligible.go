package foresight

import (
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	corelisters "k8s.io/client-go/listers/core/v1"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// eligibleNodes is the set of nodes a pod that is not critical may use:
// every node but those of dedicated pools and those selected by several
// pools. PreFilter hands it to kube-scheduler when useNodeSet says that
// costs less than letting Filter refuse the others.
type eligibleNodes struct {
	gen                 uint64
	names               sets.Set[string]
	dedicated, conflict int
}

// eligibility keeps the current eligibleNodes, rebuilt lazily after a
// node or pool change.
type eligibility struct {
	nodes corelisters.NodeLister
	pools *poolIndex
	// gen counts node and pool changes.
	gen     atomic.Uint64
	mu      sync.Mutex
	current atomic.Pointer[eligibleNodes]
}

// changed notes a node or pool change.
func (e *eligibility) changed() { e.gen.Add(1) }

// forNonCritical returns the eligible nodes of non-critical pods, nil when
// every node is eligible or the nodes cannot be listed.
func (e *eligibility) forNonCritical() *eligibleNodes {
	gen := e.gen.Load()
	if cur := e.current.Load(); cur != nil && cur.gen == gen {
		return cur
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if cur := e.current.Load(); cur != nil && cur.gen == gen {
		return cur
	}
	nodes, err := e.nodes.List(labels.Everything())
	if err != nil {
		return nil
	}
	snap := e.pools.snapshot()
	next := &eligibleNodes{gen: gen, names: sets.New[string]()}
	for _, n := range nodes {
		p, err := snap.poolOf(n.Labels)
		switch {
		case err != nil:
			next.conflict++
		case p != nil && p.tier == foresightv1alpha1.PoolTierDedicated:
			next.dedicated++
		default:
			next.names.Insert(n.Name)
		}
	}
	e.current.Store(next)
	return next
}

// Constants of kube-scheduler 1.37's adaptive search (schedule_one.go):
// it stops filtering once it has found this many feasible nodes.
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// feasibleNodesToFind is how many feasible nodes kube-scheduler looks for
// among n nodes with its adaptive percentageOfNodesToScore (the default,
// and the shipped configurations').
func feasibleNodesToFind(n int) int {
	if n < minFeasibleNodesToFind {
		return n
	}
	pct := max(50-n/125, minFeasibleNodesPercentageToFind)
	return max(n*pct/100, minFeasibleNodesToFind)
}

// useNodeSet tells whether handing kube-scheduler the set of a
// non-critical pod's eligible nodes (of all nodes) costs it less than
// letting Foresight's Filter, which runs first, refuse the others.
//
// kube-scheduler sizes its search by the set it is given: with the set it
// filters and scores feasibleNodesToFind(eligible) nodes and first looks
// up every name in the set; without it, feasibleNodesToFind(all) nodes,
// plus, on average, the ineligible ones met on the way, each refused
// after one lookup. The weights are per-node costs relative to a full
// filter and score pass, estimated from the CPU profile at 5,000 nodes
// (docs/benchmarks/scheduler.md): a feasible node cost ≈ 10 µs of
// filter and score goroutines, a refused one ≈ 2.7 µs (the framework's
// per-node bookkeeping 1.65 µs plus Foresight's lookup), a name of the
// set ≈ 0.2 µs to look up. With a third of the nodes dedicated the set
// wins below about 4,000 nodes and loses above; measured at 2,000 nodes
// it took the ratio from 0.53 to 0.59.
func useNodeSet(eligible, all int) bool {
	if eligible <= 0 || eligible >= all {
		return false
	}
	const lookup, refusal = 0.02, 0.25
	with := float64(feasibleNodesToFind(eligible)) + lookup*float64(eligible)
	find := float64(feasibleNodesToFind(all))
	without := find + refusal*find*float64(all-eligible)/float64(eligible)
	return with < without
}
