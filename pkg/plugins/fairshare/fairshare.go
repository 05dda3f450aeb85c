// Package fairshare is the ForesightFairShare queue-sort plugin: it orders
// pending pods by priority, then by the dominant-resource share of their
// tenant (weighted, and aged so that nothing starves), then by SLA class,
// then by age.
package fairshare

import (
	"context"
	"fmt"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	foresightclient "github.com/foresight-dev/foresight/pkg/client"
	"github.com/foresight-dev/foresight/pkg/generated/clientset/versioned"
	"github.com/foresight-dev/foresight/pkg/generated/informers/externalversions"
	"github.com/foresight-dev/foresight/pkg/plugins/apis/config"
	"github.com/foresight-dev/foresight/pkg/plugins/apis/config/validation"
)

// Name is the name of the plugin in scheduler configurations.
const Name = "ForesightFairShare"

// FairShare is the plugin.
type FairShare struct {
	args config.ForesightFairShareArgs
	acct *accounting
	now  func() time.Time
}

var _ fwk.QueueSortPlugin = &FairShare{}

// New builds the plugin from its arguments. It accounts the requests of
// bound pods per tenant from the scheduler's own pod and node informers,
// and reads TenantPolicies from an informer it starts; both stop with ctx.
func New(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	return newPlugin(ctx, obj, h, nil)
}

// Factory returns a factory of the plugin that reads Foresight objects
// through client instead of building one from the scheduler's kubeconfig
// (the simulator gives it a fake clientset).
func Factory(client versioned.Interface) func(context.Context, runtime.Object, fwk.Handle) (fwk.Plugin, error) {
	return func(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
		return newPlugin(ctx, obj, h, client)
	}
}

func newPlugin(ctx context.Context, obj runtime.Object, h fwk.Handle, foresightClient versioned.Interface) (fwk.Plugin, error) {
	args, ok := obj.(*config.ForesightFairShareArgs)
	if !ok {
		return nil, fmt.Errorf("want args of type ForesightFairShareArgs, got %T", obj)
	}
	if err := validation.ValidateForesightFairShareArgs(nil, args); err != nil {
		return nil, err
	}
	client := foresightClient
	if client == nil {
		c, err := foresightclient.New(h.KubeConfig())
		if err != nil {
			return nil, err
		}
		client = c
	}
	factory := externalversions.NewSharedInformerFactory(client, 0)
	policies := factory.Foresight().V1alpha1().TenantPolicies()
	core := h.SharedInformerFactory().Core().V1()
	acct := newAccounting(&tenancy{label: args.TenantLabel, namespaces: core.Namespaces().Lister(), policies: policies.Lister()})
	for _, reg := range []struct {
		informer interface {
			AddEventHandler(cache.ResourceEventHandler) (cache.ResourceEventHandlerRegistration, error)
		}
		handler cache.ResourceEventHandler
	}{
		{core.Pods().Informer(), acct.podHandler()},
		{core.Nodes().Informer(), acct.nodeHandler()},
		{core.Namespaces().Informer(), acct.invalidateHandler()},
		{policies.Informer(), acct.invalidateHandler()},
	} {
		if _, err := reg.informer.AddEventHandler(reg.handler); err != nil {
			return nil, fmt.Errorf("watching for fair share: %w", err)
		}
	}
	factory.Start(ctx.Done())
	return &FairShare{args: *args, acct: acct, now: time.Now}, nil
}

// Name returns the plugin's name.
func (pl *FairShare) Name() string { return Name }

// podInfoGetter is implemented by queued single pods; pod groups are
// ordered by priority and age only.
type podInfoGetter interface {
	GetPodInfo() fwk.PodInfo
}

// Less orders entities by priority (PriorityClass); then by the effective
// share of their tenant: its dominant share of the cluster's CPU and memory
// requests, divided by its weight and halved for every AgingHalfLife the
// entity has waited, lowest first; then by the SLA class their pods
// declare; then by the time they entered the queue.
//
// An entity that is not a single pod has no tenant (share 0) and its class
// ranks below best-effort, as does an invalid class. The effective share
// decreases as entities wait, so the queue's heap is only approximately
// ordered between pushes: ageing changes no entity's place relative to
// another of the same tenant.
func (pl *FairShare) Less(a, b fwk.QueuedEntityInfo) bool {
	if pa, pb := a.GetPriority(), b.GetPriority(); pa != pb {
		return pa > pb
	}
	podA, podB := podOf(a), podOf(b)
	if pl.acct != nil && podA != nil && podB != nil && pl.acct.tenantOf(podA.Namespace) != pl.acct.tenantOf(podB.Namespace) {
		// Between tenants: the smaller dominant share, aged.
		now := pl.now()
		if sa, sb := pl.effectiveShare(a, podA, now), pl.effectiveShare(b, podB, now); sa != sb {
			return sa < sb
		}
	}
	// Within a tenant: its own priorities, then the SLA class, then age.
	// Keeping a tenant's pods of one class together also keeps
	// kube-scheduler's opportunistic batching on for them.
	if pa, pb := tenantPriority(podA), tenantPriority(podB); pa != pb {
		return pa > pb
	}
	if ra, rb := classRank(podA), classRank(podB); ra != rb {
		return ra > rb
	}
	return a.GetTimestamp().Before(b.GetTimestamp())
}

// tenantPriority is the pod's foresight.dev/priority within its tenant; 0
// when absent or malformed (PreFilter refuses malformed ones with a
// reason).
func tenantPriority(pod *v1.Pod) int64 {
	if pod == nil {
		return 0
	}
	v, ok := pod.Annotations[annotations.Priority]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return n
}

func (pl *FairShare) effectiveShare(e fwk.QueuedEntityInfo, pod *v1.Pod, now time.Time) float64 {
	if pod == nil {
		return 0
	}
	since := e.GetTimestamp()
	if t := e.GetInitialAttemptTimestamp(); t != nil {
		since = *t
	}
	s := pl.acct.shareOf(pod.Namespace)
	return effectiveShare(s.share, s.weight, now.Sub(since), pl.args.AgingHalfLife.Duration)
}

func podOf(e fwk.QueuedEntityInfo) *v1.Pod {
	g, ok := e.(podInfoGetter)
	if !ok {
		return nil
	}
	if pi := g.GetPodInfo(); pi != nil {
		return pi.GetPod()
	}
	return nil
}

func classRank(pod *v1.Pod) int {
	if pod == nil {
		return -1
	}
	class, ok := pod.Annotations[annotations.SLAClass]
	if !ok {
		// A pod that declares nothing gets its namespace's default class,
		// standard unless a TenantPolicy says otherwise.
		class = string(foresightv1alpha1.SLAClassStandard)
	}
	return annotations.Rank(foresightv1alpha1.SLAClass(class))
}
