package foresight

import (
	"fmt"
	"sort"
	"sync/atomic"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
	listers "github.com/foresight-dev/foresight/pkg/generated/listers/foresight/v1alpha1"
)

// pool is a ResourcePool as the hot path needs it.
type pool struct {
	name     string
	tier     foresightv1alpha1.PoolTier
	selector labels.Selector
	// pol sizes the pool's partitions.
	pol poolPolicy
	// maxRatioPercent bounds the original requests on each node: 100 (no
	// overcommit) for dedicated pools and when unset.
	maxRatioPercent int64
	// targetConfidence is the least confidence of its partitions.
	targetConfidence float64
}

// newPool reads what the hot path needs from a ResourcePool.
func newPool(o *foresightv1alpha1.ResourcePool, sel labels.Selector) pool {
	p := pool{name: o.Name, tier: o.Spec.Tier, selector: sel, maxRatioPercent: int64(o.Spec.Overcommit.MaxRatioPercent)}
	if p.tier == foresightv1alpha1.PoolTierDedicated || p.maxRatioPercent < 100 {
		p.maxRatioPercent = 100
	}
	if c, err := o.Spec.Overcommit.TargetConfidence.Float(); err == nil {
		p.targetConfidence = c
	}
	part := &o.Spec.Partitioning
	p.pol = poolPolicy{
		HeadroomPercent: int64(max(part.HeadroomPercent, 0)),
		MinSize:         demand.FromResourceVector(part.MinSize),
		MaxSize:         demand.FromResourceVector(part.MaxSize),
		Step:            demand.FromResourceVector(part.Step),
	}
	return p
}

// confidenceFor is the confidence at which a pod of a class with the
// given confidence is sized in this pool: never below the pool's target.
func (p *pool) confidenceFor(class float64) float64 {
	return max(class, p.targetConfidence)
}

// byName returns the pool with a name, nil when there is none.
func (s *poolSnapshot) byName(name string) *pool {
	for i := range s.pools {
		if s.pools[i].name == name {
			return &s.pools[i]
		}
	}
	return nil
}

// poolSnapshot is an immutable view of every ResourcePool, replaced as a
// whole when one changes so that Filter and Score read it without locks.
type poolSnapshot struct {
	pools []pool
	// seq is unique to the snapshot: Filter's memos name the snapshot
	// they were computed on by it (an address could be reused).
	seq uint64
}

// snapshotSeq numbers pool snapshots.
var snapshotSeq atomic.Uint64

func newPoolSnapshot(n int) *poolSnapshot {
	return &poolSnapshot{pools: make([]pool, 0, n), seq: snapshotSeq.Add(1)}
}

// poolIndex keeps the current poolSnapshot.
type poolIndex struct {
	lister  listers.ResourcePoolLister
	current atomic.Pointer[poolSnapshot]
}

func newPoolIndex(lister listers.ResourcePoolLister) *poolIndex {
	idx := &poolIndex{lister: lister}
	idx.current.Store(newPoolSnapshot(0))
	return idx
}

// rebuild recomputes the snapshot from the informer's cache. A pool whose
// selector does not parse is left out and logged: the API server validates
// selectors, so this only happens with hand-edited storage.
func (idx *poolIndex) rebuild(logger klog.Logger) {
	objs, err := idx.lister.List(labels.Everything())
	if err != nil {
		logger.Error(err, "Listing ResourcePools")
		return
	}
	snap := newPoolSnapshot(len(objs))
	for _, o := range objs {
		sel, err := metav1.LabelSelectorAsSelector(&o.Spec.NodeSelector)
		if err != nil {
			logger.Error(err, "Ignoring ResourcePool with an invalid node selector", "resourcePool", klog.KObj(o))
			continue
		}
		snap.pools = append(snap.pools, newPool(o, sel))
	}
	sort.Slice(snap.pools, func(i, j int) bool { return snap.pools[i].name < snap.pools[j].name })
	idx.current.Store(snap)
	logger.V(4).Info("Rebuilt ResourcePool snapshot", "pools", len(snap.pools))
}

func (idx *poolIndex) snapshot() *poolSnapshot {
	return idx.current.Load()
}

// errPoolConflict is returned for a node that several pools select.
type errPoolConflict struct{ first, second string }

func (e errPoolConflict) Error() string {
	return fmt.Sprintf("node is selected by ResourcePools %q and %q; a node belongs to at most one pool", e.first, e.second)
}

// poolOf returns the pool that selects a node with these labels, nil when
// none does, and an error when several do.
func (s *poolSnapshot) poolOf(nodeLabels map[string]string) (*pool, error) {
	var found *pool
	set := labels.Set(nodeLabels)
	for i := range s.pools {
		p := &s.pools[i]
		if !p.selector.Matches(set) {
			continue
		}
		if found != nil {
			return nil, errPoolConflict{first: found.name, second: p.name}
		}
		found = p
	}
	return found, nil
}
