package simulate

import (
	"time"

	v1 "k8s.io/api/core/v1"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/rightsize"
)

// ResizeOptions tune the simulated controller's in-place resizing of
// running pods, for the policies that resize (Policy.Resize). Zero fields
// take the defaults.
type ResizeOptions struct {
	// Every is how often the controller revisits every running pod: 1 h.
	Every time.Duration
	// Horizon is how far ahead a request must hold the prediction, at
	// admission and at every resize: 2 h (until the next visit, plus the
	// time to act).
	Horizon time.Duration
	// MinChangePercent is the hysteresis of shrinking: 10%.
	MinChangePercent int64
	// Growth is what the controller does with a growth its node cannot
	// hold: GrowthMigrate (the default), GrowthDeferUnlessRoom or
	// GrowthDeferBelowStandard. Deferring costs fewer nodes and more
	// throttling (docs/benchmarks/replay.md).
	Growth GrowthPolicy
}

// GrowthPolicy is what the controller does with a pod whose growth its
// node cannot hold.
type GrowthPolicy string

const (
	// GrowthMigrate migrates the pod: it is deleted, re-created at its
	// new requests and scheduled anew (on a node the autoscaler adds if
	// none holds it).
	GrowthMigrate GrowthPolicy = "migrate"
	// GrowthDeferUnlessRoom migrates the pod only if another schedulable
	// node holds it at its new requests now (by requests and its pool's
	// overcommit bound); otherwise the resize is deferred, as a kubelet
	// defers a resize that does not fit: the pod keeps running at its
	// requests and the next visit tries again. No restart, no node added
	// for it; the node's usage may exceed what the requests promise.
	GrowthDeferUnlessRoom GrowthPolicy = "defer-unless-room"
	// GrowthDeferBelowStandard is GrowthDeferUnlessRoom for batch and
	// best-effort pods, whose classes accept throttling, and
	// GrowthMigrate for the others.
	GrowthDeferBelowStandard GrowthPolicy = "defer-below-standard"
)

// defers tells whether a growth of a pod of the class that its node
// cannot hold may be deferred.
func (g GrowthPolicy) defers(class foresightv1alpha1.SLAClass) bool {
	switch g {
	case GrowthDeferUnlessRoom:
		return true
	case GrowthDeferBelowStandard:
		return class == foresightv1alpha1.SLAClassBatch || class == foresightv1alpha1.SLAClassBestEffort
	}
	return false
}

func (o ResizeOptions) withDefaults() ResizeOptions {
	if o.Every <= 0 {
		o.Every = time.Hour
	}
	if o.Horizon <= 0 {
		o.Horizon = 2 * time.Hour
	}
	if o.MinChangePercent <= 0 {
		o.MinChangePercent = 10
	}
	if o.Growth == "" {
		o.Growth = GrowthMigrate
	}
	return o
}

// decide returns the controller's options at a time.
func (o ResizeOptions) decide(now time.Time) rightsize.ResizeOptions {
	r := rightsize.DefaultResizeOptions(now)
	r.Horizon, r.MinChangePercent = o.Horizon, o.MinChangePercent
	return r
}

// admission returns the webhook's options under a resizing policy: the
// same horizon as the controller's, since the controller follows.
func (o ResizeOptions) admission(now time.Time) rightsize.Options {
	r := rightsize.DefaultOptions(now)
	r.Horizon = o.Horizon
	return r
}

// PodResize is one pod's resize: the pod as it should be (requests and,
// when it had none, the foresight.dev/original-requests annotation).
type PodResize struct {
	Pod *v1.Pod
	// Annotate is set when the annotation is new: it is written with an
	// ordinary update first (the resize subresource takes only resources).
	Annotate bool
}
