package profile

import (
	"maps"
	"math"
	"slices"
	"sort"
	"time"
)

// Resource indexes the resources a profile tracks.
type Resource int

// The tracked resources and their units.
const (
	CPU     Resource = iota // cores
	Memory                  // working-set bytes
	DiskIO                  // bytes per second, read + write
	Network                 // bytes per second, receive + transmit
	NumResources
)

// Histogram is a decaying histogram with exponentially growing buckets:
// bucket i covers [First*Ratio^i, First*Ratio^(i+1)). A sample's weight
// doubles every HalfLife relative to older samples, so old behaviour fades
// (the scheme of the Vertical Pod Autoscaler's recommender).
type Histogram struct {
	First    float64
	Ratio    float64
	HalfLife time.Duration
	// Ref is the time at which a weight of 1 is added.
	Ref     time.Time
	Weights map[uint16]float64
	Total   float64
}

// MaxBuckets bounds the number of buckets of a histogram.
const MaxBuckets = 1024

// NewHistogram returns an empty histogram.
func NewHistogram(first, ratio float64, halfLife time.Duration) Histogram {
	return Histogram{First: first, Ratio: ratio, HalfLife: halfLife, Weights: map[uint16]float64{}}
}

func (h *Histogram) bucket(v float64) uint16 {
	if v < h.First {
		return 0
	}
	i := int(math.Floor(math.Log(v/h.First) / math.Log(h.Ratio)))
	if i >= MaxBuckets {
		i = MaxBuckets - 1
	}
	return uint16(i)
}

// Add adds a sample taken at t.
func (h *Histogram) Add(t time.Time, v float64) {
	if math.IsNaN(v) || v < 0 {
		return
	}
	if h.Ref.IsZero() {
		h.Ref = t
	}
	exp := float64(t.Sub(h.Ref)) / float64(h.HalfLife)
	if exp > 64 {
		// Rescale before weights overflow.
		f := math.Exp2(-exp)
		for k, w := range h.Weights {
			if w *= f; w < 1e-12 {
				delete(h.Weights, k)
			} else {
				h.Weights[k] = w
			}
		}
		h.Total *= f
		h.Ref, exp = t, 0
	}
	w := math.Exp2(exp)
	h.Weights[h.bucket(v)] += w
	h.Total += w
}

