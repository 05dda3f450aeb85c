package foresight

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	schedutil "k8s.io/kubernetes/pkg/scheduler/util"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	foresightclient "github.com/foresight-dev/foresight/pkg/client"
	"github.com/foresight-dev/foresight/pkg/demand"
	"github.com/foresight-dev/foresight/pkg/generated/clientset/versioned"
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

// forecastHorizon is how far ahead a forecast is read for a new pod: the
// controller resizes partitions within it.
const forecastHorizon = time.Hour

// ReasonNodesExcluded is the reason of the event that tells an
// unschedulable pod which nodes Foresight left out before filtering.
const ReasonNodesExcluded = "ForesightNodesExcluded"

// ReasonProfileStale is the reason of the event on a pod whose workload's
// profile was too old to be used.
const ReasonProfileStale = "ForesightProfileStale"

// Foresight is the plugin.
type Foresight struct {
	args     config.ForesightArgs
	handle   fwk.Handle
	policies listers.TenantPolicyLister
	profiles cache.Indexer
	pools    *poolIndex
	refused  *refusedPods
	// roomless are pods no node had room for, retried when a partition
	// loses a member.
	roomless *refusedPods
	// eligible is the set of nodes non-critical pods may use.
	eligible *eligibility
	cache    *partitionCache
	writer   *partitionWriter
	recorder events.EventRecorder
	// now is the clock; tests set it.
	now func() time.Time
	// shapes numbers pod shapes for Filter's memos, and lastState is the
	// pod state PreFilter last wrote (memo.go).
	shapes    shapeIndex
	lastState atomic.Pointer[stateMemo]
}

var (
	_ fwk.PreFilterPlugin   = &Foresight{}
	_ fwk.FilterPlugin      = &Foresight{}
	_ fwk.ScorePlugin       = &Foresight{}
	_ fwk.EnqueueExtensions = &Foresight{}
	_ fwk.SignPlugin        = &Foresight{}
	_ fwk.ReservePlugin     = &Foresight{}
	_ fwk.PostFilterPlugin  = &Foresight{}
	_ fwk.BindPlugin        = &Foresight{}
)

// New builds the plugin from its arguments and starts the informers of the
// Foresight objects it reads; they stop with ctx.
func New(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	return newPlugin(ctx, obj, h, nil)
}

// Factory returns a factory of the plugin that reads Foresight objects
// through client instead of building one from the scheduler's kubeconfig
// (the simulator gives it a fake clientset).
func Factory(client versioned.Interface) func(context.Context, runtime.Object, fwk.Handle) (fwk.Plugin, error) {
	return FactoryWithClock(client, nil)
}

// FactoryWithClock is Factory with the plugin's clock, which dates
// profiles' staleness and forecasts' horizon, set to now (the simulator's
// clock); nil means the wall clock.
func FactoryWithClock(client versioned.Interface, now func() time.Time) func(context.Context, runtime.Object, fwk.Handle) (fwk.Plugin, error) {
	return func(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
		pl, err := newPlugin(ctx, obj, h, client)
		if err == nil && now != nil {
			pl.(*Foresight).now = now
		}
		return pl, err
	}
}

