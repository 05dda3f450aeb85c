package foresight

import (
	"sync"
	"sync/atomic"

	v1 "k8s.io/api/core/v1"
)

// nodeEntry is what the hot path keeps per node: one immutable record of
// the node's partitions and pool, republished at every change of either,
// so that Filter and Score read both with one pointer load.
type nodeEntry struct {
	rec atomic.Pointer[nodeRecord]
	// fit is the score Filter computed for the pod of the current
	// scheduling cycle, for Score to return. kube-scheduler filters a node in one
	// goroutine and scores only after every Filter has returned, and runs
	// one cycle at a time, so no lock is needed.
	fit fitMemo
}

// nodeRecord is an immutable record of a node: its partitions, and the
// pool it belongs to under one pool snapshot and node object (a node's
// update replaces its object and a pool change the snapshot, so a stale
// pool is never used).
type nodeRecord struct {
	view nodeView
	// hasPool is set once snap, node, pool and err are known.
	hasPool bool
	snap    *poolSnapshot
	node    *v1.Node
	pool    *pool
	err     error
}

// fitMemo is the score Filter computed for one pod on one node.
type fitMemo struct {
	// cycle identifies the pod's scheduling cycle (podState.cycle), rec
	// and snap the partitions and pools the score was computed on.
	cycle uint64
	rec   *nodeRecord
	snap  *poolSnapshot
	score int64
}

// load returns the node's current record, never nil.
func (e *nodeEntry) load() *nodeRecord {
	if r := e.rec.Load(); r != nil {
		return r
	}
	return &nodeRecord{}
}

// update republishes the record with change applied to a copy of the
// current one; concurrent updates (a partition change under the cache's
// lock, a pool refresh from Filter) are retried, never lost.
func (e *nodeEntry) update(change func(*nodeRecord)) *nodeRecord {
	for {
		old := e.rec.Load()
		next := &nodeRecord{}
		if old != nil {
			*next = *old
		}
		change(next)
		if e.rec.CompareAndSwap(old, next) {
			return next
		}
	}
}

// setView replaces the node's partitions.
func (e *nodeEntry) setView(v nodeView) {
	e.update(func(r *nodeRecord) { r.view = v })
}

// view returns the node's partitions.
func (e *nodeEntry) view() *nodeView {
	return &e.load().view
}

// poolOf returns the node's record and pool, matching the snapshot's
// selectors once per node object.
func (e *nodeEntry) poolOf(snap *poolSnapshot, node *v1.Node) (*nodeRecord, *pool, error) {
	r := e.rec.Load()
	if r != nil && r.hasPool && r.snap == snap && r.node == node {
		return r, r.pool, r.err
	}
	p, err := snap.poolOf(node.Labels)
	r = e.update(func(r *nodeRecord) {
		r.hasPool, r.snap, r.node, r.pool, r.err = true, snap, node, p, err
	})
	return r, p, err
}

// nodeEntries maps node names to entries. The map is copied on write and
// read without locks; it changes only when a node is first seen, and then
// takes every node known at once. (A map keyed by kube-scheduler's NodeInfo
// objects, which hash without reading the name, was measured no faster:
// the cost is the cache misses on the map and the entry, not the hash.)
type nodeEntries struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]*nodeEntry]
	// known lists the names of every node (the node informer's), so that
	// a miss adds all new nodes in one copy; nil adds only the one missed.
	known func() []string
}

func (e *nodeEntries) get(name string) *nodeEntry {
	if m := e.m.Load(); m != nil {
		if x, ok := (*m)[name]; ok {
			return x
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var old map[string]*nodeEntry
	if m := e.m.Load(); m != nil {
		old = *m
		if x, ok := old[name]; ok {
			return x
		}
	}
	var names []string
	if e.known != nil {
		names = e.known()
	}
	next := make(map[string]*nodeEntry, len(old)+len(names)+1)
	for k, v := range old {
		next[k] = v
	}
	for _, n := range append(names, name) {
		if _, ok := next[n]; !ok {
			next[n] = &nodeEntry{}
		}
	}
	e.m.Store(&next)
	return next[name]
}
