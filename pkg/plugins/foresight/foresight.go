package foresight

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	foresightclient "github.com/foresight-dev/foresight/pkg/client"
	"github.com/foresight-dev/foresight/pkg/generated/informers/externalversions"
	listers "github.com/foresight-dev/foresight/pkg/generated/listers/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/plugins/apis/config"
	"github.com/foresight-dev/foresight/pkg/plugins/apis/config/validation"
)

// Name is the name of the plugin in scheduler configurations.
const Name = "Foresight"

const (
	stateKey   fwk.StateKey = Name
	explainKey fwk.StateKey = Name + "/placement"
)

// informerSyncTimeout bounds how long New waits for the Foresight caches.
// When the CRDs are missing the scheduler still starts: pods are then
// scheduled as if every namespace had the default policy and no pool
// existed, which is logged.
const informerSyncTimeout = 30 * time.Second

// Resources named in EventsToRegister; custom resources are written
// <plural>.<version>.<group>.
const (
	tenantPolicyResource fwk.EventResource = "tenantpolicies.v1alpha1.foresight.dev"
	resourcePoolResource fwk.EventResource = "resourcepools.v1alpha1.foresight.dev"
)

// Foresight is the plugin.
type Foresight struct {
	args     config.ForesightArgs
	handle   fwk.Handle
	policies listers.TenantPolicyLister
	pools    *poolIndex
	refused  *refusedPods
}

var (
	_ fwk.PreFilterPlugin   = &Foresight{}
	_ fwk.FilterPlugin      = &Foresight{}
	_ fwk.ScorePlugin       = &Foresight{}
	_ fwk.EnqueueExtensions = &Foresight{}
	_ fwk.SignPlugin        = &Foresight{}
	_ fwk.ReservePlugin     = &Foresight{}
	_ fwk.PostBindPlugin    = &Foresight{}
)

// New builds the plugin from its arguments and starts the informers of the
// Foresight objects it reads; they stop with ctx.
func New(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "plugin", Name)
	args, ok := obj.(*config.ForesightArgs)
	if !ok {
		return nil, fmt.Errorf("want args of type ForesightArgs, got %T", obj)
	}
	if err := validation.ValidateForesightArgs(nil, args); err != nil {
		return nil, err
	}
	client, err := foresightclient.New(h.KubeConfig())
	if err != nil {
		return nil, err
	}
	factory := externalversions.NewSharedInformerFactory(client, 0)
	v1alpha1 := factory.Foresight().V1alpha1()
	pl := &Foresight{
		args:     *args,
		handle:   h,
		policies: v1alpha1.TenantPolicies().Lister(),
		pools:    newPoolIndex(v1alpha1.ResourcePools().Lister()),
		refused:  newRefusedPods(),
	}
	rebuild := func(any) { pl.pools.rebuild(logger) }
	if _, err := v1alpha1.ResourcePools().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    rebuild,
		UpdateFunc: func(_, _ any) { pl.pools.rebuild(logger) },
		DeleteFunc: rebuild,
	}); err != nil {
		return nil, fmt.Errorf("watching ResourcePools: %w", err)
	}
	// The scheduler requeues refused pods on TenantPolicy events it sees
	// through its own informer, which may run ahead of this plugin's
	// lister: retry them again once this plugin sees the change.
	if _, err := v1alpha1.TenantPolicies().Informer().AddEventHandler(pl.refused.activateOnPolicyChange(logger, h)); err != nil {
		return nil, fmt.Errorf("watching TenantPolicies: %w", err)
	}
	factory.Start(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, informerSyncTimeout)
	defer cancel()
	for typ, synced := range factory.WaitForCacheSync(syncCtx.Done()) {
		if !synced {
			logger.Error(nil, "Foresight cache not synced; are the foresight.dev CRDs installed? Scheduling goes on with what is known", "type", typ, "timeout", informerSyncTimeout)
		}
	}
	pl.pools.rebuild(logger)
	logger.V(4).Info("Plugin ready", "profileStalenessLimit", args.ProfileStalenessLimit.Duration, "scoreWeights", args.ScoreWeights)
	return pl, nil
}

// Name returns the plugin's name.
func (pl *Foresight) Name() string { return Name }

// podState is what PreFilter learns about the pod once per cycle.
type podState struct {
	spec  annotations.Spec
	class annotations.ClassProperties
	// milliCPU and memory are the pod's requests, a missing one counted as
	// the default demand.
	milliCPU, memory int64
}

// Clone returns the state itself: it is never modified after PreFilter.
func (s *podState) Clone() fwk.StateData { return s }