func newPlugin(ctx context.Context, obj runtime.Object, h fwk.Handle, foresightClient versioned.Interface) (fwk.Plugin, error) {
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "plugin", Name)
	args, ok := obj.(*config.ForesightArgs)
	if !ok {
		return nil, fmt.Errorf("want args of type ForesightArgs, got %T", obj)
	}
	if err := validation.ValidateForesightArgs(nil, args); err != nil {
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
	factory := externalversions.NewSharedInformerFactoryWithOptions(client, 0, externalversions.WithTransform(trimManagedFields))
	v1alpha1 := factory.Foresight().V1alpha1()
	profileInformer := v1alpha1.WorkloadProfiles().Informer()
	if err := profileInformer.AddIndexers(demand.ProfileIndexers()); err != nil {
		return nil, fmt.Errorf("indexing WorkloadProfiles: %w", err)
	}
	nodeInformer := h.SharedInformerFactory().Core().V1().Nodes()
	podInformer := h.SharedInformerFactory().Core().V1().Pods()
	pl := &Foresight{
		args:     *args,
		handle:   h,
		policies: v1alpha1.TenantPolicies().Lister(),
		profiles: profileInformer.GetIndexer(),
		pools:    newPoolIndex(v1alpha1.ResourcePools().Lister()),
		refused:  newRefusedPods(),
		roomless: newRefusedPods(),
		cache:    newPartitionCache(),
		now:      time.Now,
		recorder: h.EventRecorder(),
	}
	pl.eligible = &eligibility{nodes: nodeInformer.Lister(), pools: pl.pools}
	pl.cache.entries.known = func() []string {
		nodes, err := nodeInformer.Lister().List(labels.Everything())
		if err != nil {
			return nil
		}
		names := make([]string, len(nodes))
		for i, n := range nodes {
			names[i] = n.Name
		}
		return names
	}
	pl.writer = newPartitionWriter(pl.cache, client.ForesightV1alpha1().Partitions(), v1alpha1.Partitions().Lister(), nodeInformer.Lister(), args.PartitionWriteQPS)
	if _, err := v1alpha1.Partitions().Informer().AddEventHandler(pl.partitionHandler(logger)); err != nil {
		return nil, fmt.Errorf("watching Partitions: %w", err)
	}
	if _, err := profileInformer.AddEventHandler(pl.profileHandler(logger)); err != nil {
		return nil, fmt.Errorf("watching WorkloadProfiles: %w", err)
	}
	if _, err := podInformer.Informer().AddEventHandler(pl.podHandler(logger)); err != nil {
		return nil, fmt.Errorf("watching pods: %w", err)
	}
	if _, err := nodeInformer.Informer().AddEventHandler(pl.nodeHandler()); err != nil {
		return nil, fmt.Errorf("watching nodes: %w", err)
	}
	rebuild := func(any) { pl.pools.rebuild(logger); pl.eligible.changed() }
	if _, err := v1alpha1.ResourcePools().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    rebuild,
		UpdateFunc: func(_, _ any) { pl.pools.rebuild(logger); pl.eligible.changed() },
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
	go pl.writer.run(ctx)
	go pl.reconcile(klog.NewContext(ctx, logger), podInformer.Lister(), podInformer.Informer().HasSynced)
	logger.V(4).Info("Plugin ready", "profileStalenessLimit", args.ProfileStalenessLimit.Duration, "scoreWeights", args.ScoreWeights)
	return pl, nil
}

// Name returns the plugin's name.
func (pl *Foresight) Name() string { return Name }

// podState is what PreFilter learns about the pod once per cycle.
type podState struct {
	spec  annotations.Spec
	class annotations.ClassProperties
	// requested are the pod's requests as kube-scheduler counts them and
	// original its requests before rightsizing.
	requested, original demand.Vector
	// source of the prediction, and why no profile was used.
	source   demand.Source
	fallback string
	// predictions at the class's confidence and at the higher targets of
	// pools, few enough to search.
	predictions []confidencePrediction
	// shape numbers what Filter reads of the state (shapeKey): pods of
	// one shape share Filter's memos.
	shape uint64
	// trial is the dry run the cycle belongs to, nil for a real cycle.
	trial *Trial
}

type confidencePrediction struct {
	confidence float64
	prediction demand.Prediction
	member     memberDemand
	// z is the standard normal quantile of the confidence, for the risk
	// of a partition (exceedProbability), computed once per cycle.
	z float64
}

// Clone returns the state itself: it is never modified after PreFilter.
func (s *podState) Clone() fwk.StateData { return s }

// at returns the pod's prediction at a confidence, made in PreFilter;
// the highest one made when that confidence was not.
func (s *podState) at(confidence float64) *confidencePrediction {
	for i := range s.predictions {
		if s.predictions[i].confidence == confidence {
			return &s.predictions[i]
		}
	}
	return &s.predictions[len(s.predictions)-1]
}

// demandAt returns the pod's demand at a confidence (see at).
func (s *podState) demandAt(confidence float64) memberDemand {
	return s.at(confidence).member
}

