package rightsize

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
)

// Reason says why a pod's requests were or were not changed. The values are
// a closed set, usable as a metric label.
type Reason string

// The reasons of a Decision: Rightsized when requests change, the others
// when they are kept.
const (
	// Rightsized: at least one request was lowered.
	Rightsized Reason = "rightsized"
	// AlreadyRightsized: the pod carries foresight.dev/original-requests;
	// rightsizing twice would take the lowered requests for the original.
	AlreadyRightsized Reason = "already-rightsized"
	// Disabled: the namespace has no TenantPolicy or its policy does not
	// enable rightsizing.
	Disabled Reason = "disabled"
	// AnnotationsRefused: the pod's foresight.dev/ annotations break the
	// namespace's policy; the scheduler refuses the pod and says why.
	AnnotationsRefused Reason = "annotations-refused"
	// NotOvercommittable: the pod's SLA class (critical) reserves its
	// requests in full.
	NotOvercommittable Reason = "not-overcommittable"
	// PodLevelResources: the pod sets spec.resources, whose requests
	// govern scheduling whatever its containers request.
	PodLevelResources Reason = "pod-level-resources"
	// GuaranteedQoS: every container's requests equal its limits; lowering
	// them would make the pod Burstable.
	GuaranteedQoS Reason = "guaranteed-qos"
	// InvalidRequests: a request exceeds its limit; API validation refuses
	// the pod, and rightsizing must not make it valid behind its back.
	InvalidRequests Reason = "invalid-requests"
	// NoRequests: no container requests CPU or memory; rightsizing never
	// adds requests.
	NoRequests Reason = "no-requests"
	// NoProfile: no usable WorkloadProfile describes the pod's containers;
	// without one nothing is known below the requests.
	NoProfile Reason = "no-profile"
	// AtPrediction: the predictions are not enough below the requests.
	AtPrediction Reason = "at-prediction"
)

// Reasons lists every Reason, for metrics and documentation.
var Reasons = []Reason{
	Rightsized, AlreadyRightsized, Disabled, AnnotationsRefused, NotOvercommittable, PodLevelResources,
	GuaranteedQoS, InvalidRequests, NoRequests, NoProfile, AtPrediction,
}

// Options tune Decide. DefaultOptions gives the documented defaults.
type Options struct {
	// Now and Horizon bound the forecast points considered: a request
	// covers the largest predicted upper bound within the horizon.
	Now     time.Time
	Horizon time.Duration
	// MinMilliCPU and MinMemory are the smallest requests rightsizing
	// sets (never above the original request); they keep a pod that is
	// idle when profiled from being admitted with next to nothing, and a
	// Burstable pod from becoming BestEffort.
	MinMilliCPU int64
	MinMemory   int64
	// MinChangePercent: a request is lowered only if that saves at least
	// this share of it, so that pods are not mutated for noise.
	MinChangePercent int64
}

// DefaultOptions are the options the webhook uses unless told otherwise:
// a day of forecast (until the controller resizes running pods, an
// admission request must hold through a daily peak), 10m CPU and 16Mi
// memory at least, changes of 5% or more.
func DefaultOptions(now time.Time) Options {
	return Options{Now: now, Horizon: 24 * time.Hour, MinMilliCPU: 10, MinMemory: 16 << 20, MinChangePercent: 5}
}

// Container is what rightsizing does to one app container.
type Container struct {
	// Name of the container.
	Name string
	// Original holds the container's CPU and memory requests before
	// rightsizing; a resource it does not request is absent.
	Original v1.ResourceList
	// Requests holds its CPU and memory requests after rightsizing, with
	// the same resources as Original.
	Requests v1.ResourceList
}

// Decision is what Decide made of a pod.
type Decision struct {
	// Changed is true when at least one request is lowered (or, for
	// DecideResize, changes).
	Changed bool
	// Grows is true when DecideResize raises at least one request.
	Grows bool
	// Pooled is true when DecidePartitionResize sized the pod by its share
	// of its partition's pooled demand, below its own bound.
	Pooled bool
	// Reason is Rightsized when Changed, else why nothing changes.
	Reason Reason
	// Message explains the decision to a human.
	Message string
	// Class is the pod's SLA class once resolved against its policy.
	Class foresightv1alpha1.SLAClass
	// Source is where the predictions came from (the least informed
	// source of any container); empty when nothing was predicted.
	Source demand.Source
	// Containers are the pod's app containers in spec order, when
	// predictions were computed (Rightsized and AtPrediction).
	Containers []Container
}

// resources are the resources rightsizing sets, in patch order; any other
// resource of a container is left as it is.
var resources = [...]struct {
	name v1.ResourceName
	idx  int
}{{v1.ResourceCPU, demand.CPU}, {v1.ResourceMemory, demand.Memory}}

