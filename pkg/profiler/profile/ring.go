package profile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Values are compressed to 16-bit codes on a logarithmic scale: code 0 is
// 0, code k ≥ 1 is codeMin·e^((k−1)·codeStep). The scale covers 1e-6 to
// 1e15 (a millionth of a core to a petabyte), so one scale fits every
// resource, and a value is off by at most e^(codeStep/2)−1 = 0.037 % of
// itself.
const (
	codeMin  = 1e-6
	codeMax  = 1e15
	codeStep = 48.35428695287496 / 65534 // ln(codeMax/codeMin) / (codes − 2)
)

// MaxCodeError is the largest relative error of a value stored in a ring.
var MaxCodeError = math.Exp(codeStep/2) - 1

func encode(v float64) uint16 {
	if !(v > 0) { // also NaN
		return 0
	}
	if v <= codeMin {
		return 1
	}
	k := math.Round(math.Log(v/codeMin)/codeStep) + 1
	if k >= math.MaxUint16 {
		return math.MaxUint16
	}
	return uint16(k)
}

func decode(c uint16) float64 {
	if c == 0 {
		return 0
	}
	return codeMin * math.Exp(float64(c-1)*codeStep)
}

// Point is one finished slot of a ring, compressed to 18 bytes: the mean
// and the maximum of the samples that fell into it per resource, as 16-bit
// codes, and their count (saturating at 65,535).
type Point struct {
	Mean  [NumResources]uint16
	Max   [NumResources]uint16
	Count uint16
}

// PointSize is the size of a Point in memory and on disk.
const PointSize = 2*2*int(NumResources) + 2

// Slot is a decoded slot of a ring.
type Slot struct {
	// Start of the slot.
	Start time.Time
	Mean  [NumResources]float64
	Max   [NumResources]float64
	Count int
}

// acc accumulates the samples of the newest slot at full precision; the
// slot is compressed into a Point when a later one begins.
type acc struct {
	sum   [NumResources]float64
	max   [NumResources]float64
	count uint32
}

func (a *acc) add(v [NumResources]float64, n uint32) {
	for i, x := range v {
		if a.count == 0 || x > a.max[i] {
			a.max[i] = x
		}
	}
	for i, x := range v {
		a.sum[i] += x * float64(n)
	}
	a.count += n
}

// ChunkSlots is how many slots of a ring are allocated at a time: a day of
// the 5-minute ring (5 KiB). Memory grows with a ring's history, not with
// its span: a container a day old holds 2 chunks of its 5-week ring, not
// all 35.
const ChunkSlots = 288

// Ring is a rolling window of fixed-resolution slots.
type Ring struct {
	// Resolution of one slot.
	Resolution time.Duration
	// Head is the slot number (unix time / resolution) of the newest slot;
	// finished slot n lives at index n % Slots, the newest one in an
	// accumulator at full precision.
	Head int64
	// Slots is the number of slots the ring covers.
	Slots int
	// chunks hold the finished slots, ChunkSlots per chunk (the last may
	// be shorter); a chunk is allocated when a slot in it is first
	// written, and a nil chunk reads as empty slots.
	chunks [][]Point
	cur    acc
}

// NewRing returns a ring covering span at resolution.
func NewRing(resolution, span time.Duration) Ring {
	n := int(span / resolution)
	return Ring{Resolution: resolution, Slots: n, chunks: make([][]Point, (n+ChunkSlots-1)/ChunkSlots)}
}

// clone returns a deep copy of the ring.
func (r *Ring) clone() Ring {
	c := *r
	c.chunks = make([][]Point, len(r.chunks))
	for i, ch := range r.chunks {
		c.chunks[i] = slices.Clone(ch)
	}
	return c
}

// Span is the history the ring covers.
func (r *Ring) Span() time.Duration { return r.Resolution * time.Duration(r.Slots) }

// Bytes is the memory the ring's slots take: that of its allocated chunks.
func (r *Ring) Bytes() int {
	n := 0
	for _, c := range r.chunks {
		n += len(c) * PointSize
	}
	return n
}

// at returns finished slot s (empty if its chunk is not allocated).
func (r *Ring) at(s int64) Point {
	i := r.index(s)
	if c := r.chunks[i/ChunkSlots]; c != nil {
		return c[i%ChunkSlots]
	}
	return Point{}
}

