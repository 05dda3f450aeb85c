package simulate

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// Trace is the usage of a set of workloads on one regular time grid: the
// input of a replay.
type Trace struct {
	// Start is the time of sample 0, Step the grid's interval. Sample i is
	// the usage during [Start+i·Step, Start+(i+1)·Step) and becomes known
	// at the end of that interval.
	Start time.Time
	Step  time.Duration
	// Steps is the number of samples of every series.
	Steps int
	// Pods are the workloads, each replayed as one pod of its own
	// Deployment.
	Pods []PodTrace
}

// PodTrace is one workload of a trace.
type PodTrace struct {
	// Name identifies the workload in the trace (a VM id, a pod name).
	Name string
	// Workload is the name of the workload's Deployment in the simulated
	// cluster, a DNS-1123 label; Normalize derives it from Name when empty.
	Workload string
	// Class is the workload's SLA class; Normalize assigns one by index
	// when empty (see ClassForIndex).
	Class foresightv1alpha1.SLAClass
	// CPURequest (millicores) and MemoryRequest (bytes) are what the
	// owner requests: the pod's requests before rightsizing.
	CPURequest, MemoryRequest int64
	// CPU (millicores) and Memory (bytes) usage per sample, NaN where no
	// sample exists; Disk and Network (bytes per second) may be nil.
	CPU, Memory, Disk, Network []float64
}

// Time returns the start time of sample i.
func (t *Trace) Time(i int) time.Time { return t.Start.Add(time.Duration(i) * t.Step) }

// Index returns the sample whose interval holds ts (possibly out of range).
func (t *Trace) Index(ts time.Time) int {
	d := ts.Sub(t.Start)
	i := int(d / t.Step)
	if d < 0 && d%t.Step != 0 {
		i--
	}
	return i
}

// Lifetime returns the first and last samples with data of the workload:
// its pod exists from the start of the first to the end of the last; gaps
// in between are missing measurements, not departures.
func (p *PodTrace) Lifetime() (first, last int, ok bool) {
	first, last = -1, -1
	for i := range p.CPU {
		if !math.IsNaN(p.CPU[i]) || !math.IsNaN(p.Memory[i]) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	return first, last, first >= 0
}

// ClassForIndex is the SLA class the simulator gives the i-th workload
// (0-based, trace order) when the trace names none: of every ten, one
// critical (i%10 == 0), six standard, two batch and one best-effort.
func ClassForIndex(i int) foresightv1alpha1.SLAClass {
	switch r := i % 10; {
	case r == 0:
		return foresightv1alpha1.SLAClassCritical
	case r <= 6:
		return foresightv1alpha1.SLAClassStandard
	case r <= 8:
		return foresightv1alpha1.SLAClassBatch
	default:
		return foresightv1alpha1.SLAClassBestEffort
	}
}

// Errors of trace validation.
var (
	ErrEmptyTrace = errors.New("trace has no workloads")
	ErrBadTrace   = errors.New("invalid trace")
)

var invalidLabelChars = regexp.MustCompile(`[^a-z0-9-]+`)

// workloadName turns a name into a DNS-1123 label short enough for the
// Deployment, ReplicaSet and pod names derived from it.
func workloadName(name string) string {
	s := invalidLabelChars.ReplaceAllString(strings.ToLower(name), "-")
	s = strings.Trim(s, "-")
	if len(s) > 40 {
		s = strings.Trim(s[:40], "-")
	}
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		s = "w-" + s
	}
	return strings.TrimSuffix(s, "-")
}

// Normalize checks the trace and fills in what may be left out: workload
// names (unique DNS-1123 labels derived from the names) and SLA classes
// (ClassForIndex). Series must all have Steps samples; usage must not be
// negative or infinite; requests must be positive.
func (t *Trace) Normalize() error {
	if len(t.Pods) == 0 {
		return ErrEmptyTrace
	}
	if t.Step <= 0 {
		return fmt.Errorf("%w: step %v is not positive", ErrBadTrace, t.Step)
	}
	used := map[string]bool{}
	for i := range t.Pods {
		p := &t.Pods[i]
		if p.Workload == "" {
			p.Workload = workloadName(p.Name)
		}
		base := p.Workload
		for n := 2; used[p.Workload]; n++ {
			p.Workload = base + "-" + strconv.Itoa(n)
		}
		used[p.Workload] = true
		if p.Class == "" {
			p.Class = ClassForIndex(i)
		}
		if _, ok := annotations.Properties(p.Class); !ok {
			return fmt.Errorf("%w: workload %q: unknown SLA class %q", ErrBadTrace, p.Name, p.Class)
		}
		if p.CPURequest <= 0 || p.MemoryRequest <= 0 {
			return fmt.Errorf("%w: workload %q: requests must be positive (cpu %dm, memory %d bytes)", ErrBadTrace, p.Name, p.CPURequest, p.MemoryRequest)
		}
		for _, s := range []struct {
			name     string
			v        []float64
			optional bool
		}{{"cpu", p.CPU, false}, {"memory", p.Memory, false}, {"disk", p.Disk, true}, {"network", p.Network, true}} {
			if s.v == nil && s.optional {
				continue
			}
			if len(s.v) != t.Steps {
				return fmt.Errorf("%w: workload %q: %s has %d samples, the trace %d", ErrBadTrace, p.Name, s.name, len(s.v), t.Steps)
			}
			for j, x := range s.v {
				if x < 0 || math.IsInf(x, 0) {
					return fmt.Errorf("%w: workload %q: %s sample %d is %v", ErrBadTrace, p.Name, s.name, j, x)
				}
			}
		}
	}
	return nil
}

// filled returns x with every gap replaced by the last value before it
// (the first value before the first sample): what a workload is taken to
// use while it is not measured.
func filled(x []float64) []float64 {
	out := make([]float64, len(x))
	last := math.NaN()
	for _, v := range x {
		if !math.IsNaN(v) {
			last = v
			break
		}
	}
	if math.IsNaN(last) {
		return out
	}
	for i, v := range x {
		if !math.IsNaN(v) {
			last = v
		}
		out[i] = last
	}
	return out
}
