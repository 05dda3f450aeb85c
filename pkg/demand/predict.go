// Package demand predicts what a pod will use, from its workload's profile
// at the confidence of its SLA class, with the pod's requests and a default
// as fallbacks. The scheduler plugins, the rightsizing webhook and the
// simulator share it, so that they agree on every number.
package demand

import (
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// Source says where a pod's predicted demand came from.
type Source string

// The sources of a pod's demand, from the most to the least informed.
const (
	SourceForecast Source = "forecast" // the workload's forecast upper bound
	SourceProfile  Source = "profile"  // the workload's usage quantile
	SourceRequests Source = "requests" // the pod's requests
	SourceDefault  Source = "default"  // the documented default demand
)

// rank orders sources from least to most informed.
func (s Source) rank() int {
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

// Hours is the number of slots of a daily shape.
const Hours = 24

// Prediction is the predicted demand of a pod.
type Prediction struct {
	// Upper is the demand at the SLA class's confidence, init containers
	// and guarantees included: what the pod must be given.
	Upper Vector
	// Expected is the pod's typical demand (its mean), at most Upper.
	Expected Vector
	// Containers are the upper demands of the pod's app containers, in
	// spec order, before guarantees.
	Containers []Vector
	// Source is the least informed source used by any container.
	Source Source
	// Daily is the shape of the pod's CPU (index 0) and memory (index 1)
	// demand over a day in UTC hours, as factors of Expected in thousandths
	// (1000 = the mean); nil when no daily rhythm is known.
	Daily *[2][Hours]int32
}

// Input is what Predict needs besides the pod.
type Input struct {
	// Profile is the pod's workload profile; nil when there is none or it
	// is stale.
	Profile *foresightv1alpha1.WorkloadProfileStatus
	// Confidence of the pod's SLA class.
	Confidence float64
	// Now and Horizon bound the forecast points considered.
	Now     time.Time
	Horizon time.Duration
	// Defaults for a container with neither profile nor requests.
	DefaultMilliCPU, DefaultMemory int64
	// MinMilliCPU is the pod's CPU guarantee, reserved in full.
	MinMilliCPU int64
}

// Predict returns the pod's demand: per container, the upper bound of its
// workload's forecast over the horizon at the class's confidence, else the
// usage quantile matching the confidence, else its requests, else the
// default; per resource, never below a guarantee.
func Predict(pod *v1.Pod, in Input) Prediction {
	d := Prediction{Source: SourceForecast, Containers: make([]Vector, len(pod.Spec.Containers))}
	var profiles map[string]*foresightv1alpha1.ContainerProfile
	if in.Profile != nil {
		profiles = make(map[string]*foresightv1alpha1.ContainerProfile, len(in.Profile.Containers))
		for i := range in.Profile.Containers {
			profiles[in.Profile.Containers[i].Name] = &in.Profile.Containers[i]
		}
	}
	var daily [2][Hours]int64
	shaped := false
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		p := profiles[c.Name]
		upper, expected, src := containerDemand(c, p, in)
		d.Containers[i] = upper
		d.Upper = d.Upper.Add(upper)
		d.Expected = d.Expected.Add(expected)
		if src.rank() < d.Source.rank() {
			d.Source = src
		}
		for r := range 2 {
			f, ok := hourlyFactors(p, r)
			shaped = shaped || ok
			for h := range Hours {
				daily[r][h] += expected[r] * int64(f[h])
			}
		}
	}
	if len(pod.Spec.Containers) == 0 {
		d.Source = SourceDefault
	}
	if shaped {
		d.Daily = new([2][Hours]int32)
		for r := range 2 {
			for h := range Hours {
				if d.Expected[r] > 0 {
					d.Daily[r][h] = int32(daily[r][h] / d.Expected[r])
				} else {
					d.Daily[r][h] = 1000
				}
			}
		}
	}
	// Init containers run before the others: the pod needs the largest of
	// them at start, as kube-scheduler counts it.
	for i := range pod.Spec.InitContainers {
		v, _, _ := containerDemand(&pod.Spec.InitContainers[i], nil, in)
		d.Upper = d.Upper.Max(v)
	}
	// A guarantee is reserved in full: it is certain demand, not spread
	// that others may share.
	d.Upper[CPU] = max(d.Upper[CPU], in.MinMilliCPU)
	d.Expected[CPU] = max(d.Expected[CPU], in.MinMilliCPU)
	return d
}

// hourlyFactors returns the daily shape of resource r (CPU or memory) of a
// container profile resampled to hours, and whether it has one; the flat
// shape otherwise.
func hourlyFactors(p *foresightv1alpha1.ContainerProfile, r int) ([Hours]int32, bool) {
	var f [Hours]int32
	for h := range f {
		f[h] = 1000
	}
	if p == nil {
		return f, false
	}
	name := foresightv1alpha1.ResourceCPU
	if r == Memory {
		name = foresightv1alpha1.ResourceMemory
	}
	for i := range p.DailyShape {
		s := &p.DailyShape[i]
		n := len(s.FactorsPerMille)
		if s.Resource != name || n == 0 || s.Period.Duration != 24*time.Hour {
			continue
		}
		// Each hour takes the largest factor of the slots it overlaps, so
		// that a peak shorter than an hour is not averaged away.
		for h := range Hours {
			lo, hi := h*n/Hours, ((h+1)*n+Hours-1)/Hours
			best := int32(0)
			for j := lo; j < hi && j < n; j++ {
				best = max(best, s.FactorsPerMille[j])
			}
			f[h] = max(best, 0)
		}
		return f, true
	}
	return f, false
}

// containerDemand returns a container's upper and expected demand and
// where they came from.
func containerDemand(c *v1.Container, p *foresightv1alpha1.ContainerProfile, in Input) (Vector, Vector, Source) {
	if p != nil {
		if up, exp, ok := forecastDemand(p, in); ok {
			return up, exp.Min(up), SourceForecast
		}
		if up, ok := profileDemand(p, in.Confidence); ok {
			exp, _ := profileDemand(p, 0)
			if mean, ok := meanDemand(p); ok {
				exp = mean
			}
			return up, exp.Min(up), SourceProfile
		}
	}
	var v Vector
	src := SourceRequests
	if q, ok := c.Resources.Requests[v1.ResourceCPU]; ok {
		v[CPU] = q.MilliValue()
	} else {
		v[CPU] = in.DefaultMilliCPU
		src = SourceDefault
	}
	if q, ok := c.Resources.Requests[v1.ResourceMemory]; ok {
		v[Memory] = q.Value()
	} else {
		v[Memory] = in.DefaultMemory
		src = SourceDefault
	}
	// Without a profile nothing is known of the spread: the typical demand
	// is taken to be the whole request.
	return v, v, src
}

// meanDemand is the container's mean usage, when CPU and memory have one.
func meanDemand(p *foresightv1alpha1.ContainerProfile) (Vector, bool) {
	stats := []*foresightv1alpha1.ResourceStatistics{p.Usage.CPU, p.Usage.Memory, p.Usage.DiskIO, p.Usage.Network}
	var v Vector
	for idx, s := range stats {
		if s == nil || s.Mean == nil {
			if idx == CPU || idx == Memory {
				return Vector{}, false
			}
			continue
		}
		v[idx] = QuantityIn(*s.Mean, idx)
	}
	return v, true
}

// forecastDemand is the largest upper bound of the container's CPU and
// memory forecasts over the horizon, when both exist at a confidence at
// least the class's.
func forecastDemand(p *foresightv1alpha1.ContainerProfile, in Input) (Vector, Vector, bool) {
	var v, exp Vector
	found := map[foresightv1alpha1.ResourceName]bool{}
	for i := range p.Forecasts {
		f := &p.Forecasts[i]
		idx, ok := resourceIndex(f.Resource)
		if !ok || parseConfidence(f.Confidence) < in.Confidence {
			continue
		}
		peak, sum, n := int64(0), int64(0), int64(0)
		for j := range f.Points {
			pt := &f.Points[j]
			if at := pt.Time.Time; at.Before(in.Now) || at.After(in.Now.Add(in.Horizon)) {
				continue
			}
			q := pt.Value
			if pt.Upper != nil {
				q = *pt.Upper
			}
			peak = max(peak, QuantityIn(q, idx))
			sum += QuantityIn(pt.Value, idx)
			n++
		}
		if n > 0 {
			v[idx] = peak
			exp[idx] = sum / n
			found[f.Resource] = true
		}
	}
	return v, exp, found[foresightv1alpha1.ResourceCPU] && found[foresightv1alpha1.ResourceMemory]
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
		v[idx] = QuantityIn(*q, idx)
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
