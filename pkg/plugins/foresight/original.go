package foresight

import (
	v1 "k8s.io/api/core/v1"

	"github.com/foresight-dev/foresight/pkg/demand"
	"github.com/foresight-dev/foresight/pkg/rightsize"
)

// originalRequests returns a pod's requests before rightsizing, which its
// pool's overcommit limit bounds: those the webhook recorded in the
// foresight.dev/original-requests annotation, never below its requests.
// A malformed annotation counts as absent: the pod is then bounded by its
// requests, as if it had not been rightsized.
func originalRequests(pod *v1.Pod, requested demand.Vector) demand.Vector {
	v, err := rightsize.OriginalPodRequests(pod)
	if err != nil {
		return requested
	}
	return v.Max(requested)
}
