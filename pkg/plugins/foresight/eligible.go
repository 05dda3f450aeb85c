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
// pools. PreFilter hands it to kube-scheduler, which then runs no filter
// at all on the others (a dedicated pool would otherwise cost every
// filter plugin a visit per node per pod, for nothing).
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
