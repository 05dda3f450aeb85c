package foresight

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/foresight-dev/foresight/pkg/demand"
)

// nodeEntry is what the hot path keeps per node: one immutable record of
// the node's partitions and pool, republished at every change of either,
// and Filter's memos. Its first cache line is all that Filter and Score
// read when a memo answers; entries are allocated side by side, two
// lines each.
type nodeEntry struct {
	rec atomic.Pointer[nodeRecord]
	// seq is the seq of rec (the highest one published), which memos
	// name.
	seq atomic.Uint64
	// node is the node object the entry was last looked up for: the
	// table of NodeInfos trusts a slot only when the NodeInfo still holds
	// it.
	node atomic.Pointer[v1.Node]
	// memo holds Filter's last results on the node (memoWord).
	memo [memoWays]atomic.Uint64

	// requested is what kube-scheduler's NodeInfo of generation reqGen
	// counted as requested on the node. kube-scheduler gives every change
	// of a NodeInfo a new generation from one counter, so an equal
	// generation means equal requests: Filter reads them from here rather
	// than from NodeInfo's Resource, a cache miss of its own. Written by
	// Filter, which runs once per node and cycle.
	reqGen    int64
	requested demand.Vector
	_         [24]byte // two cache lines
}

// nodeRecord is an immutable record of a node: its partitions, and the
// pool it belongs to under one pool snapshot and node object (a node's
// update replaces its object and a pool change the snapshot, so a stale
// pool is never used).
type nodeRecord struct {
	view nodeView
	// seq is unique to the record, from recordSeq.
	seq uint64
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

// recordSeq numbers node records.
var recordSeq atomic.Uint64

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
		// Numbered after old was loaded: records that replace one
		// another have rising numbers, so seq keeps the highest.
		next.seq = recordSeq.Add(1)
		change(next)
		if e.rec.CompareAndSwap(old, next) {
			for {
				cur := e.seq.Load()
				if cur >= next.seq || e.seq.CompareAndSwap(cur, next.seq) {
					break
				}
			}
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
// Filter and Score find a node's entry through forInfo, a table keyed by
// the address of kube-scheduler's NodeInfo, which costs one cache line
// fetched alongside the NodeInfo's own; the name map is the fallback.
// (Hashing the name read a cold line of the node's object on every call,
// and the map's group another.)
type nodeEntries struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]*nodeEntry]
	// byInfo is that table, sized with the map.
	byInfo atomic.Pointer[infoTable]
	// known lists the names of every node (the node informer's), so that
	// a miss adds all new nodes in one copy; nil adds only the one missed.
	known func() []string
	// free are entries allocated and not yet handed out, under mu.
	free []nodeEntry
}

// infoTable is a cache from NodeInfo objects to entries, four slots to a
// set and a set to a cache line. kube-scheduler keeps one NodeInfo per
// node in its snapshot and updates it in place, so a node's address is
// stable; its address can be computed before the NodeInfo is read, so the
// set's line and the NodeInfo's are fetched together. A slot is trusted
// only when its entry was last looked up for the node object the NodeInfo
// holds (nodeEntry.node): a node's update, a NodeInfo copy (preemption
// filters copies), a reused address, a full set or a slot read while
// another goroutine rewrites it only cost a lookup by name.
type infoTable struct {
	shift uint
	sets  [][4]infoSlot
}

// infoSlot's key is the NodeInfo's address, which does not keep it alive.
type infoSlot struct {
	info  atomic.Uintptr
	entry atomic.Pointer[nodeEntry]
}

func newInfoTable(n int) *infoTable {
	// As many slots as four times the nodes, rounded up to a power of
	// two: a set rarely holds more than four.
	b := max(bits.Len(uint(n)), 2)
	return &infoTable{shift: uint(64 - b), sets: make([][4]infoSlot, 1<<b)}
}

// infoAddress is the address of kube-scheduler's NodeInfo, 0 for another
// implementation.
func infoAddress(nodeInfo fwk.NodeInfo) uintptr {
	if ni, ok := nodeInfo.(*framework.NodeInfo); ok {
		return uintptr(unsafe.Pointer(ni))
	}
	return 0
}

// forInfo returns the entry of the node a NodeInfo holds, as
// get(node.Name) does, and the node; nil and nil when it holds none.
func (e *nodeEntries) forInfo(nodeInfo fwk.NodeInfo) (*nodeEntry, *v1.Node) {
	addr := infoAddress(nodeInfo)
	t := e.byInfo.Load()
	var set *[4]infoSlot
	var h uint64
	if t != nil && addr != 0 {
		// Fibonacci hashing: objects are aligned, so the low bits alone
		// would crowd a few sets.
		h = uint64(addr) * 0x9e3779b97f4a7c15
		set = &t.sets[h>>t.shift]
	}
	node := nodeInfo.Node()
	if node == nil {
		return nil, nil
	}
	if set == nil {
		return e.lookup(node), node
	}
	victim := -1
	for i := range set {
		k := set[i].info.Load()
		if k == addr {
			if x := set[i].entry.Load(); x != nil && x.node.Load() == node {
				return x, node
			}
			victim = i
			break
		}
		if k == 0 && victim < 0 {
			victim = i
		}
	}
	if victim < 0 {
		// A full set: replace a slot picked by other bits of the hash.
		victim = int(h>>32) & 3
	}
	x := e.lookup(node)
	set[victim].info.Store(0)
	set[victim].entry.Store(x)
	set[victim].info.Store(addr)
	return x, node
}

// lookup is get(node.Name), noting the node object the entry is for.
func (e *nodeEntries) lookup(node *v1.Node) *nodeEntry {
	x := e.get(node.Name)
	if x.node.Load() != node {
		x.node.Store(node)
	}
	return x
}

// requestedOn returns what kube-scheduler counts as requested in
// nodeInfo, from the entry when it has the same generation's.
func (e *nodeEntry) requestedOn(nodeInfo fwk.NodeInfo) demand.Vector {
	if gen := nodeInfo.GetGeneration(); gen != e.reqGen || gen == 0 {
		e.requested, e.reqGen = requestedOn(nodeInfo), gen
	}
	return e.requested
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
	if t := e.byInfo.Load(); t == nil || len(t.sets) < len(next) {
		e.byInfo.Store(newInfoTable(len(next)))
	}
	return next[name]
}
