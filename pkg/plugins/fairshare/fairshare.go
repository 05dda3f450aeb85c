// Package fairshare is the ForesightFairShare queue-sort plugin: it orders
// pending pods by priority, then by SLA class, then by age.
//
// Ordering by the dominant-resource share of each tenant, with ageing, is
// the next step (see the scheduler plugins issue); its arguments are
// already part of the API.
package fairshare

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/plugins/apis/config"
	"github.com/foresight-dev/foresight/pkg/plugins/apis/config/validation"
)

// Name is the name of the plugin in scheduler configurations.
const Name = "ForesightFairShare"

// FairShare is the plugin.
type FairShare struct {
	args config.ForesightFairShareArgs
}

var _ fwk.QueueSortPlugin = &FairShare{}

// New builds the plugin from its arguments.
func New(_ context.Context, obj runtime.Object, _ fwk.Handle) (fwk.Plugin, error) {
	args, ok := obj.(*config.ForesightFairShareArgs)
	if !ok {
		return nil, fmt.Errorf("want args of type ForesightFairShareArgs, got %T", obj)
	}
	if err := validation.ValidateForesightFairShareArgs(nil, args); err != nil {
		return nil, err
	}
	return &FairShare{args: *args}, nil
}

// Name returns the plugin's name.
func (pl *FairShare) Name() string { return Name }

// podInfoGetter is implemented by queued single pods; pod groups are
// ordered by priority and age only.
type podInfoGetter interface {
	GetPodInfo() fwk.PodInfo
}

// Less orders entities by priority (PriorityClass), then by the SLA class
// their pods declare, then by the time they entered the queue. The order is
// total: the class of an entity that is not a single pod, or whose class
// annotation is invalid, ranks below best-effort.
func (pl *FairShare) Less(a, b fwk.QueuedEntityInfo) bool {
	if pa, pb := a.GetPriority(), b.GetPriority(); pa != pb {
		return pa > pb
	}
	if ra, rb := classRank(a), classRank(b); ra != rb {
		return ra > rb
	}
	return a.GetTimestamp().Before(b.GetTimestamp())
}

func classRank(e fwk.QueuedEntityInfo) int {
	g, ok := e.(podInfoGetter)
	if !ok {
		return -1
	}
	var pod *v1.Pod
	if pi := g.GetPodInfo(); pi != nil {
		pod = pi.GetPod()
	}
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