// predictionAt is demandAt's prediction's upper demand, for explanations.
func (s *podState) predictionAt(confidence float64) demand.Prediction {
	for i := range s.predictions {
		if s.predictions[i].confidence == confidence {
			return s.predictions[i].prediction
		}
	}
	return s.predictions[len(s.predictions)-1].prediction
}

// PreFilter resolves the pod's Foresight annotations against its
// namespace's TenantPolicy and predicts its demand from its workload's
// profile, once per cycle. A pod that declares more than its namespace
// allows cannot be scheduled until the pod or the policy changes; a pod
// without a usable profile is predicted from its requests, which a metric
// counts and, for a stale profile, an event tells.
func (pl *Foresight) PreFilter(ctx context.Context, state fwk.CycleState, pod *v1.Pod, _ []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	trial := trialOf(state)
	s, err := pl.podStateFor(pod, trial == nil)
	if err != nil {
		if refused := (refusedError{}); errors.As(err, &refused) {
			if trial == nil {
				pl.refused.add(pod)
			}
			return nil, fwk.NewStatus(fwk.UnschedulableAndUnresolvable, "foresight.dev annotations refused: "+refused.Error())
		}
		return nil, fwk.AsStatus(err)
	}
	if trial == nil {
		pl.refused.remove(pod)
	}
	s.trial = trial
	state.Write(stateKey, s)
	pl.noteState(state, s)
	var res *fwk.PreFilterResult
	if s.spec.Class != foresightv1alpha1.SLAClassCritical && pl.eligible != nil {
		// Nodes of dedicated pools and nodes in several pools: handed
		// over as the set of the others where that makes kube-scheduler
		// evaluate fewer nodes, refused by Filter (which runs first)
		// otherwise.
		if e := pl.eligible.forNonCritical(); e != nil && e.dedicated+e.conflict > 0 &&
			useNodeSet(e.names.Len(), e.names.Len()+e.dedicated+e.conflict) {
			res = &fwk.PreFilterResult{NodeNames: e.names}
		}
	}
	if logger := klog.FromContext(ctx).V(5); logger.Enabled() {
		logger.Info("Predicted pod's demand", "pod", klog.KObj(pod), "slaClass", s.spec.Class, "priority", s.spec.Priority,
			"source", s.source, "fallback", s.fallback, "demand", s.predictions[0].prediction.Upper.String())
	}
	return res, nil
}

// refusedError is an annotation the namespace's policy refuses.
type refusedError struct{ error }

