package foresight

import (
	"sync"
	"sync/atomic"

	v1 "k8s.io/api/core/v1"
)

// nodeEntry is what the hot path keeps per node: the node's partitions
// (an immutable view, republished at every change) and the memo of its
// pool. Filter and Score find it with one read of a plain map.
type nodeEntry struct {
	view atomic.Pointer[nodeView]
	pool atomic.Pointer[poolMemo]
	// fit is what Filter found for the pod of the current scheduling
	// cycle, for Score to reuse. kube-scheduler filters a node in one
	// goroutine and scores only after every Filter has returned, and runs
	// one cycle at a time, so no lock is needed.
	fit fitMemo
}

// fitMemo is Filter's result for one pod on one node.
type fitMemo struct {
	// cycle identifies the pod's scheduling cycle (podState.cycle), view
	// and pool what the result was computed on.
	cycle uint64
	view  *nodeView
	pool  *pool
	res   fitResult
}

// poolMemo is the pool of one node object under one pool snapshot; a
// node's update replaces its object and a pool change the snapshot, so a
// stale memo is never used.
type poolMemo struct {
	snap *poolSnapshot
	node *v1.Node
	pool *pool
	err  error
}

// poolOf returns the pool of a node, matching the snapshot's selectors
// once per node object.
func (e *nodeEntry) poolOf(snap *poolSnapshot, node *v1.Node) (*pool, error) {
	if m := e.pool.Load(); m != nil && m.snap == snap && m.node == node {
		return m.pool, m.err
	}
	p, err := snap.poolOf(node.Labels)
	e.pool.Store(&poolMemo{snap: snap, node: node, pool: p, err: err})
	return p, err
}

// nodeEntries maps node names to entries. The map is copied on write and
// read without locks; it changes only when a node is first seen, and then
// takes every node known at once.
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
