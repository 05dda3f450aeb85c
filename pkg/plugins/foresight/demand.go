package foresight

import (
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// Resources Foresight accounts for, as indices into a Vector.
const (
	CPU     = iota // millicores
	Memory         // bytes
	DiskIO         // bytes per second
	Network        // bytes per second
	numResources
)

// Vector is an amount of each resource: CPU in millicores, memory in
// bytes, disk I/O and network in bytes per second.
type Vector [numResources]int64

// Add returns v + o.
func (v Vector) Add(o Vector) Vector {
	for i := range v {
		v[i] += o[i]
	}
	return v
}

// Sub returns v - o.
func (v Vector) Sub(o Vector) Vector {
	for i := range v {
		v[i] -= o[i]
	}
	return v
}

// Max returns the element-wise maximum of v and o.
func (v Vector) Max(o Vector) Vector {
	for i := range v {
		v[i] = max(v[i], o[i])
	}
	return v
}

// FitsIn tells whether v is within limit in every resource the limit
// bounds; a zero or negative limit means "not bounded".
func (v Vector) FitsIn(limit Vector) bool {
	for i := range v {
		if limit[i] > 0 && v[i] > limit[i] {
			return false
		}
	}
	return true
}

// DemandSource says where a pod's predicted demand came from.
type DemandSource string

// The sources of a pod's demand, from the most to the least informed.
const (
	SourceForecast DemandSource = "forecast" // the workload's forecast upper bound
	SourceProfile  DemandSource = "profile"  // the workload's usage quantile
	SourceRequests DemandSource = "requests" // the pod's requests
	SourceDefault  DemandSource = "default"  // the plugin's default demand
)

// Demand is the predicted demand of a pod at its SLA class's confidence.
type Demand struct {
	Vector Vector
	// Source is the least informed source used by any container.
	Source DemandSource
}

// rank orders sources from least to most informed.
func (s DemandSource) rank() int {
	switch s {
	case SourceForecast:
		return 3
	case SourceProfile:
		return 2
	case SourceRequests:
		return 1
	default:
		return 0
	}
}

// demandInput is what predictDemand needs besides the pod.
type demandInput struct {
	// profile is the pod's workload profile; nil when there is none or it
	// is stale.
	profile *foresightv1alpha1.WorkloadProfileStatus
	// confidence of the pod's SLA class.
	confidence float64
	// now and horizon bound the forecast points considered.
	now     time.Time
	horizon time.Duration
	// defaults for a container with neither profile nor requests.
	defaultMilliCPU, defaultMemory int64
	// minMilliCPU is the pod's CPU guarantee, reserved in full.
	minMilliCPU int64
}

// predictDemand returns the pod's demand: per container, the upper bound of
// its workload's forecast over the horizon at the class's confidence, else
// the usage quantile matching the confidence, else its requests, else the
// default; per resource, never below a guarantee.
func predictDemand(pod *v1.Pod, in demandInput) Demand {
	d := Demand{Source: SourceForecast}
	var profiles map[string]*foresightv1alpha1.ContainerProfile
	if in.profile != nil {
		profiles = make(map[string]*foresightv1alpha1.ContainerProfile, len(in.profile.Containers))
		for i := range in.profile.Containers {
			profiles[in.profile.Containers[i].Name] = &in.profile.Containers[i]
		}
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		v, src := containerDemand(c, profiles[c.Name], in)
		d.Vector = d.Vector.Add(v)
		if src.rank() < d.Source.rank() {
			d.Source = src
		}
	}
	if len(pod.Spec.Containers) == 0 {
		d.Source = SourceDefault
	}
	// Init containers run before the others: the pod needs the largest of
	// them at start, as kube-scheduler counts it.
	for i := range pod.Spec.InitContainers {
		v, _ := containerDemand(&pod.Spec.InitContainers[i], nil, in)
		d.Vector = d.Vector.Max(v)
	}
	d.Vector[CPU] = max(d.Vector[CPU], in.minMilliCPU)
	return d
}

func containerDemand(c *v1.Container, p *foresightv1alpha1.ContainerProfile, in demandInput) (Vector, DemandSource) {
	if p != nil {
		if v, ok := forecastDemand(p, in); ok {
			return v, SourceForecast
		}
		if v, ok := profileDemand(p, in.confidence); ok {
			return v, SourceProfile
		}
	}
	var v Vector
	src := SourceRequests
	if q, ok := c.Resources.Requests[v1.ResourceCPU]; ok {
		v[CPU] = q.MilliValue()
	} else {
		v[CPU] = in.defaultMilliCPU
		src = SourceDefault
	}
	if q, ok := c.Resources.Requests[v1.ResourceMemory]; ok {
		v[Memory] = q.Value()
	} else {
		v[Memory] = in.defaultMemory
		src = SourceDefault
	}
	return v, src
}

// forecastDemand is the largest upper bound of the container's CPU and
// memory forecasts over the horizon, when both exist at a confidence at
// least the class's.
func forecastDemand(p *foresightv1alpha1.ContainerProfile, in demandInput) (Vector, bool) {
	var v Vector
	found := map[foresightv1alpha1.ResourceName]bool{}
	for i := range p.Forecasts {
		f := &p.Forecasts[i]
		idx, ok := resourceIndex(f.Resource)
		if !ok || parseConfidence(f.Confidence) < in.confidence {
			continue
		}
		peak, n := int64(0), 0
		for j := range f.Points {
			pt := &f.Points[j]
			if at := pt.Time.Time; at.Before(in.now) || at.After(in.now.Add(in.horizon)) {
				continue
			}
			q := pt.Value
			if pt.Upper != nil {
				q = *pt.Upper
			}
			peak = max(peak, quantityIn(q, idx))
			n++
		}
		if n > 0 {
			v[idx] = peak
			found[f.Resource] = true
		}
	}
	return v, found[foresightv1alpha1.ResourceCPU] && found[foresightv1alpha1.ResourceMemory]
}

// profileDemand is the usage quantile matching the confidence: the peak at
// 0.999 and above, p99, p95, p90, else the median.
func profileDemand(p *foresightv1alpha1.ContainerProfile, confidence float64) (Vector, bool) {
	stats := []*foresightv1alpha1.ResourceStatistics{p.Usage.CPU, p.Usage.Memory, p.Usage.DiskIO, p.Usage.Network}
	var v Vector
	for idx, s := range stats {
		q := quantileFor(s, confidence)
		if q == nil {
			if idx == CPU || idx == Memory {
				return Vector{}, false
			}
			continue
		}
		v[idx] = quantityIn(*q, idx)
	}
	return v, true
}

func quantileFor(s *foresightv1alpha1.ResourceStatistics, confidence float64) *resource.Quantity {
	if s == nil {
		return nil
	}
	switch {
	case confidence >= 0.999:
		return firstSet(s.Peak, s.P99)
	case confidence >= 0.99:
		return firstSet(s.P99, s.Peak)
	case confidence >= 0.95:
		return firstSet(s.P95, s.P99, s.Peak)
	case confidence >= 0.90:
		return firstSet(s.P90, s.P95, s.P99, s.Peak)
	default:
		return firstSet(s.P50, s.P90, s.P95, s.P99, s.Peak)
	}
}

func firstSet(qs ...*resource.Quantity) *resource.Quantity {
	for _, q := range qs {
		if q != nil {
			return q
		}
	}
	return nil
}

// quantityIn converts a quantity to the unit of resource idx.
func quantityIn(q resource.Quantity, idx int) int64 {
	if idx == CPU {
		return q.MilliValue()
	}
	return q.Value()
}

func resourceIndex(r foresightv1alpha1.ResourceName) (int, bool) {
	switch r {
	case foresightv1alpha1.ResourceCPU:
		return CPU, true
	case foresightv1alpha1.ResourceMemory:
		return Memory, true
	case foresightv1alpha1.ResourceDiskIO:
		return DiskIO, true
	case foresightv1alpha1.ResourceNetwork:
		return Network, true
	}
	return 0, false
}

// parseConfidence returns a confidence as a number, 0 when it is invalid
// (so that an invalid forecast is never used).
func parseConfidence(c foresightv1alpha1.Confidence) float64 {
	f, err := c.Float()
	if err != nil {
		return 0
	}
	return f
}
