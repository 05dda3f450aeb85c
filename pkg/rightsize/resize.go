package rightsize

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
)

// The reasons only DecideResize gives (the webhook never does: they are
// not in Reasons); a resize that changes nothing gives AtPrediction or one
// of Decide's reasons.
const (
	// Resized: at least one request of a running pod changes; Grows tells
	// whether any rises.
	Resized Reason = "resized"
	// BadOriginalRequests: the pod's foresight.dev/original-requests
	// annotation cannot be read; the controller does not guess a ceiling.
	BadOriginalRequests Reason = "bad-original-requests"
)

// ResizeOptions are what the controller resizes running pods with:
// DefaultResizeOptions gives the documented defaults.
type ResizeOptions struct {
	// Options: Now, Horizon (the predictions a request must cover: at
	// least until the next resize, plus the time to act), the minimum
	// requests, and MinChangePercent, the hysteresis of shrinking: a
	// request is lowered only if that saves at least this share of it.
	Options
	// MinGrowPercent: a request is raised when the prediction exceeds it
	// by at least this share (0: by any amount). Growing protects the
	// pod, so the default is 0.
	MinGrowPercent int64
	// Pooled has DecidePartitionResize size the members of a partition
	// by their share of the partition's pooled demand instead of each by
	// its own bound (DecidePartitionResize says how). Off by default:
	// the pooled demand takes the members' deviations from their
	// expected demand as independent, which the per-pod bound does not
	// need.
	Pooled bool
}

// DefaultResizeOptions: predictions over the next 2 hours (a controller
// revisiting pods hourly, with an hour to act), the webhook's minimums,
// shrinking by 10% or more, growing by any amount.
func DefaultResizeOptions(now time.Time) ResizeOptions {
	o := DefaultOptions(now)
	o.Horizon = 2 * time.Hour
	o.MinChangePercent = 10
	return ResizeOptions{Options: o}
}

// DecideResize returns the requests a running pod should have now, for
// the controller to set through the pods/resize subresource. policy is the
// spec of the namespace's TenantPolicy (nil when it has none), profile the
// status of the pod's WorkloadProfile (nil when there is none or it is
// stale).
//
// Each app container's CPU and memory request targets its predicted upper
// demand at the confidence of the pod's SLA class over opts.Horizon, as
// Decide computes it (rounded up, at least the minimums, at most the
// container's limit, the pod's CPU guarantee honoured), with the
// container's original request as the ceiling: the larger of the request
// recorded in foresight.dev/original-requests and the current one (a pod
// never rightsized has its current requests as originals). A request rises
// to its target whenever the target exceeds it (by MinGrowPercent or more),
// and falls to it only when that saves MinChangePercent of it, so that
// noise does not resize pods back and forth. The decision's Containers hold
// the originals and the new requests; Grows is set when any request rises,
// for the caller to check that the node still holds the pod. Pods that
// Decide would leave alone (critical, Guaranteed, pod-level resources, no
// profile, rightsizing disabled, annotations refused) are left alone.
func DecideResize(pod *v1.Pod, policy *foresightv1alpha1.TenantPolicySpec, profile *foresightv1alpha1.WorkloadProfileStatus, opts ResizeOptions) Decision {
	p := planResize(pod, policy, profile, opts)
	if p.refused != nil {
		return *p.refused
	}
	return p.decide(pod, opts)
}

// resizePlan is a running pod's own targets, before hysteresis: what
// DecideResize and DecidePartitionResize share.
type resizePlan struct {
	// refused is the decision when the pod is left alone.
	refused    *Decision
	class      foresightv1alpha1.SLAClass
	confidence float64
	t          targets
	// rho is the share of the pod's spread it is sized for (1: its own
	// bound; below 1: its share of a pooled bound).
	rho [demand.NumResources]float64
	// pooled is set when rho lowered a target.
	pooled bool
}

func planResize(pod *v1.Pod, policy *foresightv1alpha1.TenantPolicySpec, profile *foresightv1alpha1.WorkloadProfileStatus, opts ResizeOptions) resizePlan {
	spec, props, refused := eligible(pod, policy)
	if refused != nil {
		return resizePlan{refused: refused}
	}
	ceilings, err := OriginalRequests(pod)
	if err != nil {
		d := keep(BadOriginalRequests, "%v", err)
		d.Class = spec.Class
		return resizePlan{refused: &d}
	}
	t, refused := predictTargets(pod, profile, spec, props.Confidence, opts.Options, ceilings)
	if refused != nil {
		refused.Class = spec.Class
		return resizePlan{refused: refused}
	}
	return resizePlan{class: spec.Class, confidence: props.Confidence, t: t}
}

