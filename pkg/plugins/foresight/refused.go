package foresight

import (
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
)

// refusedPods remembers, per namespace, the pods PreFilter refused for
// their annotations, so that they are retried when the namespace's
// TenantPolicy changes.
type refusedPods struct {
	mu    sync.Mutex
	byKey map[string]map[string]*v1.Pod // namespace → pod key → pod
}

func newRefusedPods() *refusedPods {
	return &refusedPods{byKey: map[string]map[string]*v1.Pod{}}
}

func podKey(p *v1.Pod) string { return p.Namespace + "/" + p.Name }

func (r *refusedPods) add(p *v1.Pod) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byKey[p.Namespace] == nil {
		r.byKey[p.Namespace] = map[string]*v1.Pod{}
	}
	r.byKey[p.Namespace][podKey(p)] = p
}

func (r *refusedPods) remove(p *v1.Pod) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.byKey[p.Namespace]; m != nil {
		delete(m, podKey(p))
		if len(m) == 0 {
			delete(r.byKey, p.Namespace)
		}
	}
}

// take returns and forgets the pods refused in a namespace.
func (r *refusedPods) take(namespace string) map[string]*v1.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.byKey[namespace]
	delete(r.byKey, namespace)
	return m
}

// takeIf returns and forgets the pods of a namespace that match.
func (r *refusedPods) takeIf(namespace string, match func(*v1.Pod) bool) map[string]*v1.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out map[string]*v1.Pod
	m := r.byKey[namespace]
	for k, p := range m {
		if match(p) {
			if out == nil {
				out = map[string]*v1.Pod{}
			}
			out[k] = p
			delete(m, k)
		}
	}
	if len(m) == 0 {
		delete(r.byKey, namespace)
	}
	return out
}

// takeAll returns and forgets every pod.
func (r *refusedPods) takeAll() map[string]*v1.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := map[string]*v1.Pod{}
	for _, m := range r.byKey {
		for k, p := range m {
			all[k] = p
		}
	}
	r.byKey = map[string]map[string]*v1.Pod{}
	return all
}

// activateOnPolicyChange returns an event handler for TenantPolicies that
// moves the pods refused in the policy's namespace back to the active
// queue. Pods deleted meanwhile are ignored by the queue.
func (r *refusedPods) activateOnPolicyChange(logger klog.Logger, h fwk.PodActivator) cache.ResourceEventHandler {
	activate := func(obj any) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		o, ok := obj.(interface{ GetNamespace() string })
		if !ok {
			return
		}
		if pods := r.take(o.GetNamespace()); len(pods) > 0 {
			logger.V(4).Info("TenantPolicy changed: retrying refused pods", "namespace", o.GetNamespace(), "pods", len(pods))
			h.Activate(logger, pods)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    activate,
		UpdateFunc: func(_, obj any) { activate(obj) },
		DeleteFunc: activate,
	}
}
