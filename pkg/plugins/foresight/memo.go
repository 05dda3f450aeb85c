package foresight

import (
	"encoding/binary"
	"math"
	"sync"

	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// Filter's memos. Filter's result on a node (fits or why not, and the
// score) is a pure function of four things: the pod's shape (what of the
// pod PreFilter computed that Filter reads), the node's record (its
// partitions and pool), the pool snapshot, and kube-scheduler's NodeInfo,
// whose generation changes with every change of it. Each has a number
// that is never reused, so a result stored under the four numbers is
// valid for as long as they are the current ones. Pods that share a shape
// are common (the replicas of a workload, scheduled one after another),
// and kube-scheduler visits each node many times between two changes of
// it: with a memo, those visits read one cache line of the node's entry
// instead of its record, partitions and aggregates, and skip the maths.

// memoWays is how many results a node's entry keeps: its first cache line
// holds them with the record pointer, its seq and its node.
const memoWays = 5

// memoKey mixes the four numbers into 64 bits (a 64-bit finaliser over a
// sum of odd multiples): a memo stores 48 of them, so two different keys
// are taken for one with a chance of 2⁻⁴⁸ per lookup, and then the
// result is only a preference or a refusal for one cycle (Reserve decides
// again under the cache's lock).
func memoKey(shape, rec, snap uint64, gen int64) uint64 {
	h := shape*0x9e3779b97f4a7c15 ^ rec*0xc2b2ae3d27d4eb4f ^ snap*0x165667b19e3779f9 ^ uint64(gen)*0xd6e8feb86659fd93
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// memoWord is a key's upper 48 bits and a memoResult in the lower 16: one
// word, so that a memo is written and read atomically.
const memoKeyMask = ^uint64(0xffff)

// memoResult is Filter's result on a node in 16 bits: valid (bit 15), the
// status code (bits 13–14: success, Unschedulable, UnschedulableAndUnresolvable),
// scored (bit 12: Score may return the score), the reason's index in
// memoReasons (bits 8–11) and the score (bits 0–7).
type memoResult uint16

const (
	memoValid  memoResult = 1 << 15
	memoScored memoResult = 1 << 12
)

// memoReasons are the reasons Filter refuses a node for; a reason not
// listed is not memoised.
var memoReasons = [...]string{"", ReasonDedicatedPool, ReasonPoolConflict, ReasonOvercommitLimit, ReasonTooLargeForPartitions, ReasonPoolBudget}

var memoCodes = [...]fwk.Code{fwk.Success, fwk.Unschedulable, fwk.UnschedulableAndUnresolvable}

// newMemoResult encodes a result; false when it cannot be (an unlisted
// reason or code, a score out of [0, 255]).
func newMemoResult(code fwk.Code, reason string, score int64, scored bool) (memoResult, bool) {
	c := -1
	for i, k := range memoCodes {
		if k == code {
			c = i
		}
	}
	r := -1
	for i, k := range memoReasons {
		if k == reason {
			r = i
		}
	}
	if c < 0 || r < 0 || score < 0 || score > 255 {
		return 0, false
	}
	m := memoValid | memoResult(c)<<13 | memoResult(r)<<8 | memoResult(score)
	if scored {
		m |= memoScored
	}
	return m, true
}

// status is the result as Filter returns it (nil for success).
func (m memoResult) status() *fwk.Status {
	code := memoCodes[(m>>13)&3]
	if code == fwk.Success {
		return nil
	}
	return fwk.NewStatus(code, memoReasons[(m>>8)&15])
}

// score is the node's score, false when the result carries none.
func (m memoResult) score() (int64, bool) {
	return int64(m & 0xff), m&memoScored != 0
}

// recall returns the result stored for a pod shape on the node as it is
// now: its current record, the pool snapshot snap and kube-scheduler's
// NodeInfo generation gen (0, a NodeInfo never changed through
// kube-scheduler's counter, has no memo).
func (e *nodeEntry) recall(shape, snap uint64, gen int64) (memoResult, bool) {
	if gen == 0 {
		return 0, false
	}
	key := memoKey(shape, e.seq.Load(), snap, gen)
	for i := range e.memo {
		if w := e.memo[i].Load(); w&memoKeyMask == key&memoKeyMask && memoResult(w)&memoValid != 0 {
			return memoResult(w), true
		}
	}
	return 0, false
}

// remember stores a result computed for a pod shape on record rec, pool
// snapshot snap and NodeInfo generation gen, in the way of the shape:
// pods of one shape replace their own older results, and up to memoWays
// shapes keep theirs side by side.
func (e *nodeEntry) remember(shape, rec, snap uint64, gen int64, m memoResult) {
	if gen == 0 {
		return
	}
	e.memo[shape%memoWays].Store(memoKey(shape, rec, snap, gen)&memoKeyMask | uint64(m))
}

// shapeIndex numbers pod shapes: equal shapes get one number, and a
// number is never given to another shape.
type shapeIndex struct {
	mu   sync.Mutex
	ids  map[string]uint64
	last uint64
}

// maxShapes bounds the index: past it, the index starts afresh and shapes
// get new numbers (their old memos are then never read again).
const maxShapes = 4096

func (x *shapeIndex) id(key []byte) uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	if id, ok := x.ids[string(key)]; ok {
		return id
	}
	if x.ids == nil || len(x.ids) >= maxShapes {
		x.ids = make(map[string]uint64)
	}
	x.last++
	x.ids[string(key)] = x.last
	return x.last
}

// shapeKey encodes everything of a pod's state that Filter and Score read
// (fitInputFor, fitOn, scoreTerms.pooled and the dedicated-pool check):
// the class and its properties, the pod's requests before and after
// rightsizing, the source of its prediction, and its demand at every
// confidence PreFilter predicted.
func shapeKey(s *podState) []byte {
	b := make([]byte, 0, 256)
	b = binary.AppendUvarint(b, uint64(len(s.spec.Class)))
	b = append(b, s.spec.Class...)
	b = binary.AppendUvarint(b, uint64(len(s.source)))
	b = append(b, s.source...)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.class.Confidence))
	b = appendBool(b, s.class.Overcommit)
	b = appendBool(b, s.class.Migratable)
	for _, v := range [][]int64{s.requested[:], s.original[:]} {
		for _, x := range v {
			b = binary.AppendVarint(b, x)
		}
	}
	for i := range s.predictions {
		p := &s.predictions[i]
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.confidence))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.z))
		for _, v := range [][]int64{p.member.Upper[:], p.member.Expected[:]} {
			for _, x := range v {
				b = binary.AppendVarint(b, x)
			}
		}
		b = appendBool(b, p.member.Daily != nil)
		if p.member.Daily != nil {
			for r := range p.member.Daily {
				for _, f := range p.member.Daily[r] {
					b = binary.AppendVarint(b, int64(f))
				}
			}
		}
	}
	return b
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// stateMemo is the pod state of the cycle state PreFilter last wrote, so
// that Filter and Score, called for every node, need not look it up in
// the cycle state's map. It holds the cycle state, whose address is then
// not reused while it is compared with.
type stateMemo struct {
	state *framework.CycleState
	s     *podState
}

// stateOf is readState, from the memo when state is the one PreFilter
// last wrote.
func (pl *Foresight) stateOf(state fwk.CycleState) (*podState, error) {
	if m := pl.lastState.Load(); m != nil {
		if cs, ok := state.(*framework.CycleState); ok && cs == m.state {
			return m.s, nil
		}
	}
	return readState(state)
}

// noteState makes s the memo's state for state.
func (pl *Foresight) noteState(state fwk.CycleState, s *podState) {
	if cs, ok := state.(*framework.CycleState); ok {
		pl.lastState.Store(&stateMemo{state: cs, s: s})
	}
}
