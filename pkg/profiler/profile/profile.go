package profile

import (
	"math"
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

// Point is one slot of a ring: the mean and the maximum of the samples that
// fell into it, per resource.
type Point struct {
	Mean  [NumResources]float32
	Max   [NumResources]float32
	Count uint32
}

// Ring is a rolling window of fixed-resolution slots.
type Ring struct {
	// Resolution of one slot.
	Resolution time.Duration
	// Head is the slot number (unix time / resolution) of the newest slot;
	// slot n lives at Points[n % len(Points)].
	Head   int64
	Points []Point
}

// NewRing returns a ring covering span at resolution.
func NewRing(resolution, span time.Duration) Ring {
	return Ring{Resolution: resolution, Points: make([]Point, int(span/resolution))}
}

// Span is the history the ring covers.
func (r *Ring) Span() time.Duration { return r.Resolution * time.Duration(len(r.Points)) }

func (r *Ring) slot(t time.Time) int64 { return t.UnixNano() / int64(r.Resolution) }

// Add folds a sample into its slot; samples older than the ring are
// dropped.
func (r *Ring) Add(t time.Time, v [NumResources]float64) {
	n := int64(len(r.Points))
	if n == 0 {
		return
	}
	s := r.slot(t)
	if s > r.Head {
		// Clear the slots skipped since the newest one.
		from := r.Head + 1
		if s-from >= n {
			from = s - n + 1
		}
		for i := from; i <= s; i++ {
			r.Points[i%n] = Point{}
		}
		r.Head = s
	} else if s <= r.Head-n {
		return
	}
	p := &r.Points[s%n]
	p.Count++
	for i := range v {
		f := float32(v[i])
		p.Mean[i] += (f - p.Mean[i]) / float32(p.Count)
		if p.Count == 1 || f > p.Max[i] {
			p.Max[i] = f
		}
	}
}

// Window returns the points of the last d before now, oldest first, skipping
// empty slots.
func (r *Ring) Window(now time.Time, d time.Duration) []Point {
	n := int64(len(r.Points))
	last := r.slot(now)
	first := last - int64(d/r.Resolution) + 1
	if first < r.Head-n+1 {
		first = r.Head - n + 1
	}
	if last > r.Head {
		last = r.Head
	}
	var out []Point
	for s := first; s <= last; s++ {
		if p := r.Points[((s%n)+n)%n]; p.Count > 0 {
			out = append(out, p)
		}
	}
	return out
}

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
	// 5 min for 1 week.
	Rings []Ring
	// Histograms per resource, half-life 24 h.
	Histograms [NumResources]Histogram
}

// DefaultRings are the windows every profile keeps.
func DefaultRings() []Ring {
	return []Ring{
		NewRing(10*time.Second, time.Hour),
		NewRing(time.Minute, 24*time.Hour),
		NewRing(5*time.Minute, 7*24*time.Hour),
	}
}

// New returns an empty profile.
func New(key string) *Profile {
	p := &Profile{Key: key, Rings: DefaultRings()}
	first := [NumResources]float64{CPU: 0.001, Memory: 1 << 20, DiskIO: 1024, Network: 1024}
	for i := range p.Histograms {
		p.Histograms[i] = NewHistogram(first[i], 1.05, 24*time.Hour)
	}
	return p
}

// Add records a sample of every resource at t.
func (p *Profile) Add(t time.Time, v [NumResources]float64) {
	p.Current, p.CurrentTime = v, t
	p.Samples++
	for i := range p.Rings {
		p.Rings[i].Add(t, v)
	}
	for i := range p.Histograms {
		p.Histograms[i].Add(t, v[i])
	}
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
	var pts []Point
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
			sum += float64(pt.Mean[r]) * float64(pt.Count)
			n += float64(pt.Count)
			s.Peak = math.Max(s.Peak, float64(pt.Max[r]))
		}
		if n > 0 {
			s.Mean = sum / n
		}
		h := &p.Histograms[r]
		s.P50, s.P90, s.P95, s.P99 = h.Quantile(0.5), h.Quantile(0.9), h.Quantile(0.95), h.Quantile(0.99)
	}
	return out
}