// decide turns the plan's targets into the decision: each request rises
// to its target whenever the target exceeds it by MinGrowPercent, falls
// to it only when that saves MinChangePercent.
func (p *resizePlan) decide(pod *v1.Pod, opts ResizeOptions) Decision {
	t := &p.t
	d := Decision{Reason: AtPrediction, Class: p.class, Source: t.source, Pooled: p.pooled, Containers: make([]Container, len(t.all))}
	var changes []string
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		a := &t.all[i]
		out := Container{Name: c.Name, Original: v1.ResourceList{}, Requests: v1.ResourceList{}}
		for _, r := range resources {
			if !a.has[r.idx] {
				continue
			}
			cur := demand.QuantityIn(c.Resources.Requests[r.name], r.idx)
			target := a.next[r.idx]
			next := cur
			switch {
			case target > cur && (target-cur)*100 >= cur*opts.MinGrowPercent:
				next = target
				d.Grows = true
			case target < cur && (cur-target)*100 >= cur*opts.MinChangePercent:
				next = target
			}
			out.Original[r.name] = quantity(a.orig[r.idx], r.idx)
			if next == cur {
				out.Requests[r.name] = c.Resources.Requests[r.name].DeepCopy()
				continue
			}
			q := quantity(next, r.idx)
			out.Requests[r.name] = q
			cq := c.Resources.Requests[r.name]
			changes = append(changes, fmt.Sprintf("%s %s %s→%s", c.Name, r.name, cq.String(), q.String()))
			d.Changed = true
		}
		d.Containers[i] = out
	}
	what := fmt.Sprintf("the predicted demand at %s confidence (%s) over %s", confidenceText(p.confidence), t.source, opts.Horizon)
	if p.pooled {
		what = fmt.Sprintf("the pod's share of its partition's pooled demand (%s of its spread in cpu, %s in memory) at %s confidence (%s) over %s",
			percentText(p.rho[demand.CPU]), percentText(p.rho[demand.Memory]), confidenceText(p.confidence), t.source, opts.Horizon)
	}
	if !d.Changed {
		d.Message = fmt.Sprintf("the requests hold %s, within %d%%", what, opts.MinChangePercent)
		return d
	}
	d.Reason = Resized
	d.Message = fmt.Sprintf("requests resized to %s: %s", what, strings.Join(changes, ", "))
	return d
}

func percentText(f float64) string {
	return strconv.FormatFloat(f*100, 'f', 0, 64) + "%"
}

// Resize returns a copy of the pod with the decision's requests and, when
// the pod has none, the foresight.dev/original-requests annotation with
// the decision's originals (so that the ceiling survives the resize); nil
// when the decision changes nothing. The pods/resize subresource takes the
// requests and ignores metadata: a caller that adds the annotation writes
// it with an ordinary update or patch first.
func Resize(pod *v1.Pod, d Decision) (*v1.Pod, error) {
	if !d.Changed {
		return nil, nil
	}
	if len(d.Containers) != len(pod.Spec.Containers) {
		return nil, fmt.Errorf("decision for %d containers, pod has %d", len(d.Containers), len(pod.Spec.Containers))
	}
	out := pod.DeepCopy()
	if _, ok := out.Annotations[annotations.OriginalRequests]; !ok {
		value, err := EncodeOriginalRequests(d)
		if err != nil {
			return nil, err
		}
		if out.Annotations == nil {
			out.Annotations = map[string]string{}
		}
		out.Annotations[annotations.OriginalRequests] = value
	}
	for i, c := range d.Containers {
		if c.Name != out.Spec.Containers[i].Name {
			return nil, fmt.Errorf("decision for container %s, pod has %s at index %d", c.Name, out.Spec.Containers[i].Name, i)
		}
		for name, q := range c.Requests {
			out.Spec.Containers[i].Resources.Requests[name] = q.DeepCopy()
		}
	}
	return out, nil
}