// eligible reads the pod's SLA class under its namespace's policy, or
// says why rightsizing leaves the pod alone: no policy, rightsizing not
// enabled, annotations refused, or a class that is never overcommitted.
// Decide and DecideResize share it.
func eligible(pod *v1.Pod, policy *foresightv1alpha1.TenantPolicySpec) (annotations.Spec, annotations.ClassProperties, *Decision) {
	var props annotations.ClassProperties
	if policy == nil {
		d := keep(Disabled, "the namespace has no TenantPolicy")
		return annotations.Spec{}, props, &d
	}
	if !policy.Rightsizing.Enabled {
		d := keep(Disabled, "the namespace's TenantPolicy does not enable rightsizing")
		return annotations.Spec{}, props, &d
	}
	spec, err := annotations.ForPod(pod, policy)
	if err != nil {
		d := keep(AnnotationsRefused, "foresight.dev annotations refused: %v", err)
		return spec, props, &d
	}
	props, ok := annotations.Properties(spec.Class)
	if !ok || !props.Overcommit {
		d := keep(NotOvercommittable, "SLA class %s is never overcommitted: its requests are reserved in full", spec.Class)
		d.Class = spec.Class
		return spec, props, &d
	}
	return spec, props, nil
}

// Decide returns the requests a pod should be admitted with. policy is the
// spec of the namespace's TenantPolicy (nil when it has none), profile the
// status of the pod's WorkloadProfile (nil when there is none or it is
// stale).
//
// Each app container's CPU and memory request becomes its predicted upper
// demand at the confidence of the pod's SLA class, rounded up (memory to a
// MiB), at least Options.MinMilliCPU / MinMemory, at most the container's
// limit and never above its original request: rightsizing only lowers, so
// that a pod never becomes harder to schedule, or unschedulable, behind its
// owner's back. A resource a container does not request gets no request
// (adding one would raise it from zero). The pod's CPU guarantee
// (foresight.dev/min-cpu) bounds the sum of the CPU requests from below:
// the shortfall goes back to the containers in spec order, each up to its
// original request. Init and sidecar containers, and resources other than
// CPU and memory, are left as they are.
func Decide(pod *v1.Pod, policy *foresightv1alpha1.TenantPolicySpec, profile *foresightv1alpha1.WorkloadProfileStatus, opts Options) Decision {
	if _, ok := pod.Annotations[annotations.OriginalRequests]; ok {
		return keep(AlreadyRightsized, "the pod already carries %s: it was rightsized once", annotations.OriginalRequests)
	}
	spec, props, refused := eligible(pod, policy)
	if refused != nil {
		return *refused
	}
	d := decide(pod, profile, spec, props.Confidence, opts)
	d.Class = spec.Class
	return d
}

func decide(pod *v1.Pod, profile *foresightv1alpha1.WorkloadProfileStatus, spec annotations.Spec, confidence float64, opts Options) Decision {
	t, refused := predictTargets(pod, profile, spec, confidence, opts, nil)
	if refused != nil {
		return *refused
	}
	d := Decision{Reason: AtPrediction, Source: t.source, Containers: make([]Container, len(t.all))}
	var changes []string
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		a := &t.all[i]
		out := Container{Name: c.Name, Original: v1.ResourceList{}, Requests: v1.ResourceList{}}
		for _, r := range resources {
			if !a.has[r.idx] {
				continue
			}
			orig, next := a.orig[r.idx], a.next[r.idx]
			if (orig-next)*100 < orig*opts.MinChangePercent {
				next = orig
			}
			out.Original[r.name] = c.Resources.Requests[r.name].DeepCopy()
			if next == orig {
				out.Requests[r.name] = c.Resources.Requests[r.name].DeepCopy()
				continue
			}
			q := quantity(next, r.idx)
			out.Requests[r.name] = q
			orq := c.Resources.Requests[r.name]
			changes = append(changes, fmt.Sprintf("%s %s %s→%s", c.Name, r.name, orq.String(), q.String()))
			d.Changed = true
		}
		d.Containers[i] = out
	}
	conf := confidenceText(confidence)
	if !d.Changed {
		d.Message = fmt.Sprintf("the predicted demand at %s confidence (%s) is not %d%% or more below any request", conf, t.source, opts.MinChangePercent)
		return d
	}
	d.Reason = Rightsized
	d.Message = fmt.Sprintf("requests lowered to the predicted demand at %s confidence (%s): %s", conf, t.source, strings.Join(changes, ", "))
	return d
}

func confidenceText(confidence float64) string {
	return strconv.FormatFloat(confidence*100, 'g', 4, 64) + "%"
}

// amounts are one app container's CPU and memory: the ceiling (the
// original request), the request rightsizing targets, and which resources
// the container requests.
type amounts struct {
	orig, next demand.Vector
	// floor is the least request rightsizing may set: the minimums, at
	// most the limit and the ceiling (the current request for a container
	// without a profile).
	floor demand.Vector
	has   [demand.NumResources]bool
	// profiled is set when a profile describes the container.
	profiled bool
}

// targets are the requests rightsizing aims at for every app container.
type targets struct {
	all    []amounts
	source demand.Source
	// expected is the pod's expected demand (demand.Prediction.Expected)
	// over the horizon.
	expected demand.Vector
	// minCPU is the pod's CPU guarantee in millicores (0: none).
	minCPU int64
}

