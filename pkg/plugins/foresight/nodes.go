package foresight

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/foresight-dev/foresight/pkg/demand"
)

// nodeEntry is what the hot path keeps per node: one immutable record of
// the node's partitions and pool, republished at every change of either,
// so that Filter and Score read both with one pointer load.
type nodeEntry struct {
	rec atomic.Pointer[nodeRecord]
	// requested is what kube-scheduler's NodeInfo of generation reqGen
	// counted as requested on the node. kube-scheduler gives every change
	// of a NodeInfo a new generation from one counter, so an equal
	// generation means equal requests: Filter reads them from here, where
	// the entry's cache line already is, rather than from NodeInfo's
	// Resource, a cache miss of its own. Written by Filter, which runs
	// once per node and cycle like fit below.
	reqGen    int64
	requested demand.Vector
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
	// hasPool is set once snap, node, pool, err and allocatable are known.
	hasPool bool
	snap    *poolSnapshot
	node    *v1.Node
	pool    *pool
	err     error
	// allocatable is the node object's, as kube-scheduler's NodeInfo
	// counts it (a field of the record: NodeInfo's lies a cold cache line
	// away).
	allocatable demand.Vector
}

// fitMemo is the score Filter computed for one pod on one node.
type fitMemo struct {
	// cycle identifies the pod's scheduling cycle (podState.cycle), node
	// the node object, rec and snap the partitions and pools the score was
	// computed on.
	cycle uint64
	node  *v1.Node
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
	return e.updateInto(&nodeRecord{}, change)
}

// updateInto is update writing the new record into next, which is not
// published yet (publish passes a record allocated with its partitions).
func (e *nodeEntry) updateInto(next *nodeRecord, change func(*nodeRecord)) *nodeRecord {
	for {
		old := e.rec.Load()
		if old != nil {
			*next = *old
		} else {
			*next = nodeRecord{}
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

// inlineParts is how many partitions of a node a recordBlock holds.
const inlineParts = 4

// recordBlock is a record allocated together with its partitions'
// snapshots and aggregates, so that Filter's reads of a node (record,
// partitions, the aggregate of the pod's class) lie on neighbouring cache
// lines of one page rather than on three objects anywhere in the heap.
type recordBlock struct {
	rec   nodeRecord
	parts [inlineParts]partSnap
	aggs  [inlineParts]aggregate
}

// newRecordBlock returns a block whose record's view has room for n
// partitions (inline for up to inlineParts), and the aggregates to point
// them at.
func newRecordBlock(n int) (*recordBlock, []aggregate) {
	b := &recordBlock{}
	if n <= inlineParts {
		b.rec.view.parts = b.parts[:n:n]
		return b, b.aggs[:n:n]
	}
	b.rec.view.parts = make([]partSnap, n)
	return b, make([]aggregate, n)
}

// publish replaces the node's partitions with the view of block b,
// keeping what the current record knows of the node's pool.
func (e *nodeEntry) publish(b *recordBlock) {
	v := b.rec.view
	e.updateInto(&b.rec, func(r *nodeRecord) { r.view = v })
}

// view returns the node's partitions.
func (e *nodeEntry) view() *nodeView {
	return &e.load().view
}

// poolOf returns the node's record and pool, matching the snapshot's
// selectors once per node object.
func (e *nodeEntry) poolOf(snap *poolSnapshot, node *v1.Node) (*nodeRecord, *pool, error) {
	return e.poolWith(e.rec.Load(), snap, node)
}

// poolWith is poolOf where r is the entry's record as just loaded (nil:
// not loaded).
func (e *nodeEntry) poolWith(r *nodeRecord, snap *poolSnapshot, node *v1.Node) (*nodeRecord, *pool, error) {
	if r == nil {
		r = e.rec.Load()
	}
	if r != nil && r.hasPool && r.snap == snap && r.node == node {
		return r, r.pool, r.err
	}
	p, err := snap.poolOf(node.Labels)
	alloc := demand.Vector{node.Status.Allocatable.Cpu().MilliValue(), node.Status.Allocatable.Memory().Value()}
	r = e.update(func(r *nodeRecord) {
		r.hasPool, r.snap, r.node, r.pool, r.err, r.allocatable = true, snap, node, p, err, alloc
	})
	return r, p, err
}

// nodeEntries maps node names to entries. The map is copied on write and
// read without locks; it changes only when a node is first seen, and then
// takes every node known at once.
//
// Filter and Score find a node's entry through forNode, a table keyed by
// the address of the node's object, which costs no read of the name and
// one cache line; the name map is the fallback. (Hashing
// the name read a cold line of the node's object on every call, and the
// map's group another: together more than a third of Filter's time in
// the scheduler benchmark.)
type nodeEntries struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]*nodeEntry]
	// byNode is that table, sized with the map.
	byNode atomic.Pointer[nodeTable]
	// known lists the names of every node (the node informer's), so that
	// a miss adds all new nodes in one copy; nil adds only the one missed.
	known func() []string
	// free are entries allocated and not yet handed out, under mu.
	free []nodeEntry
}