// PreFilter resolves the pod's Foresight annotations against its
// namespace's TenantPolicy. A pod that declares more than its namespace
// allows cannot be scheduled until the pod or the policy changes.
func (pl *Foresight) PreFilter(ctx context.Context, state fwk.CycleState, pod *v1.Pod, _ []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	policy, err := pl.policyFor(pod.Namespace)
	if err != nil {
		return nil, fwk.AsStatus(err)
	}
	spec, err := annotations.ForPod(pod, policy)
	if err != nil {
		pl.refused.add(pod)
		return nil, fwk.NewStatus(fwk.UnschedulableAndUnresolvable, "foresight.dev annotations refused: "+err.Error())
	}
	pl.refused.remove(pod)
	class, _ := annotations.Properties(spec.Class)
	cpu, mem := podNonZeroRequests(pod, pl.args.DefaultCPU.MilliValue(), pl.args.DefaultMemory.Value())
	state.Write(stateKey, &podState{spec: spec, class: class, milliCPU: cpu, memory: mem})
	klog.FromContext(ctx).V(5).Info("Resolved pod's Foresight annotations", "pod", klog.KObj(pod), "slaClass", spec.Class, "priority", spec.Priority)
	return nil, nil
}

// policyFor returns the spec of a namespace's TenantPolicy, or nil when it
// has none.
func (pl *Foresight) policyFor(namespace string) (*foresightv1alpha1.TenantPolicySpec, error) {
	p, err := pl.policies.TenantPolicies(namespace).Get(foresightv1alpha1.TenantPolicyName)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the TenantPolicy of namespace %q: %w", namespace, err)
	}
	return &p.Spec, nil
}

// PreFilterExtensions returns nil: the plugin's Filter does not depend on
// other pods.
func (pl *Foresight) PreFilterExtensions() fwk.PreFilterExtensions { return nil }

func readState(state fwk.CycleState) (*podState, error) {
	d, err := state.Read(stateKey)
	if err != nil {
		return nil, fmt.Errorf("reading %q from cycle state: %w", stateKey, err)
	}
	s, ok := d.(*podState)
	if !ok {
		return nil, fmt.Errorf("%q in cycle state has type %T", stateKey, d)
	}
	return s, nil
}

// Failure reasons of Filter.
const (
	ReasonDedicatedPool = "node's ResourcePool is dedicated to critical pods"
	ReasonPoolConflict  = "node is selected by several ResourcePools"
)

// Filter keeps non-critical pods off dedicated pools and every pod off
// nodes whose pool membership is ambiguous.
func (pl *Foresight) Filter(ctx context.Context, state fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) *fwk.Status {
	s, err := readState(state)
	if err != nil {
		return fwk.AsStatus(err)
	}
	node := nodeInfo.Node()
	if node == nil {
		return fwk.NewStatus(fwk.Error, "node not found")
	}
	p, err := pl.pools.snapshot().poolOf(node.Labels)
	if err != nil {
		klog.FromContext(ctx).V(5).Info("Node in several pools", "node", klog.KObj(node), "err", err)
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, ReasonPoolConflict)
	}
	if p != nil && p.tier == foresightv1alpha1.PoolTierDedicated && s.spec.Class != foresightv1alpha1.SLAClassCritical {
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, ReasonDedicatedPool)
	}
	return nil
}

// Score rates a node by the cost of its pool's capacity and by how full the
// node would be after the placement.
func (pl *Foresight) Score(ctx context.Context, state fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) (int64, *fwk.Status) {
	s, err := readState(state)
	if err != nil {
		return 0, fwk.AsStatus(err)
	}
	r, err := pl.explain(s, nodeInfo)
	if err != nil {
		return 0, fwk.AsStatus(err)
	}
	if logger := klog.FromContext(ctx).V(6); logger.Enabled() {
		logger.Info("Scored node", "pod", klog.KObj(pod), "node", klog.KObj(nodeInfo.Node()), "record", r.String())
	}
	return r.Score, nil
}

// explain computes the score of a node for a pod with every term that
// makes it up.
func (pl *Foresight) explain(s *podState, nodeInfo fwk.NodeInfo) (placementRecord, error) {
	node := nodeInfo.Node()
	if node == nil {
		return placementRecord{}, fmt.Errorf("node not found")
	}
	r := placementRecord{Node: node.Name, Class: string(s.spec.Class), CostWeight: pl.args.ScoreWeights.Cost, UtilizationWeight: pl.args.ScoreWeights.Utilization}
	if p, err := pl.pools.snapshot().poolOf(node.Labels); err == nil && p != nil {
		r.Pool, r.Tier = p.name, string(p.tier)
	}
	r.Cost = costScore(nodeCost{Tier: foresightv1alpha1.PoolTier(r.Tier), Busy: len(nodeInfo.GetPods()) > 0}, s.spec.Class == foresightv1alpha1.SLAClassCritical)
	requested, allocatable := nodeInfo.GetNonZeroRequested(), nodeInfo.GetAllocatable()
	r.Utilization = utilizationScore(requested.GetMilliCPU()+s.milliCPU, allocatable.GetMilliCPU(), requested.GetMemory()+s.memory, allocatable.GetMemory())
	r.Score = weighted([2]int64{r.Cost, r.CostWeight}, [2]int64{r.Utilization, r.UtilizationWeight})
	return r, nil
}