// Quantile returns the q-quantile (0..1), as the geometric middle of the
// bucket holding it; 0 when empty. Its relative error is at most
// (Ratio-1)/2.
func (h *Histogram) Quantile(q float64) float64 {
	if h.Total == 0 {
		return 0
	}
	keys := make([]int, 0, len(h.Weights))
	for k := range h.Weights {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	target := q * h.Total
	acc := 0.0
	k := keys[len(keys)-1]
	for _, b := range keys {
		acc += h.Weights[uint16(b)]
		if acc >= target {
			k = b
			break
		}
	}
	if k == 0 && h.Weights[0] > 0 && acc >= target {
		// bucket 0 also holds everything below First
		return h.First * math.Sqrt(h.Ratio) / 2
	}
	return h.First * math.Pow(h.Ratio, float64(k)+0.5)
}

// Profile is the usage history of one container.
type Profile struct {
	// Key identifies the container (pod UID/container ID).
	Key       string
	Namespace string
	Pod       string
	PodUID    string
	Container string
	// Current is the latest sample.
	Current     [NumResources]float64
	CurrentTime time.Time
	Samples     int64
	// Rings at increasing resolution: 10 s for 1 h, 1 min for 1 day,
	// 5 min for a week (and an hour), 1 h for 5 weeks (DefaultRings).
	Rings []Ring
	// Histograms per resource, half-life 24 h.
	Histograms [NumResources]Histogram
	// Shapes are the daily and weekly rhythms, fed with finished minutes.
	Shapes Shapes
	// Bursts per resource, scored on finished minutes.
	Bursts [NumResources]Bursts
}

// The rings every profile keeps.
const (
	// MinuteRing is the index of the 1-minute ring, LongRing of the
	// 5-minute one and HourRing of the 1-hour one.
	MinuteRing = 1
	LongRing   = 2
	HourRing   = 3
	// WeekHistory is the finished history the 5-minute ring always holds
	// (it spans an hour more).
	WeekHistory = 7 * 24 * time.Hour
	// LongHistory is the span of the 1-hour ring: the history a profile
	// keeps.
	LongHistory = 5 * 7 * 24 * time.Hour
)

// DefaultRings are the windows every profile keeps: 360 + 1,440 + 2,028 +
// 840 slots of 18 bytes, 82 KiB. Beyond a week history is kept by the hour:
// what reads it (the published mean and peak of a --window over a week,
// the older half of the forecaster's two weeks, Profile.Series) needs no
// finer steps, and 5-minute slots for five weeks took 2.6 times the
// memory (177 KiB against 15 + 36 KiB; docs/nodeagent.md). The 5-minute
// ring spans a week and an hour, so that a whole week of finished slots
// (the last period of a weekly forecaster) is always at 5 minutes.
func DefaultRings() []Ring {
	return []Ring{
		NewRing(10*time.Second, time.Hour),
		NewRing(time.Minute, 24*time.Hour),
		NewRing(5*time.Minute, WeekHistory+time.Hour),
		NewRing(time.Hour, LongHistory),
	}
}

// New returns an empty profile.
func New(key string) *Profile {
	p := &Profile{Key: key, Rings: DefaultRings(), Shapes: NewShapes()}
	first := [NumResources]float64{CPU: 0.001, Memory: 1 << 20, DiskIO: 1024, Network: 1024}
	for i := range p.Histograms {
		p.Histograms[i] = NewHistogram(first[i], 1.05, 24*time.Hour)
	}
	return p
}

// Add records a sample of every resource at t. When t begins a new minute,
// the finished one is scored for bursts and folded into the rhythms first.
func (p *Profile) Add(t time.Time, v [NumResources]float64) {
	p.Current, p.CurrentTime = v, t
	p.Samples++
	if len(p.Rings) > MinuteRing {
		m := &p.Rings[MinuteRing]
		if s := m.slot(t); s > m.Head {
			p.closeMinute(m)
		}
	}
	for i := range p.Rings {
		p.Rings[i].Add(t, v)
	}
	for i := range p.Histograms {
		p.Histograms[i].Add(t, v[i])
	}
}

// closeMinute scores the newest slot of the 1-minute ring before a later
// minute begins.
func (p *Profile) closeMinute(m *Ring) {
	done, ok := m.get(m.Head)
	if !ok {
		return
	}
	// Decode the hour before only when a burst can start or is on.
	var before []Slot
	active := false
	for r := range p.Bursts {
		active = active || p.Bursts[r].Active
	}
	if active || m.filled(m.Head-int64(time.Hour/m.Resolution), m.Head-1) >= BurstBaseline {
		before = m.Window(done.Start.Add(-m.Resolution), time.Hour)
	}
	for r := range p.Bursts {
		p.Bursts[r].observe(Resource(r), done, m.Resolution, before)
	}
	if p.Shapes.Daily.Seen != nil {
		p.Shapes.Add(done.Start, done.Mean, done.Max, done.Count)
	}
}

// Clone returns a deep copy of the profile under another key.
func (p *Profile) Clone(key string) *Profile {
	c := *p
	c.Key = key
	c.Rings = make([]Ring, len(p.Rings))
	for i := range p.Rings {
		c.Rings[i] = p.Rings[i].clone()
	}
	for i := range p.Histograms {
		c.Histograms[i].Weights = maps.Clone(p.Histograms[i].Weights)
	}
	for _, s := range []*Seasonal{&c.Shapes.Daily, &c.Shapes.Weekly} {
		s.Mean, s.Peak, s.Seen = slices.Clone(s.Mean), slices.Clone(s.Peak), slices.Clone(s.Seen)
	}
	for i := range p.Bursts {
		c.Bursts[i].Sizes, c.Bursts[i].Durations = slices.Clone(p.Bursts[i].Sizes), slices.Clone(p.Bursts[i].Durations)
	}
	return &c
}

// Conform lays the profile's rings out as DefaultRings when they are laid
// out otherwise (a profile written by an older agent) and reports whether
// it did. Each new ring takes the slots of the old ring of the same
// resolution, or else of the old ring reaching furthest back among those
// whose resolution divides its own (a 1-hour ring is built from 5-minute
// slots: means weighted by their counts, maxima of maxima); slots older
// than a new ring's span are dropped.
func (p *Profile) Conform() bool {
	want := DefaultRings()
	if len(p.Rings) == len(want) {
		same := true
		for i := range want {
			same = same && p.Rings[i].Resolution == want[i].Resolution && p.Rings[i].Slots == want[i].Slots
		}
		if same {
			return false
		}
	}
	for i := range want {
		dst := &want[i]
		var src *Ring
		for j := range p.Rings {
			r := &p.Rings[j]
			if r.Slots == 0 || dst.Resolution%r.Resolution != 0 {
				continue
			}
			if r.Resolution == dst.Resolution {
				src = r
				break
			}
			if src == nil || r.Span() > src.Span() {
				src = r
			}
		}
		if src == nil {
			continue
		}
		for s := src.Head - int64(src.Slots) + 1; s <= src.Head; s++ {
			if sl, ok := src.get(s); ok {
				dst.AddSlot(sl.Start, sl)
			}
		}
	}
	p.Rings = want
	return true
}

// Series returns the mean of one resource at each step of ring ring over
// the last d before now (the slot holding now included), oldest first,
// with NaN where no slot holds samples, and the start of the first step.
// Steps older than the ring reaches are taken from the coarser rings after
// it, each coarse slot's mean repeated over the steps it covers: two weeks
// of 5-minute steps are the 5-minute ring's week and, before it, the hour
// ring's means.
func (p *Profile) Series(now time.Time, d time.Duration, ring int, res Resource) ([]float64, time.Time) {
	r := &p.Rings[ring]
	step := int64(r.Resolution)
	last := min(r.slot(now), r.Head)
	first := r.slot(now) - int64(d/r.Resolution) + 1
	if r.Slots == 0 || last < first {
		return nil, time.Time{}
	}
	out := make([]float64, last-first+1)
	for i := range out {
		out[i] = math.NaN()
	}
	// to is the first step not yet taken from a finer ring.
	to := last + 1
	for k := ring; k < len(p.Rings) && to > first; k++ {
		c := &p.Rings[k]
		if c.Slots == 0 || int64(c.Resolution)%step != 0 {
			continue
		}
		per := int64(c.Resolution) / step
		oldest := (c.Head - int64(c.Slots) + 1) * per // first step the ring covers
		for s := max(first, oldest); s < to; s++ {
			if sl, ok := c.get(floorDiv(s, per)); ok {
				out[s-first] = sl.Mean[res]
			}
		}
		to = min(to, max(first, oldest))
	}
	return out, time.Unix(0, first*step).UTC()
}

// Bytes is the memory the profile's rings take, the bulk of a profile.
func (p *Profile) Bytes() int {
	n := 0
	for i := range p.Rings {
		n += p.Rings[i].Bytes()
	}
	return n
}

// Stats summarises one resource.
type Stats struct {
	Current, Mean, Peak, P50, P90, P95, P99 float64
}

// Summary returns the statistics of each resource over the last window
// (taken from the finest ring that covers it) and the quantiles of the
// decaying histograms.
func (p *Profile) Summary(now time.Time, window time.Duration) [NumResources]Stats {
	var out [NumResources]Stats
	var pts []Slot
	for i := range p.Rings {
		if p.Rings[i].Span() >= window || i == len(p.Rings)-1 {
			pts = p.Rings[i].Window(now, window)
			break
		}
	}
	for r := range out {
		s := &out[r]
		s.Current = p.Current[r]
		var sum, n float64
		for _, pt := range pts {
			sum += pt.Mean[r] * float64(pt.Count)
			n += float64(pt.Count)
			s.Peak = math.Max(s.Peak, pt.Max[r])
		}
		if n > 0 {
			s.Mean = sum / n
		}
		h := &p.Histograms[r]
		s.P50, s.P90, s.P95, s.P99 = h.Quantile(0.5), h.Quantile(0.9), h.Quantile(0.95), h.Quantile(0.99)
	}
	return out
}