// nodeTable is a cache from node objects to entries, two ways per set:
// a set of two slots fills one cache line. A slot holds the entry last
// looked up for a node object and the record it had then, so that the
// entry and the record are fetched at once rather than one after the
// other. It is a hit when that record is still the entry's and was made
// for that very object (nodeRecord.node, set by poolOf); a newer record
// of the entry is taken and kept in the slot. A node's update (a new
// object), a set that overflows, or a slot read while another goroutine
// rewrites it only cost a lookup by name.
type nodeTable struct {
	shift uint
	sets  [][2]tableSlot
}

// tableSlot's key is the node object's address, which does not keep
// the object alive: a hit is only trusted once checked against a live
// pointer (the record's node, or Score's memo's).
type tableSlot struct {
	node  atomic.Uintptr
	entry atomic.Pointer[nodeEntry]
	rec   atomic.Pointer[nodeRecord]
	_     uintptr // two slots to a cache line
}

func addressOf(node *v1.Node) uintptr { return uintptr(unsafe.Pointer(node)) }

func newNodeTable(n int) *nodeTable {
	// As many sets as nodes, rounded up to a power of two: a set rarely
	// holds more than two.
	b := max(bits.Len(uint(n)), 4)
	return &nodeTable{shift: uint(64 - b), sets: make([][2]tableSlot, 1<<b)}
}

func (t *nodeTable) set(node *v1.Node) (*[2]tableSlot, uint64) {
	// Fibonacci hashing of the address: objects are aligned, so the low
	// bits alone would crowd a few sets.
	h := uint64(addressOf(node)) * 0x9e3779b97f4a7c15
	return &t.sets[h>>t.shift], h
}

// cached returns the entry the table holds for a node object, nil if
// none; unchecked: the caller checks that it was made for node.
func (e *nodeEntries) cached(node *v1.Node) *nodeEntry {
	t := e.byNode.Load()
	if t == nil {
		return nil
	}
	set, _ := t.set(node)
	for i := range set {
		if set[i].node.Load() == addressOf(node) {
			return set[i].entry.Load()
		}
	}
	return nil
}

// requestedOn returns what kube-scheduler counts as requested in
// nodeInfo, from the entry when it has the same generation's.
func (e *nodeEntry) requestedOn(nodeInfo fwk.NodeInfo) demand.Vector {
	if gen := nodeInfo.GetGeneration(); gen != e.reqGen || gen == 0 {
		e.requested, e.reqGen = requestedOn(nodeInfo), gen
	}
	return e.requested
}

// forNode returns the entry of a node object, as get(node.Name) does,
// and the entry's current record when the table has it (nil otherwise).
func (e *nodeEntries) forNode(node *v1.Node) (*nodeEntry, *nodeRecord) {
	t := e.byNode.Load()
	if t == nil {
		return e.get(node.Name), nil
	}
	set, h := t.set(node)
	victim := -1
	for i := range set {
		k := set[i].node.Load()
		if k == addressOf(node) {
			x, r := set[i].entry.Load(), set[i].rec.Load()
			if x != nil && r != nil {
				// Independent loads: the entry's line and the record's
				// are fetched together.
				cur, made := x.rec.Load(), r.node
				if cur == r && made == node {
					return x, r
				}
				if cur != nil && cur.node == node {
					set[i].rec.Store(cur)
					return x, cur
				}
			}
			victim = i
			break
		}
		if k == 0 && victim < 0 {
			victim = i
		}
	}
	if victim < 0 {
		// A full set: replace a slot picked by other bits of the hash
		// (the low ones are zero: addresses are aligned).
		victim = int(h>>32) & 1
	}
	x := e.get(node.Name)
	cur := x.rec.Load()
	if cur != nil && cur.node != nil && cur.node != node {
		// The node's object was replaced: its old object's slot would
		// keep that object and an old record alive until reused.
		t.forget(cur.node, x)
	}
	set[victim].node.Store(0)
	set[victim].entry.Store(x)
	set[victim].rec.Store(cur)
	set[victim].node.Store(addressOf(node))
	return x, nil
}

// forget empties the slot of an old node object of entry x, if any.
func (t *nodeTable) forget(old *v1.Node, x *nodeEntry) {
	set, _ := t.set(old)
	for i := range set {
		if set[i].node.Load() == addressOf(old) && set[i].entry.Load() == x {
			set[i].node.Store(0)
			set[i].entry.Store(nil)
			set[i].rec.Store(nil)
		}
	}
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
			if len(e.free) == 0 {
				// Entries are allocated side by side, many at a time:
				// Filter's reads of them then stay within few pages.
				e.free = make([]nodeEntry, max(len(names)+1-len(old), 64))
			}
			next[n] = &e.free[0]
			e.free = e.free[1:]
		}
	}
	e.m.Store(&next)
	if t := e.byNode.Load(); t == nil || len(t.sets) < len(next) {
		e.byNode.Store(newNodeTable(len(next)))
	}
	return next[name]
}