// ref returns finished slot s for writing, allocating its chunk.
func (r *Ring) ref(s int64) *Point {
	i := r.index(s)
	k := i / ChunkSlots
	if r.chunks[k] == nil {
		r.chunks[k] = make([]Point, min(ChunkSlots, r.Slots-k*ChunkSlots))
	}
	return &r.chunks[k][i%ChunkSlots]
}

// clear empties slot s without allocating.
func (r *Ring) clear(s int64) {
	i := r.index(s)
	if c := r.chunks[i/ChunkSlots]; c != nil {
		c[i%ChunkSlots] = Point{}
	}
}

func (r *Ring) slot(t time.Time) int64 { return floorDiv(t.UnixNano(), int64(r.Resolution)) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (r *Ring) index(s int64) int {
	n := int64(r.Slots)
	return int(((s % n) + n) % n)
}

func (a *acc) point() Point {
	var p Point
	for i := range a.sum {
		p.Mean[i] = encode(a.sum[i] / float64(a.count))
		p.Max[i] = encode(a.max[i])
	}
	p.Count = uint16(min(a.count, math.MaxUint16))
	return p
}

// advance makes s the newest slot, compressing the current one and
// clearing the slots skipped in between.
func (r *Ring) advance(s int64) {
	n := int64(r.Slots)
	if r.cur.count > 0 {
		*r.ref(r.Head) = r.cur.point()
	}
	from := r.Head + 1
	if s-from >= n {
		from = s - n + 1
	}
	for i := from; i <= s; i++ {
		r.clear(i)
	}
	r.Head, r.cur = s, acc{}
}

// Add folds a sample into its slot; samples older than the ring are
// dropped.
func (r *Ring) Add(t time.Time, v [NumResources]float64) {
	r.add(r.slot(t), v, nil, 1)
}

// AddSlot folds a whole slot (mean, max and count of its samples) into the
// slot holding t, as if its samples had been added one by one.
func (r *Ring) AddSlot(t time.Time, s Slot) {
	if s.Count <= 0 {
		return
	}
	r.add(r.slot(t), s.Mean, &s.Max, uint32(s.Count))
}

func (r *Ring) add(s int64, v [NumResources]float64, mx *[NumResources]float64, n uint32) {
	if r.Slots == 0 {
		return
	}
	if s > r.Head {
		r.advance(s)
	} else if s <= r.Head-int64(r.Slots) {
		return
	}
	if s == r.Head {
		r.cur.add(v, n)
		if mx != nil {
			for i := range mx {
				r.cur.max[i] = max(r.cur.max[i], mx[i])
			}
		}
		return
	}
	// A late sample for a finished slot: rare, so decoding and encoding
	// the slot again is fine.
	p := r.ref(s)
	a := acc{count: uint32(p.Count)}
	for i := range a.sum {
		a.sum[i] = decode(p.Mean[i]) * float64(p.Count)
		a.max[i] = decode(p.Max[i])
	}
	a.add(v, n)
	if mx != nil {
		for i := range mx {
			a.max[i] = max(a.max[i], mx[i])
		}
	}
	*p = a.point()
}

func (r *Ring) get(s int64) (Slot, bool) {
	sl := Slot{Start: time.Unix(0, s*int64(r.Resolution)).UTC()}
	if s == r.Head {
		if r.cur.count == 0 {
			return sl, false
		}
		for i := range sl.Mean {
			sl.Mean[i] = r.cur.sum[i] / float64(r.cur.count)
			sl.Max[i] = r.cur.max[i]
		}
		sl.Count = int(r.cur.count)
		return sl, true
	}
	p := r.at(s)
	if p.Count == 0 {
		return sl, false
	}
	for i := range sl.Mean {
		sl.Mean[i], sl.Max[i] = decode(p.Mean[i]), decode(p.Max[i])
	}
	sl.Count = int(p.Count)
	return sl, true
}

// filled counts the finished slots in [first, last] that hold samples,
// without decoding them.
func (r *Ring) filled(first, last int64) int {
	first = max(first, r.Head-int64(r.Slots)+1)
	last = min(last, r.Head-1)
	n := 0
	for s := first; s <= last; s++ {
		if r.at(s).Count > 0 {
			n++
		}
	}
	return n
}

// Window returns the slots of the last d before now (the slot holding now
// included), oldest first, skipping empty slots.
func (r *Ring) Window(now time.Time, d time.Duration) []Slot {
	if r.Slots == 0 {
		return nil
	}
	last := r.slot(now)
	first := last - int64(d/r.Resolution) + 1
	if oldest := r.Head - int64(r.Slots) + 1; first < oldest {
		first = oldest
	}
	last = min(last, r.Head)
	var out []Slot
	for s := first; s <= last; s++ {
		if sl, ok := r.get(s); ok {
			out = append(out, sl)
		}
	}
	return out
}

// Series returns the mean of one resource in every slot of the last d
// before now (the slot holding now included), oldest first, with NaN for
// empty slots, and the start of the first slot.
func (r *Ring) Series(now time.Time, d time.Duration, res Resource) ([]float64, time.Time) {
	last := r.slot(now)
	first := last - int64(d/r.Resolution) + 1
	if oldest := r.Head - int64(r.Slots) + 1; first < oldest {
		first = oldest
	}
	last = min(last, r.Head)
	if r.Slots == 0 || last < first {
		return nil, time.Time{}
	}
	out := make([]float64, 0, last-first+1)
	for s := first; s <= last; s++ {
		if sl, ok := r.get(s); ok {
			out = append(out, sl.Mean[res])
		} else {
			out = append(out, math.NaN())
		}
	}
	return out, time.Unix(0, first*int64(r.Resolution)).UTC()
}

const (
	ringVersion = 1
	ringHeader  = 1 + 3*8 + 4 + int(NumResources)*16
)

// MarshalBinary writes the ring as a small header and 18 bytes per slot
// (zeros for slots never written).
func (r Ring) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, ringHeader+r.Slots*PointSize)
	b = append(b, ringVersion)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Resolution))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Head))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Slots))
	b = binary.LittleEndian.AppendUint32(b, r.cur.count)
	for i := range r.cur.sum {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.cur.sum[i]))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.cur.max[i]))
	}
	for i := range r.Slots {
		var p Point
		if c := r.chunks[i/ChunkSlots]; c != nil {
			p = c[i%ChunkSlots]
		}
		for _, c := range p.Mean {
			b = binary.LittleEndian.AppendUint16(b, c)
		}
		for _, c := range p.Max {
			b = binary.LittleEndian.AppendUint16(b, c)
		}
		b = binary.LittleEndian.AppendUint16(b, p.Count)
	}
	return b, nil
}