// predictTargets checks that the pod may be rightsized and computes, for
// each app container and resource it requests, the predicted upper demand
// at confidence over Options.Horizon, rounded up, at least the minimums,
// at most the container's limit and its ceiling, with the pod's CPU
// guarantee given back to the containers in spec order up to their
// ceilings. ceilings are the containers' original requests in spec order
// (nil: the current requests). It returns a decision instead when the pod
// may not be rightsized.
func predictTargets(pod *v1.Pod, profile *foresightv1alpha1.WorkloadProfileStatus, spec annotations.Spec, confidence float64, opts Options, ceilings []v1.ResourceList) (targets, *Decision) {
	refuse := func(reason Reason, format string, args ...any) (targets, *Decision) {
		d := keep(reason, format, args...)
		return targets{}, &d
	}
	if resourcehelper.IsPodLevelRequestsSet(pod) {
		return refuse(PodLevelResources, "the pod sets pod-level requests (spec.resources), which govern its scheduling")
	}
	if qos.ComputePodQOS(pod) == v1.PodQOSGuaranteed {
		return refuse(GuaranteedQoS, "the pod's QoS class is Guaranteed (requests equal limits); rightsizing would make it Burstable")
	}
	requested := false
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		for _, r := range resources {
			req, ok := c.Resources.Requests[r.name]
			if !ok {
				continue
			}
			requested = true
			if lim, ok := c.Resources.Limits[r.name]; ok && req.Cmp(lim) > 0 {
				return refuse(InvalidRequests, "container %s requests %s %s, above its limit %s", c.Name, req.String(), r.name, lim.String())
			}
		}
	}
	if !requested {
		return refuse(NoRequests, "no container requests cpu or memory; rightsizing never adds requests")
	}
	profiled := map[string]bool{}
	if profile != nil {
		for i := range profile.Containers {
			profiled[profile.Containers[i].Name] = true
		}
	}
	covered := false
	for i := range pod.Spec.Containers {
		covered = covered || profiled[pod.Spec.Containers[i].Name]
	}
	if !covered {
		return refuse(NoProfile, "no usable WorkloadProfile describes the pod's containers: requests kept")
	}

	pred := demand.Predict(pod, demand.Input{Profile: profile, Confidence: confidence, Now: opts.Now, Horizon: opts.Horizon})
	all := make([]amounts, len(pod.Spec.Containers))
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		a := &all[i]
		for _, r := range resources {
			q, ok := c.Resources.Requests[r.name]
			if !ok {
				continue
			}
			a.has[r.idx] = true
			a.orig[r.idx] = demand.QuantityIn(q, r.idx)
			if i < len(ceilings) {
				if cq, ok := ceilings[i][r.name]; ok {
					a.orig[r.idx] = max(a.orig[r.idx], demand.QuantityIn(cq, r.idx))
				}
			}
			a.next[r.idx] = demand.QuantityIn(q, r.idx)
			a.floor[r.idx] = a.next[r.idx]
			if !profiled[c.Name] {
				continue
			}
			a.profiled = true
			next, floor := pred.Containers[i][r.idx], opts.MinMilliCPU
			if r.idx == demand.CPU {
				next = max(next, opts.MinMilliCPU)
			} else {
				next = roundUp(max(next, opts.MinMemory), 1<<20)
				floor = roundUp(opts.MinMemory, 1<<20)
			}
			if lim, ok := c.Resources.Limits[r.name]; ok {
				next = min(next, demand.QuantityIn(lim, r.idx))
				floor = min(floor, demand.QuantityIn(lim, r.idx))
			}
			a.next[r.idx] = min(next, a.orig[r.idx])
			a.floor[r.idx] = min(floor, a.orig[r.idx])
		}
	}
	// The CPU guarantee is the pod's: what the containers lost below it
	// goes back to them in spec order, each up to its original request.
	if minCPU := spec.MinCPU.MilliValue(); minCPU > 0 {
		var sum int64
		for i := range all {
			sum += all[i].next[demand.CPU]
		}
		for i := range all {
			if sum >= minCPU {
				break
			}
			back := max(0, min(all[i].orig[demand.CPU]-all[i].next[demand.CPU], minCPU-sum))
			all[i].next[demand.CPU] += back
			sum += back
		}
	}
	return targets{all: all, source: pred.Source, expected: pred.Expected, minCPU: spec.MinCPU.MilliValue()}, nil
}

// keep is a decision that changes nothing.
func keep(reason Reason, format string, args ...any) Decision {
	return Decision{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// quantity writes an amount of resource idx as Kubernetes would: CPU in
// cores or millicores, memory in binary units.
func quantity(v int64, idx int) resource.Quantity {
	if idx == demand.CPU {
		return *resource.NewMilliQuantity(v, resource.DecimalSI)
	}
	return *resource.NewQuantity(v, resource.BinarySI)
}

func roundUp(v, unit int64) int64 {
	if r := v % unit; r != 0 {
		return v + unit - r
	}
	return v
}
