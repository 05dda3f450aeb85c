package simulate

import (
	"fmt"
	"slices"
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
	// hold: GrowthMigrate (the default), GrowthDeferUnlessRoom,
	// GrowthDeferBelowStandard or GrowthDeferOnce. Deferring costs fewer
	// nodes and more throttling (docs/benchmarks/replay.md).
	Growth GrowthPolicy
	// Target is what a running pod's requests are sized for: TargetOwn
	// (its own bound) or TargetPooled (its share of its partition's
	// pooled demand, rightsize.DecidePartitionResize); by default
	// DefaultResizeTarget.
	Target ResizeTarget
}

// ResizeTarget is what the controller sizes a running pod's requests for.
type ResizeTarget string

const (
	// TargetOwn sizes every pod for its own predicted upper demand
	// (rightsize.DecideResize): a node needs the sum of its pods' bounds.
	TargetOwn ResizeTarget = "own"
	// TargetPooled sizes the members of a partition for their shares of
	// the partition's pooled demand (rightsize.DecidePartitionResize with
	// ResizeOptions.Pooled): the controller reads the Partition objects
	// for who shares a partition, and every member's WorkloadProfile. A
	// pod found in no partition is sized for its own bound.
	TargetPooled ResizeTarget = "pooled"
)

// DefaultResizeTarget is the target of ResizeOptions that name none:
// pooled, since drains are dry-run through the scheduler (on Bitbrains,
// 1.07× the static bound's node-hours against own's 1.17×, at 0.009%
// critical violations; docs/benchmarks/replay.md).
const DefaultResizeTarget = TargetPooled

// ResizeTargets lists the ResizeTarget values.
var ResizeTargets = []ResizeTarget{TargetOwn, TargetPooled}

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
	// GrowthDeferOnce defers a growth its node cannot hold at the first
	// visit that finds it (the pod keeps running at its requests, as a
	// kubelet keeps a Deferred resize) and migrates the pod at the next
	// visit if the growth still does not fit: a deferral bounded in time,
	// between GrowthMigrate and GrowthDeferUnlessRoom.
	GrowthDeferOnce GrowthPolicy = "defer-once"
)

// GrowthPolicies lists the GrowthPolicy values.
var GrowthPolicies = []GrowthPolicy{GrowthMigrate, GrowthDeferUnlessRoom, GrowthDeferBelowStandard, GrowthDeferOnce}

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
	if o.Target == "" {
		o.Target = DefaultResizeTarget
	}
	return o
}

// validate checks the options' named values.
func (o ResizeOptions) validate() error {
	if o.Growth != "" && !slices.Contains(GrowthPolicies, o.Growth) {
		return fmt.Errorf("resize growth policy %q is not one of %v", o.Growth, GrowthPolicies)
	}
	if o.Target != "" && !slices.Contains(ResizeTargets, o.Target) {
		return fmt.Errorf("resize target %q is not one of %v", o.Target, ResizeTargets)
	}
	return nil
}

// decide returns the controller's options at a time.
func (o ResizeOptions) decide(now time.Time) rightsize.ResizeOptions {
	r := rightsize.DefaultResizeOptions(now)
	r.Horizon, r.MinChangePercent = o.Horizon, o.MinChangePercent
	r.Pooled = o.Target == TargetPooled
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