// maxRingSlots bounds the slots a decoded ring may claim, so that a
// corrupt record cannot make the agent allocate without limit.
const maxRingSlots = 1 << 20

// UnmarshalBinary reads what MarshalBinary wrote, allocating only the
// chunks that hold a written slot; a malformed record is an error.
func (r *Ring) UnmarshalBinary(b []byte) error {
	if len(b) < ringHeader || b[0] != ringVersion {
		return errors.New("ring record: bad header")
	}
	res := time.Duration(binary.LittleEndian.Uint64(b[1:]))
	head := int64(binary.LittleEndian.Uint64(b[9:]))
	n := binary.LittleEndian.Uint64(b[17:])
	if res <= 0 || n == 0 || n > maxRingSlots || uint64(len(b)) != uint64(ringHeader)+n*uint64(PointSize) {
		return fmt.Errorf("ring record: resolution %v, %d slots in %d bytes", res, n, len(b))
	}
	out := NewRing(res, time.Duration(n)*res)
	b = b[25:]
	out.cur.count = binary.LittleEndian.Uint32(b)
	b = b[4:]
	for i := range out.cur.sum {
		out.cur.sum[i] = math.Float64frombits(binary.LittleEndian.Uint64(b))
		out.cur.max[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
		b = b[16:]
	}
	out.Head = head
	for i := range out.Slots {
		var p Point
		for j := range p.Mean {
			p.Mean[j] = binary.LittleEndian.Uint16(b[2*j:])
			p.Max[j] = binary.LittleEndian.Uint16(b[2*int(NumResources)+2*j:])
		}
		p.Count = binary.LittleEndian.Uint16(b[4*int(NumResources):])
		b = b[PointSize:]
		if p != (Point{}) {
			// Slot number i: index i is the slot at i modulo Slots.
			*out.ref(int64(i)) = p
		}
	}
	*r = out
	return nil
}