// podStateFor computes what PreFilter stores. With events set it counts
// the prediction and tells the pod when its profile is stale.
func (pl *Foresight) podStateFor(pod *v1.Pod, events bool) (*podState, error) {
	policy, err := pl.policyFor(pod.Namespace)
	if err != nil {
		return nil, err
	}
	spec, err := annotations.ForPod(pod, policy)
	if err != nil {
		return nil, refusedError{err}
	}
	spec.Class = internClass(spec.Class)
	class, _ := annotations.Properties(spec.Class)
	s := &podState{spec: spec, class: class}
	s.requested = demand.PodRequests(pod)
	s.original = originalRequests(pod, s.requested)

	now := pl.now()
	var profile *foresightv1alpha1.WorkloadProfileStatus
	wp, fallback := demand.ProfileFor(pl.profiles, pod, now, pl.args.ProfileStalenessLimit.Duration)
	if wp != nil {
		profile = &wp.Status
	}
	s.fallback = fallback
	in := demand.Input{
		Profile: profile, Now: now, Horizon: forecastHorizon,
		DefaultMilliCPU: pl.args.DefaultCPU.MilliValue(), DefaultMemory: pl.args.DefaultMemory.Value(),
		MinMilliCPU: spec.MinCPU.MilliValue(),
	}
	confidences := []float64{class.Confidence}
	for _, p := range pl.pools.snapshot().pools {
		if c := p.confidenceFor(class.Confidence); !slices.Contains(confidences, c) {
			confidences = append(confidences, c)
		}
	}
	sort.Float64s(confidences)
	for _, c := range confidences {
		in.Confidence = c
		pred := demand.Predict(pod, in)
		s.predictions = append(s.predictions, confidencePrediction{confidence: c, prediction: pred, member: newMemberDemand(pred, class.Overcommit), z: normalQuantile(c)})
	}
	s.source = s.predictionAt(class.Confidence).Source
	s.shape = pl.shapes.id(shapeKey(s))
	if events {
		predictionsTotal.WithLabelValues(string(s.source), fallback).Inc()
		if fallback == demand.FallbackStale {
			staleProfilesTotal.Inc()
			w, _ := demand.WorkloadOf(pod)
			pl.recorder.Eventf(pod, nil, v1.EventTypeWarning, ReasonProfileStale, "Scheduling",
				"the WorkloadProfile of %s %s was last updated more than %s ago; predicting from the pod's requests", w.Kind, w.Name, pl.args.ProfileStalenessLimit.Duration)
		}
	}
	return s, nil
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

// requestedOn is what kube-scheduler counts as requested on a node.
func requestedOn(nodeInfo fwk.NodeInfo) demand.Vector {
	req := nodeInfo.GetRequested()
	return demand.Vector{req.GetMilliCPU(), req.GetMemory()}
}

// Failure reasons of Filter.
const (
	ReasonDedicatedPool = "node's ResourcePool is dedicated to critical pods"
	ReasonPoolConflict  = "node is selected by several ResourcePools"
)

// fitInputFor builds what the partition cache needs to place the pod on a
// node of a pool, from the node's record as poolOf returned it (its pool
// and allocatable) and what kube-scheduler counts as requested on it
// (requestedOn). It leaves out the node's name, which fitOn does not
// need: reading it would cost Filter a cache line of the node object.
// Whatever goes to the cache by name (fit, reserve) sets it.
func (pl *Foresight) fitInputFor(s *podState, rec *nodeRecord, requested demand.Vector) fitInput {
	p := rec.pool
	conf := p.confidenceFor(s.class.Confidence)
	cp := s.at(conf)
	return fitInput{
		pool: p.name, class: s.spec.Class, confidence: conf, member: cp.member, z: cp.z,
		allocatable:  rec.allocatable,
		requested:    requested,
		podRequested: s.requested, podOriginal: s.original,
		pol: p.pol, maxRatioPercent: p.maxRatioPercent,
	}
}

// Filter keeps non-critical pods off dedicated pools, every pod off nodes
// whose pool membership is ambiguous, and, on the nodes of a pool, admits
// a pod only where a partition of its class has or can make room for its
// predicted demand within the node's budget and the pool's overcommit
// limit. Nodes in no pool are left to the other filters. On a node that
// fits, it also computes the node's score, which Score returns. Both are
// remembered on the node's entry under the pod's shape and the node's
// state (memo.go), so that a pod of the same shape finds them there until
// the node, its partitions or the pools change.
func (pl *Foresight) Filter(ctx context.Context, state fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) *fwk.Status {
	s, err := pl.stateOf(state)
	if err != nil {
		return fwk.AsStatus(err)
	}
	c := pl.cacheFor(s)
	entry, node := c.entries.forInfo(nodeInfo)
	if node == nil {
		return fwk.NewStatus(fwk.Error, "node not found")
	}
	snap := pl.pools.snapshot()
	gen := nodeInfo.GetGeneration()
	if m, ok := entry.recall(s.shape, snap.seq, gen); ok {
		return m.status()
	}
	rec, p, err := entry.poolWith(nil, snap, node)
	// remember stores the result computed on rec.
	remember := func(code fwk.Code, reason string, score int64, scored bool) {
		if m, ok := newMemoResult(code, reason, score, scored); ok {
			entry.remember(s.shape, rec.seq, snap.seq, gen, m)
		}
	}
	if err != nil {
		klog.FromContext(ctx).V(5).Info("Node in several pools", "node", klog.KObj(node), "err", err)
		remember(fwk.UnschedulableAndUnresolvable, ReasonPoolConflict, 0, false)
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, ReasonPoolConflict)
	}
	if p == nil {
		remember(fwk.Success, "", 0, false)
		return nil
	}
	if p.tier == foresightv1alpha1.PoolTierDedicated && s.spec.Class != foresightv1alpha1.SLAClassCritical {
		remember(fwk.UnschedulableAndUnresolvable, ReasonDedicatedPool, 0, false)
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, ReasonDedicatedPool)
	}
	in := pl.fitInputFor(s, rec, entry.requestedOn(nodeInfo))
	res := fitOn(&rec.view, &in)
	if res.placement.Kind == placeNone {
		if logger := klog.FromContext(ctx).V(5); logger.Enabled() {
			logger.Info("No room for pod", "pod", klog.KObj(pod), "node", klog.KObj(node), "reason", res.reason,
				"requested", in.requested.String(), "originalAfter", res.originalAfter.String(), "originalLimit", res.originalLimit.String(), "partitions", c.describe(node.Name))
		}
		remember(fwk.Unschedulable, res.reason, 0, false)
		return fwk.NewStatus(fwk.Unschedulable, res.reason)
	}
	var t scoreTerms
	t.pooled(pl.args.ScoreWeights, s, p, &in, nodeInfo, &res)
	remember(fwk.Success, "", t.Score, true)
	return nil
}

