package simulate

import (
	"time"

	v1 "k8s.io/api/core/v1"

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
