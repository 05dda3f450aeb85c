package fairshare

import (
	"sync"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	resourcehelper "k8s.io/component-helpers/resource"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	listers "github.com/foresight-dev/foresight/pkg/generated/listers/foresight/v1alpha1"
)

// tenancy resolves a namespace's tenant and weight: the value of the
// tenant label on the namespace when one is configured and set, else the
// tenant of its TenantPolicy, else the namespace itself; the weight comes
// from the TenantPolicy (default 1).
type tenancy struct {
	label      string
	namespaces corelisters.NamespaceLister
	policies   listers.TenantPolicyLister
}

func (t *tenancy) tenantOf(namespace string) (string, int32) {
	tenant, weight := namespace, int32(1)
	if t.policies != nil {
		p, err := t.policies.TenantPolicies(namespace).Get(foresightv1alpha1.TenantPolicyName)
		if err == nil {
			if p.Spec.Tenant != "" {
				tenant = p.Spec.Tenant
			}
			if p.Spec.Weight > 0 {
				weight = p.Spec.Weight
			}
		} else if !apierrors.IsNotFound(err) {
			return tenant, weight
		}
	}
	if t.label != "" && t.namespaces != nil {
		if ns, err := t.namespaces.Get(namespace); err == nil {
			if v := ns.Labels[t.label]; v != "" {
				tenant = v
			}
		}
	}
	return tenant, weight
}

// accounting keeps, from informer events, the requests of every bound,
// running pod per namespace and the allocatable of the cluster, and the
// tenants' dominant shares computed from them on demand.
type accounting struct {
	tenancy *tenancy

	mu          sync.Mutex
	pods        map[types.UID]podUsage
	byNamespace map[string]usage
	nodes       map[string]usage
	capacity    usage
	// shares is the cache of tenant → dominant share; nil when an event
	// made it stale.
	shares map[string]tenantShare
	// tenants caches each namespace's tenant and weight, so that the queue's
	// comparisons do not query listers; cleared when a namespace or a
	// TenantPolicy changes.
	tenants map[string]tenantOfNamespace
}

type tenantOfNamespace struct {
	tenant string
	weight int32
}

type podUsage struct {
	namespace string
	usage     usage
}

type tenantShare struct {
	share  float64
	weight int32
}

func newAccounting(t *tenancy) *accounting {
	return &accounting{
		tenancy:     t,
		pods:        map[types.UID]podUsage{},
		byNamespace: map[string]usage{},
		nodes:       map[string]usage{},
		tenants:     map[string]tenantOfNamespace{},
	}
}

// counts tells whether a pod's requests count against its tenant: it is
// bound and neither finished nor being deleted.
func counts(p *v1.Pod) bool {
	return p.Spec.NodeName != "" && p.DeletionTimestamp == nil &&
		p.Status.Phase != v1.PodSucceeded && p.Status.Phase != v1.PodFailed
}

func podRequests(p *v1.Pod) usage {
	r := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
	return usage{cpu: r.Cpu().MilliValue(), memory: r.Memory().Value()}
}

func (a *accounting) setPod(p *v1.Pod) {
	var now podUsage
	if counts(p) {
		now = podUsage{namespace: p.Namespace, usage: podRequests(p)}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if old, ok := a.pods[p.UID]; ok == counts(p) && old == now {
		return // a status update that changes no share
	}
	a.removePodLocked(p.UID)
	if counts(p) {
		a.pods[p.UID] = now
		a.byNamespace[p.Namespace] = a.byNamespace[p.Namespace].add(now.usage)
	}
	a.shares = nil
}

func (a *accounting) deletePod(uid types.UID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.removePodLocked(uid)
	a.shares = nil
}

func (a *accounting) removePodLocked(uid types.UID) {
	old, ok := a.pods[uid]
	if !ok {
		return
	}
	delete(a.pods, uid)
	left := a.byNamespace[old.namespace].sub(old.usage)
	if left == (usage{}) {
		delete(a.byNamespace, old.namespace)
	} else {
		a.byNamespace[old.namespace] = left
	}
}

func (a *accounting) setNode(n *v1.Node) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.capacity = a.capacity.sub(a.nodes[n.Name])
	u := usage{cpu: n.Status.Allocatable.Cpu().MilliValue(), memory: n.Status.Allocatable.Memory().Value()}
	a.nodes[n.Name] = u
	a.capacity = a.capacity.add(u)
	a.shares = nil
}

func (a *accounting) deleteNode(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.capacity = a.capacity.sub(a.nodes[name])
	delete(a.nodes, name)
	a.shares = nil
}

// invalidate drops the cached tenants and shares, after a namespace or a
// policy changed.
func (a *accounting) invalidate() {
	a.mu.Lock()
	a.shares = nil
	clear(a.tenants)
	a.mu.Unlock()
}

// tenantOfLocked returns a namespace's tenant and weight from the cache,
// resolving it on a miss.
func (a *accounting) tenantOfLocked(namespace string) tenantOfNamespace {
	t, ok := a.tenants[namespace]
	if !ok {
		t.tenant, t.weight = a.tenancy.tenantOf(namespace)
		a.tenants[namespace] = t
	}
	return t
}

// tenantOf returns a namespace's tenant.
func (a *accounting) tenantOf(namespace string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tenantOfLocked(namespace).tenant
}

// shareOf returns the dominant share and weight of a namespace's tenant.
func (a *accounting) shareOf(namespace string) tenantShare {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.tenantOfLocked(namespace)
	tenant, weight := t.tenant, t.weight
	if a.shares == nil {
		byTenant := map[string]usage{}
		for ns, u := range a.byNamespace {
			t := a.tenantOfLocked(ns).tenant
			byTenant[t] = byTenant[t].add(u)
		}
		a.shares = make(map[string]tenantShare, len(byTenant))
		for t, u := range byTenant {
			a.shares[t] = tenantShare{share: dominantShare(u, a.capacity)}
		}
	}
	s := a.shares[tenant]
	s.weight = weight
	return s
}

// handlers returns the informer event handlers that keep the accounting.
func (a *accounting) podHandler() cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if p, ok := obj.(*v1.Pod); ok {
				a.setPod(p)
			}
		},
		UpdateFunc: func(_, obj any) {
			if p, ok := obj.(*v1.Pod); ok {
				a.setPod(p)
			}
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if p, ok := obj.(*v1.Pod); ok {
				a.deletePod(p.UID)
			}
		},
	}
}

func (a *accounting) nodeHandler() cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if n, ok := obj.(*v1.Node); ok {
				a.setNode(n)
			}
		},
		UpdateFunc: func(_, obj any) {
			if n, ok := obj.(*v1.Node); ok {
				a.setNode(n)
			}
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if n, ok := obj.(*v1.Node); ok {
				a.deleteNode(n.Name)
			}
		},
	}
}

// invalidateHandler drops cached shares on any event (namespaces relabelled,
// policies changed).
func (a *accounting) invalidateHandler() cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { a.invalidate() },
		UpdateFunc: func(_, _ any) { a.invalidate() },
		DeleteFunc: func(any) { a.invalidate() },
	}
}