// Score rates a node by the cost-benefit of placing the pod there: the
// score Filter remembered for the pod's shape on the node as it is now,
// else computed afresh.
func (pl *Foresight) Score(ctx context.Context, state fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) (int64, *fwk.Status) {
	s, err := pl.stateOf(state)
	if err != nil {
		return 0, fwk.AsStatus(err)
	}
	if entry, node := pl.cacheFor(s).entries.forInfo(nodeInfo); node != nil {
		if m, ok := entry.recall(s.shape, pl.pools.snapshot().seq, nodeInfo.GetGeneration()); ok {
			if v, scored := m.score(); scored {
				return v, nil
			}
		}
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

// scoreTerms are the terms of a node's score and their weighted sum.
type scoreTerms struct {
	Cost, Utilization, Risk, Confidence, Score int64
}

// pooled computes the terms on a node of pool p where the pod's
// placement is res: the cost of the capacity, the utilisation after the
// placement, the risk that the chosen partition overflows, and how the
// trust in the prediction suits the node's overcommitment.
func (t *scoreTerms) pooled(w config.ScoreWeights, s *podState, p *pool, in *fitInput, nodeInfo fwk.NodeInfo, res *fitResult) {
	allocatable := in.allocatable
	t.Cost = costScore(nodeCost{Tier: p.tier, Busy: len(nodeInfo.GetPods()) > 0}, s.spec.Class == foresightv1alpha1.SLAClassCritical)
	// Utilisation: the node's partitions and the requests of pods outside
	// them, after the placement, against its allocatable.
	used := res.placement.Allocated.Add(allocatable.Sub(res.placement.Budget))
	t.Utilization = utilizationScore(used[demand.CPU], allocatable[demand.CPU], used[demand.Memory], allocatable[demand.Memory])
	t.Risk = riskScore(res.pExceed, p.confidenceFor(s.class.Confidence))
	t.Confidence = confidenceScore(sourceConfidence(s.source), overcommitUsed(res.originalAfter, allocatable, res.originalLimit))
	t.Score = weighted([2]int64{t.Cost, w.Cost}, [2]int64{t.Utilization, w.Utilization}, [2]int64{t.Risk, w.Risk}, [2]int64{t.Confidence, w.Confidence})
}

// explain computes the score of a node for a pod with every term that
// makes it up (scoreTerms), and where the pod would go.
func (pl *Foresight) explain(s *podState, nodeInfo fwk.NodeInfo) (placementRecord, error) {
	node := nodeInfo.Node()
	if node == nil {
		return placementRecord{}, fmt.Errorf("node not found")
	}
	w := pl.args.ScoreWeights
	r := placementRecord{
		Node: node.Name, Class: string(s.spec.Class), Source: string(s.source),
		CostWeight: w.Cost, UtilizationWeight: w.Utilization, RiskWeight: w.Risk, ConfidenceWeight: w.Confidence,
	}
	c := pl.cacheFor(s)
	rec, p, err := c.entries.get(node.Name).poolOf(pl.pools.snapshot(), node)
	if err != nil || p == nil {
		// Off pools: requests are all that is known of the node.
		alloc, req := nodeInfo.GetAllocatable(), nodeInfo.GetNonZeroRequested()
		r.Cost = costScore(nodeCost{Busy: len(nodeInfo.GetPods()) > 0}, s.spec.Class == foresightv1alpha1.SLAClassCritical)
		r.Utilization = utilizationScore(req.GetMilliCPU()+s.requested[demand.CPU], alloc.GetMilliCPU(), req.GetMemory()+s.requested[demand.Memory], alloc.GetMemory())
		r.Risk = maxScore
		r.Confidence = confidenceScore(sourceConfidence(s.source), 0)
		r.Score = weighted([2]int64{r.Cost, w.Cost}, [2]int64{r.Utilization, w.Utilization}, [2]int64{r.Risk, w.Risk}, [2]int64{r.Confidence, w.Confidence})
		return r, nil
	}
	r.Pool, r.Tier = p.name, string(p.tier)
	in := pl.fitInputFor(s, rec, requestedOn(nodeInfo))
	in.node = node.Name
	res := c.fit(&in)
	r.Placement = res.placement.Kind.String()
	if res.partition != nil {
		r.Partition = res.partition.name
	}
	var t scoreTerms
	t.pooled(w, s, p, &in, nodeInfo, &res)
	r.Cost, r.Utilization, r.Risk, r.Confidence, r.Score = t.Cost, t.Utilization, t.Risk, t.Confidence, t.Score
	return r, nil
}

// ScoreExtensions returns nil: scores are already in [0, MaxNodeScore].
func (pl *Foresight) ScoreExtensions() fwk.ScoreExtensions { return nil }

// SignPod returns what the plugin's decisions depend on beyond what the
// in-tree plugins sign (requests among them): the namespace (its
// TenantPolicy), the pod's foresight.dev/ annotations and its workload
// (its profile).
func (pl *Foresight) SignPod(_ context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	var declared []string
	for k, v := range pod.Annotations {
		if strings.HasPrefix(k, annotations.Prefix) {
			declared = append(declared, k+"="+v)
		}
	}
	sort.Strings(declared)
	// The prediction comes from the pod's workload.
	var workload string
	if w, ok := demand.WorkloadOf(pod); ok {
		workload = w.Kind + "/" + w.Name
	}
	return []fwk.SignFragment{
		{Key: "v1.Pod.Namespace", Value: pod.Namespace},
		{Key: "foresight.dev/annotations", Value: declared},
		{Key: "foresight.dev/workload", Value: workload},
	}, nil
}

// EventsToRegister returns the events after which a pod this plugin
// rejected may fit: its namespace's TenantPolicy changing, pools changing,
// nodes being added or relabelled, and the pod itself being updated.
func (pl *Foresight) EventsToRegister(_ context.Context) ([]fwk.ClusterEventWithHint, error) {
	return []fwk.ClusterEventWithHint{
		{Event: fwk.ClusterEvent{Resource: tenantPolicyResource, ActionType: fwk.All}, QueueingHintFn: isPolicyOfPodNamespace},
		{Event: fwk.ClusterEvent{Resource: resourcePoolResource, ActionType: fwk.All}},
		// Partitions that shrink or lose members, and profiles that
		// change, are not registered here: the plugin's own informers
		// activate the pods that had no room (roomFreed, profileChanged),
		// which spares kube-scheduler a dynamic informer decoding every
		// Partition write.
		{Event: fwk.ClusterEvent{Resource: fwk.AssignedPod, ActionType: fwk.Delete}},
		{Event: fwk.ClusterEvent{Resource: fwk.Node, ActionType: fwk.Add | fwk.UpdateNodeLabel | fwk.UpdateNodeAllocatable}},
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

// Reserve puts the pod into its partition on the chosen node in the
// cache, deciding again under the cache's lock, and records why the pod
// goes there, computed on the same snapshot its score was, for Bind to
// write onto the pod.
func (pl *Foresight) Reserve(ctx context.Context, state fwk.CycleState, pod *v1.Pod, nodeName string) *fwk.Status {
	s, err := readState(state)
	if err != nil {
		return fwk.AsStatus(err)
	}
	var nodes fwk.NodeInfoLister
	if s.trial != nil {
		nodes = s.trial.nodes
	} else {
		nodes = pl.handle.SnapshotSharedLister().NodeInfos()
	}
	nodeInfo, err := nodes.Get(nodeName)
	if err != nil {
		return fwk.AsStatus(fmt.Errorf("reading node %s from the snapshot: %w", nodeName, err))
	}
	if s.trial != nil {
		// A dry run: the Trial's partitions change, nothing else.
		if _, _, _, err := pl.reserveIn(s.trial.cache, s, pod, nodeInfo); err != nil {
			return fwk.NewStatus(fwk.Unschedulable, err.Error())
		}
		return nil
	}
	// Partition writes yield to the bindings while pods are being placed.
	pl.writer.placing()
	r, err := pl.explain(s, nodeInfo)
	if err != nil {
		return fwk.AsStatus(err)
	}
	name, squeezed, in, err := pl.reserveIn(pl.cache, s, pod, nodeInfo)
	if err != nil {
		return fwk.NewStatus(fwk.Unschedulable, err.Error())
	}
	if name != "" {
		r.Demand = in.member.Upper.String()
		// The Partition objects follow through the writer's queue, not a
		// PreBind: when any PreBind plugin has work, kube-scheduler first
		// patches the pod's status with its nominated node — a write of the
		// whole pod per placement, measured as the largest part of the
		// throughput a synchronous PreBind cost. A scheduler that stops
		// before the write loses nothing: its successor adopts bound pods
		// that no partition lists (reconcile), counting their requests
		// against the node meanwhile like any pod outside partitions.
		pl.writer.enqueue(name)
		for _, other := range squeezed {
			pl.writer.enqueue(other)
		}
		pl.roomless.remove(pod)
		r.Partition = name
		placementsTotal.WithLabelValues(r.Placement).Inc()
		klog.FromContext(ctx).V(4).Info("Reserved pod in partition", "pod", klog.KObj(pod), "node", nodeName, "partition", name, "placement", r.Placement)
	}
	state.Write(explainKey, &r)
	return nil
}

// reserveIn puts the pod into its partition on the node in cache c,
// deciding again under the cache's lock. It returns the partition's name
// ("" for a node in no pool), the partitions squeezed to make room, and
// what the decision was made on.
func (pl *Foresight) reserveIn(c *partitionCache, s *podState, pod *v1.Pod, nodeInfo fwk.NodeInfo) (string, []string, fitInput, error) {
	rec, p, err := c.entries.get(nodeInfo.Node().Name).poolOf(pl.pools.snapshot(), nodeInfo.Node())
	if err != nil || p == nil {
		return "", nil, fitInput{}, nil //nolint:nilerr // a node in no pool, or several, holds the pod outside partitions
	}
	in := pl.fitInputFor(s, rec, requestedOn(nodeInfo))
	in.node = nodeInfo.Node().Name
	name, squeezed, err := c.reserve(pod.UID, pod.Namespace, pod.Name, &in)
	return name, squeezed, in, err
}

// Unreserve takes the pod out of its partition (shrinking or dropping
// it) and has the API follow.
func (pl *Foresight) Unreserve(ctx context.Context, state fwk.CycleState, pod *v1.Pod, nodeName string) {
	state.Delete(explainKey)
	if t := trialOf(state); t != nil {
		t.cache.remove(pod.UID)
		return
	}
	if name := pl.cache.remove(pod.UID); name != "" {
		logger := klog.FromContext(ctx)
		logger.V(4).Info("Unreserved pod from partition", "pod", klog.KObj(pod), "node", nodeName, "partition", name)
		pl.removed(logger, name)
	}
}

// PostFilter remembers a pod that no node could take, so that it is
// retried as soon as a partition loses a member: the scheduler's own
// pod-deletion event may reach the queue before this plugin's cache has
// freed the room. It never nominates a node.
func (pl *Foresight) PostFilter(_ context.Context, state fwk.CycleState, pod *v1.Pod, _ fwk.NodeToStatusReader) (*fwk.PostFilterResult, *fwk.Status) {
	if trialOf(state) != nil {
		return nil, fwk.NewStatus(fwk.Unschedulable)
	}
	pl.roomless.add(pod)
	if s, err := readState(state); err == nil && s.spec.Class != foresightv1alpha1.SLAClassCritical && pl.eligible != nil {
		// When PreFilter left these nodes out, kube-scheduler's message
		// only says they "didn't satisfy plugin(s) [Foresight]".
		if e := pl.eligible.forNonCritical(); e != nil && e.dedicated+e.conflict > 0 && useNodeSet(e.names.Len(), e.names.Len()+e.dedicated+e.conflict) {
			pl.recorder.Eventf(pod, nil, v1.EventTypeWarning, ReasonNodesExcluded, "Scheduling",
				"%d node(s) left out: %d in ResourcePools dedicated to critical pods, %d selected by several ResourcePools", e.dedicated+e.conflict, e.dedicated, e.conflict)
		}
	}
	return nil, fwk.NewStatus(fwk.Unschedulable)
}

// roomFreed retries the pods no node had room for.
func (pl *Foresight) roomFreed(logger klog.Logger) {
	if pods := pl.roomless.takeAll(); len(pods) > 0 {
		logger.V(4).Info("Partition room freed: retrying pods", "pods", len(pods))
		pl.handle.Activate(logger, pods)
	}
}

// Bind binds the pod as kube-scheduler's DefaultBinder does, with the
// placement record as the pod's foresight.dev/placement annotation: the
// API server copies a Binding's annotations onto the pod in the same write
// that sets its node, so the record costs no request of its own (an event
// per pod did, and expired after an hour). `kubectl foresight explain pod`
// shows it. A pod with no record (Reserve did not run) is left to the
// next binder.
func (pl *Foresight) Bind(ctx context.Context, state fwk.CycleState, pod *v1.Pod, nodeName string) *fwk.Status {
	d, err := state.Read(explainKey)
	if err != nil {
		return fwk.NewStatus(fwk.Skip)
	}
	r, ok := d.(*placementRecord)
	if !ok {
		return fwk.NewStatus(fwk.Skip)
	}
	binding := &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
			Annotations: map[string]string{annotations.Placement: r.String()}},
		Target: v1.ObjectReference{Kind: "Node", Name: nodeName},
	}
	logger := klog.FromContext(ctx)
	// The member stays "reserved" until the pod informer shows it bound
	// (podHandler), so that reconcile never reads a lagging pod as a
	// leftover reservation.
	if c := pl.handle.APICacher(); c != nil {
		onFinish, err := c.BindPod(binding)
		if err != nil {
			return fwk.AsStatus(err)
		}
		if err := c.WaitOnFinish(ctx, onFinish); err != nil {
			return fwk.AsStatus(err)
		}
	} else if err := schedutil.BindPod(ctx, pl.handle.ClientSet(), binding); err != nil {
		return fwk.AsStatus(err)
	}
	logger.V(5).Info("Placed pod", "pod", klog.KObj(pod), "node", nodeName, "record", r.String())
	return nil
}

// trimManagedFields drops metadata.managedFields from the objects the
// plugin's informers keep, as kube-scheduler does for pods: nothing here
// reads them, and on Partitions (one per node, pool and class) they are a
// large share of each object. An update built from a trimmed copy sends no
// managedFields, which the API server reads as "unchanged".
func trimManagedFields(obj any) (any, error) {
	if a, err := meta.Accessor(obj); err == nil && a.GetManagedFields() != nil {
		a.SetManagedFields(nil)
	}
	return obj, nil
}
