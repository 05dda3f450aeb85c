package simulate

import (
	"math"
	"sort"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// NumClasses is the number of SLA classes; per-class counts are indexed by
// annotations.Rank (best-effort 0 … critical 3).
const NumClasses = 4

// Classes lists the SLA classes from the highest rank down, the order of
// tables.
var Classes = []foresightv1alpha1.SLAClass{foresightv1alpha1.SLAClassCritical, foresightv1alpha1.SLAClassStandard,
	foresightv1alpha1.SLAClassBatch, foresightv1alpha1.SLAClassBestEffort}

// ClassCounts are counts per SLA class, indexed by annotations.Rank.
type ClassCounts [NumClasses]int64

// Of returns the count of a class.
func (c *ClassCounts) Of(class foresightv1alpha1.SLAClass) int64 { return c[annotations.Rank(class)] }

// Total returns the sum over classes.
func (c *ClassCounts) Total() int64 {
	var t int64
	for _, v := range c {
		t += v
	}
	return t
}

// podLoad is a placed pod's demand during one step.
type podLoad struct {
	cpu, mem float64 // millicores, bytes
	rank     int
}

// tally is what one step (or a whole run) did to pods, per class.
type tally struct {
	// Intervals counts pod-steps on a node; Throttled those on a node
	// whose CPU demand exceeded its capacity; OOMKills the pods killed for
	// memory; Violated the pod-steps throttled or killed.
	Intervals, Throttled, OOMKills, Violated ClassCounts
}

func (t *tally) add(o *tally) {
	for i := range NumClasses {
		t.Intervals[i] += o.Intervals[i]
		t.Throttled[i] += o.Throttled[i]
		t.OOMKills[i] += o.OOMKills[i]
		t.Violated[i] += o.Violated[i]
	}
}

// accountNode charges one node's pods for one step and returns the CPU and
// memory it delivered. CPU demand above capacity throttles every pod of
// the node (a violation for each); memory demand above capacity has the
// kernel kill pods, the lowest class first and within it the largest, until
// the rest fit (a violation for each killed pod). loads is reordered.
func accountNode(cpuCap, memCap float64, loads []podLoad, t *tally) (cpu, mem float64) {
	for _, l := range loads {
		cpu += l.cpu
		mem += l.mem
		t.Intervals[l.rank]++
	}
	throttled := cpu > cpuCap
	killed := 0
	if mem > memCap {
		sort.Slice(loads, func(i, j int) bool {
			if loads[i].rank != loads[j].rank {
				return loads[i].rank < loads[j].rank
			}
			return loads[i].mem > loads[j].mem
		})
		for killed < len(loads) && mem > memCap {
			mem -= loads[killed].mem
			t.OOMKills[loads[killed].rank]++
			killed++
		}
	}
	for i, l := range loads {
		if throttled {
			t.Throttled[l.rank]++
		}
		if throttled || i < killed {
			t.Violated[l.rank]++
		}
	}
	return math.Min(cpu, cpuCap), math.Min(math.Max(mem, 0), memCap)
}

// utilHist is a histogram of utilisations in [0, 1] at 0.1% resolution,
// with the capacity-weighted mean.
type utilHist struct {
	bins         [1001]int64
	used, capSum float64
	n            int64
}

func (h *utilHist) add(used, capacity float64) {
	if capacity <= 0 {
		return
	}
	used = math.Min(math.Max(used, 0), capacity)
	h.bins[int(math.Round(used/capacity*1000))]++
	h.n++
	h.used += used
	h.capSum += capacity
}

// mean is the utilisation of all capacity: Σ used / Σ capacity.
func (h *utilHist) mean() float64 {
	if h.capSum == 0 {
		return 0
	}
	return h.used / h.capSum
}

// quantile is the q-quantile of the node-step utilisations.
func (h *utilHist) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	target := int64(math.Ceil(q * float64(h.n)))
	var acc int64
	for i, c := range h.bins {
		acc += c
		if acc >= target {
			return float64(i) / 1000
		}
	}
	return 1
}