// ScoreExtensions returns nil: scores are already in [0, MaxNodeScore].
func (pl *Foresight) ScoreExtensions() fwk.ScoreExtensions { return nil }

// podNonZeroRequests sums the CPU (millicores) and memory (bytes) requests
// of a pod's containers, counting a missing request as the default demand.
func podNonZeroRequests(pod *v1.Pod, defaultMilliCPU, defaultMemory int64) (int64, int64) {
	var cpu, mem int64
	for i := range pod.Spec.Containers {
		r := pod.Spec.Containers[i].Resources.Requests
		if q, ok := r[v1.ResourceCPU]; ok {
			cpu += q.MilliValue()
		} else {
			cpu += defaultMilliCPU
		}
		if q, ok := r[v1.ResourceMemory]; ok {
			mem += q.Value()
		} else {
			mem += defaultMemory
		}
	}
	return cpu, mem
}

// SignPod returns what the plugin's decisions depend on beyond what the
// in-tree plugins sign: the namespace (its TenantPolicy) and the pod's
// foresight.dev/ annotations.
func (pl *Foresight) SignPod(_ context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	var declared []string
	for k, v := range pod.Annotations {
		if strings.HasPrefix(k, annotations.Prefix) {
			declared = append(declared, k+"="+v)
		}
	}
	sort.Strings(declared)
	return []fwk.SignFragment{
		{Key: "v1.Pod.Namespace", Value: pod.Namespace},
		{Key: "foresight.dev/annotations", Value: declared},
	}, nil
}

// EventsToRegister returns the events after which a pod this plugin
// rejected may fit: its namespace's TenantPolicy changing, pools changing,
// nodes being added or relabelled, and the pod itself being updated.
func (pl *Foresight) EventsToRegister(_ context.Context) ([]fwk.ClusterEventWithHint, error) {
	return []fwk.ClusterEventWithHint{
		{Event: fwk.ClusterEvent{Resource: tenantPolicyResource, ActionType: fwk.All}, QueueingHintFn: isPolicyOfPodNamespace},
		{Event: fwk.ClusterEvent{Resource: resourcePoolResource, ActionType: fwk.All}},
		{Event: fwk.ClusterEvent{Resource: fwk.Node, ActionType: fwk.Add | fwk.UpdateNodeLabel}},
		// The pod's own update (its annotations fixed) is a TargetPod event.
		{Event: fwk.ClusterEvent{Resource: fwk.TargetPod, ActionType: fwk.Update}},
	}, nil
}

// isPolicyOfPodNamespace requeues a pod only when the changed TenantPolicy
// is its namespace's.
func isPolicyOfPodNamespace(_ klog.Logger, pod *v1.Pod, oldObj, newObj any) (fwk.QueueingHint, error) {
	obj := newObj
	if obj == nil {
		obj = oldObj
	}
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	accessor, ok := obj.(interface{ GetNamespace() string })
	if !ok {
		return fwk.Queue, fmt.Errorf("unexpected object of type %T", obj)
	}
	if accessor.GetNamespace() == pod.Namespace {
		return fwk.Queue, nil
	}
	return fwk.QueueSkip, nil
}

// Reserve records why the pod goes to the chosen node, computed on the
// same snapshot its score was, for PostBind to publish.
func (pl *Foresight) Reserve(ctx context.Context, state fwk.CycleState, pod *v1.Pod, nodeName string) *fwk.Status {
	s, err := readState(state)
	if err != nil {
		return fwk.AsStatus(err)
	}
	nodeInfo, err := pl.handle.SnapshotSharedLister().NodeInfos().Get(nodeName)
	if err != nil {
		return fwk.AsStatus(fmt.Errorf("reading node %s from the snapshot: %w", nodeName, err))
	}
	r, err := pl.explain(s, nodeInfo)
	if err != nil {
		return fwk.AsStatus(err)
	}
	state.Write(explainKey, &r)
	return nil
}

// Unreserve forgets the record: the cycle's state is dropped with it.
func (pl *Foresight) Unreserve(_ context.Context, state fwk.CycleState, _ *v1.Pod, _ string) {
	state.Delete(explainKey)
}

// PostBind publishes the placement record as an event on the pod, which
// `kubectl foresight explain pod` shows.
func (pl *Foresight) PostBind(ctx context.Context, state fwk.CycleState, pod *v1.Pod, nodeName string) {
	d, err := state.Read(explainKey)
	if err != nil {
		return
	}
	r, ok := d.(*placementRecord)
	if !ok {
		return
	}
	pl.handle.EventRecorder().Eventf(pod, nil, v1.EventTypeNormal, ReasonPlaced, "Scheduling", "%s", r.String())
	klog.FromContext(ctx).V(5).Info("Placed pod", "pod", klog.KObj(pod), "node", nodeName, "record", r.String())
}
