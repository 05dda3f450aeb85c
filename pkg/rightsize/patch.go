package rightsize

import (
	"encoding/json"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/foresight-dev/foresight/pkg/annotations"
	"github.com/foresight-dev/foresight/pkg/demand"
)

// Operation is one operation of a JSON Patch (RFC 6902).
type Operation struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// Patch returns the JSON Patch that applies a decision to the pod it was
// made for: a replace per lowered request and the original requests in the
// foresight.dev/original-requests annotation. It returns nil when the
// decision changes nothing.
func Patch(pod *v1.Pod, d Decision) ([]Operation, error) {
	if !d.Changed {
		return nil, nil
	}
	if len(d.Containers) != len(pod.Spec.Containers) {
		return nil, fmt.Errorf("decision for %d containers, pod has %d", len(d.Containers), len(pod.Spec.Containers))
	}
	var ops []Operation
	for i, c := range d.Containers {
		for _, r := range resources {
			next, ok := c.Requests[r.name]
			if !ok {
				continue
			}
			if cur := pod.Spec.Containers[i].Resources.Requests[r.name]; cur.Cmp(next) == 0 {
				continue
			}
			ops = append(ops, Operation{
				Op:    "replace",
				Path:  fmt.Sprintf("/spec/containers/%d/resources/requests/%s", i, escape(string(r.name))),
				Value: next.String(),
			})
		}
	}
	value, err := EncodeOriginalRequests(d)
	if err != nil {
		return nil, err
	}
	// An empty map is left out of the pod's JSON, so there is no
	// /metadata/annotations to add a key to.
	if len(pod.Annotations) == 0 {
		ops = append(ops, Operation{Op: "add", Path: "/metadata/annotations", Value: map[string]string{annotations.OriginalRequests: value}})
	} else {
		ops = append(ops, Operation{Op: "add", Path: "/metadata/annotations/" + escape(annotations.OriginalRequests), Value: value})
	}
	return ops, nil
}

// Apply applies a decision to a pod in place, as Patch would: the
// simulator's way to admit a pod.
func Apply(pod *v1.Pod, d Decision) error {
	if !d.Changed {
		return nil
	}
	if len(d.Containers) != len(pod.Spec.Containers) {
		return fmt.Errorf("decision for %d containers, pod has %d", len(d.Containers), len(pod.Spec.Containers))
	}
	value, err := EncodeOriginalRequests(d)
	if err != nil {
		return err
	}
	for i, c := range d.Containers {
		for name, q := range c.Requests {
			pod.Spec.Containers[i].Resources.Requests[name] = q.DeepCopy()
		}
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[annotations.OriginalRequests] = value
	return nil
}

// escape escapes a JSON Pointer reference token (RFC 6901): "~" as "~0",
// "/" as "~1".
func escape(token string) string {
	return strings.ReplaceAll(strings.ReplaceAll(token, "~", "~0"), "/", "~1")
}

// EncodeOriginalRequests writes the value of the
// foresight.dev/original-requests annotation: a JSON object mapping each
// app container's name to its CPU and memory requests before rightsizing,
// such as {"app":{"cpu":"2","memory":"4Gi"}}.
func EncodeOriginalRequests(d Decision) (string, error) {
	m := make(map[string]v1.ResourceList, len(d.Containers))
	for _, c := range d.Containers {
		m[c.Name] = c.Original
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encoding %s: %w", annotations.OriginalRequests, err)
	}
	return string(b), nil
}

// ParseOriginalRequests reads the value of the
// foresight.dev/original-requests annotation.
func ParseOriginalRequests(value string) (map[string]v1.ResourceList, error) {
	var m map[string]v1.ResourceList
	if err := json.Unmarshal([]byte(value), &m); err != nil {
		return nil, fmt.Errorf("%s: %w", annotations.OriginalRequests, err)
	}
	return m, nil
}

// OriginalRequests returns the requests of a pod's app containers, in spec
// order, before rightsizing: per resource, the larger of the request
// recorded in foresight.dev/original-requests and the current one for CPU
// and memory (so that a hand-written annotation can only raise what is
// counted), the current request for any other resource. A pod
// that was never rightsized gets its current requests; a malformed
// annotation is an error, with the current requests.
func OriginalRequests(pod *v1.Pod) ([]v1.ResourceList, error) {
	out := make([]v1.ResourceList, len(pod.Spec.Containers))
	for i := range pod.Spec.Containers {
		out[i] = pod.Spec.Containers[i].Resources.Requests.DeepCopy()
		if out[i] == nil {
			out[i] = v1.ResourceList{}
		}
	}
	value, ok := pod.Annotations[annotations.OriginalRequests]
	if !ok {
		return out, nil
	}
	recorded, err := ParseOriginalRequests(value)
	if err != nil {
		return out, err
	}
	for i := range pod.Spec.Containers {
		for _, r := range resources {
			q, ok := recorded[pod.Spec.Containers[i].Name][r.name]
			if cur, has := out[i][r.name]; ok && (!has || q.Cmp(cur) > 0) {
				out[i][r.name] = q.DeepCopy()
			}
		}
	}
	return out, nil
}

// OriginalPodRequests returns the CPU and memory a pod requested before
// rightsizing, counted as kube-scheduler counts requests (init and sidecar
// containers, overhead, pod-level resources) with each app container's
// OriginalRequests: what a pool's overcommit bound limits. A malformed
// annotation is an error, with the pod's current requests.
func OriginalPodRequests(pod *v1.Pod) (demand.Vector, error) {
	orig, err := OriginalRequests(pod)
	if _, ok := pod.Annotations[annotations.OriginalRequests]; ok && err == nil {
		pod = pod.DeepCopy()
		for i := range pod.Spec.Containers {
			pod.Spec.Containers[i].Resources.Requests = orig[i]
		}
	}
	return demand.PodRequests(pod), err
}
