package foresight

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
	foresighttyped "github.com/foresight-dev/foresight/pkg/generated/clientset/versioned/typed/foresight/v1alpha1"
	listers "github.com/foresight-dev/foresight/pkg/generated/listers/foresight/v1alpha1"
)

// reconcileInterval is how often the partition members are checked
// against the pods they name.
const reconcileInterval = 30 * time.Second

// partitionWriter makes Partition objects equal to the cache: a queue
// writes the partitions that reservations, unreservations, pod deletions
// and node deletions change.
type partitionWriter struct {
	cache  *partitionCache
	client foresighttyped.PartitionInterface
	// objects is the informer's view, read first to save a GET.
	objects listers.PartitionLister
	nodes   corelisters.NodeLister
	// rv is the resourceVersion of each partition as this writer last
	// wrote or read it from the API server.
	rv sync.Map // name → string
	// persisted is the cache version each partition was last written at,
	// so that a state already written is not written again.
	persisted sync.Map // name → uint64
	queue     workqueue.TypedRateLimitingInterface[string]
	// statuses are the partitions whose status (member count, predicted
	// joint demand) is to be written.
	statuses workqueue.TypedRateLimitingInterface[string]
	// locks serialise the writes of one partition, so that a write never
	// carries an older cache state than the write before it.
	locks sync.Map // name → *sync.Mutex
	// written is the size of the last write of each partition, to tell
	// our own updates from someone else's.
	written sync.Map // name → demand.Vector
	// limiter paces the writes (ForesightArgs.PartitionWriteQPS), and
	// busyLimiter, at a quarter of that, also while pods are being placed
	// (busyUntil, Unix nanoseconds, moved on by placing).
	limiter, busyLimiter flowcontrol.RateLimiter
	busyUntil            atomic.Int64
}

// busyWindow is how long after a placement the scheduler counts as busy.
const busyWindow = time.Second

// busyShare is the part of partitionWriteQPS Partition writes get while
// pods are being placed: each write costs the API server (and, in a
// control plane that shares its machine, the scheduler) several
// milliseconds of CPU, which a burst of pods needs for the bindings.
// Partition objects are for the controller and for people; scheduling
// reads its cache.
const busyShare = 4

func newPartitionWriter(c *partitionCache, client foresighttyped.PartitionInterface, objects listers.PartitionLister, nodes corelisters.NodeLister, qps int32) *partitionWriter {
	return &partitionWriter{
		cache: c, client: client, objects: objects, nodes: nodes,
		limiter:     flowcontrol.NewTokenBucketRateLimiter(float32(qps), 2*int(qps)),
		busyLimiter: flowcontrol.NewTokenBucketRateLimiter(float32(max(qps/busyShare, 1)), int(max(qps/busyShare, 1))),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "foresight_partitions"}),
		statuses: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "foresight_partition_statuses"}),
	}
}

// statusDelay is how long a partition's status write waits for more
// changes. The status is for people (kubectl's Members column) and the
// controller, not for scheduling, so it may lag: a partition filled by a
// burst of pods gets one status write, not one per spec write.
const statusDelay = 5 * time.Second

// writeDelay is how long a partition's write waits for more changes: a
// partition being filled gets one write per writeDelay, not one per pod
// (each write carries the whole member list, so writing per pod costs the
// API server quadratic work as partitions grow).
const writeDelay = 500 * time.Millisecond

// placing tells the writer that a pod was just placed: for busyWindow,
// writes are paced by busyLimiter too.
func (w *partitionWriter) placing() {
	w.busyUntil.Store(time.Now().Add(busyWindow).UnixNano())
}

func (w *partitionWriter) busy() bool {
	return time.Now().UnixNano() < w.busyUntil.Load()
}

// wait takes a turn for a write: of busyLimiter while pods are being
// placed, and of limiter always.
func (w *partitionWriter) wait(ctx context.Context) error {
	if w.busy() {
		if err := w.busyLimiter.Wait(ctx); err != nil {
			return err
		}
	}
	return w.limiter.Wait(ctx)
}

// tryTurn takes a turn for a write only if one is free now, as wait
// would take it.
func (w *partitionWriter) tryTurn() bool {
	if w.busy() && !w.busyLimiter.TryAccept() {
		return false
	}
	return w.limiter.TryAccept()
}

// enqueue schedules a partition to be written within writeDelay; changes
// made meanwhile share the write.
func (w *partitionWriter) enqueue(name string) {
	if name != "" {
		w.queue.AddAfter(name, writeDelay)
	}
}

// writers is how many partitions are written at once.
const writers = 4

// run writes queued partitions until ctx ends.
func (w *partitionWriter) run(ctx context.Context) {
	go func() {
		<-ctx.Done()
		w.queue.ShutDown()
		w.statuses.ShutDown()
	}()
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() { w.work(ctx, w.queue, w.sync, "Writing Partition") })
	}
	wg.Go(func() { w.work(ctx, w.statuses, w.syncStatus, "Writing Partition status") })
	wg.Wait()
}

func (w *partitionWriter) work(ctx context.Context, queue workqueue.TypedRateLimitingInterface[string], sync func(context.Context, string) error, what string) {
	logger := klog.FromContext(ctx)
	for {
		name, shutdown := queue.Get()
		if shutdown {
			return
		}
		if err := sync(ctx, name); err != nil {
			logger.Error(err, what+"; will retry", "partition", name)
			queue.AddRateLimited(name)
		} else {
			queue.Forget(name)
		}
		queue.Done(name)
	}
}

// syncStatus writes the part of a Partition's status the scheduler owns:
// the member count and generation of the spec in the API, and the
// members' predicted joint demand. The rest (observed usage, conditions)
// is the controller's and left as it is.
func (w *partitionWriter) syncStatus(ctx context.Context, name string) error {
	if _, version, want := w.cache.spec(name); want && !w.isPersisted(name, version) {
		// A spec write is queued; it queues the status again once done.
		return nil
	}
	l := w.lock(name)
	l.Lock()
	defer l.Unlock()
	first := true
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur, err := w.current(ctx, name, first)
		first = false
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		joint, ok := w.cache.jointOf(name)
		if !ok {
			return nil // going away
		}
		want := cur.Status.DeepCopy()
		want.MemberCount = int32(len(cur.Spec.Members))
		want.ObservedGeneration = cur.Generation
		want.PredictedUsage = joint.ResourceVector()
		if equality.Semantic.DeepEqual(&cur.Status, want) {
			return nil
		}
		if !w.tryTurn() {
			// Spec writes (waiting for their turn) go first: the status
			// is for people and the controller. Tried again later; a
			// status waiting out a burst is written once after it.
			w.statuses.AddAfter(name, statusDelay)
			return nil
		}
		obj := cur.DeepCopy()
		obj.Status = *want
		updated, err := w.client.UpdateStatus(ctx, obj, metav1.UpdateOptions{})
		countWrite("status", err)
		if err == nil {
			w.rv.Store(name, updated.ResourceVersion)
		}
		return err
	})
}

func (w *partitionWriter) lock(name string) *sync.Mutex {
	l, _ := w.locks.LoadOrStore(name, &sync.Mutex{})
	return l.(*sync.Mutex)
}

var partitionGroupResource = schema.GroupResource{Group: foresightv1alpha1.SchemeGroupVersion.Group, Resource: "partitions"}

// sync makes the Partition object called name equal to the cache: created
// when missing, updated when different, deleted when the cache no longer
// has the partition.
func (w *partitionWriter) sync(ctx context.Context, name string) error {
	l := w.lock(name)
	l.Lock()
	defer l.Unlock()
	if _, version, _ := w.cache.spec(name); w.isPersisted(name, version) {
		return nil // this very state was written already
	}
	// Waiting before reading the cache: changes made while the write
	// waits its turn go out with it.
	if err := w.wait(ctx); err != nil {
		return err
	}
	first := true
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		spec, version, want := w.cache.spec(name)
		cur, err := w.current(ctx, name, first)
		first = false
		switch {
		case apierrors.IsNotFound(err):
			if !want {
				return nil
			}
			obj := &foresightv1alpha1.Partition{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
				foresightv1alpha1.GroupName + "/node": spec.NodeName, foresightv1alpha1.GroupName + "/pool": spec.PoolName,
			}}, Spec: spec}
			if node, err := w.nodes.Get(spec.NodeName); err == nil {
				// The partition goes with its node.
				obj.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
			}
			// Noted before the write: its watch event may come back before
			// the call returns.
			w.written.Store(name, demand.FromResourceVector(spec.Size))
			created, err := w.client.Create(ctx, obj, metav1.CreateOptions{})
			countWrite("create", err)
			if apierrors.IsAlreadyExists(err) {
				// Another writer got there first (or the informer is
				// behind): read it again.
				return apierrors.NewConflict(partitionGroupResource, name, err)
			}
			if err == nil {
				w.persisted.Store(name, version)
				w.rv.Store(name, created.ResourceVersion)
				w.statuses.AddAfter(name, statusDelay)
			}
			return err
		case err != nil:
			return err
		case !want:
			err := w.client.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cur.UID, ResourceVersion: &cur.ResourceVersion}})
			countWrite("delete", err)
			if apierrors.IsNotFound(err) {
				err = nil
			}
			if err == nil {
				w.written.Delete(name)
				w.persisted.Delete(name)
				w.rv.Delete(name)
			}
			return err
		case cur.Spec.NodeName != spec.NodeName || cur.Spec.SLAClass != spec.SLAClass || cur.Spec.PoolName != spec.PoolName:
			// Partitions never move; an object by this name that differs
			// was made by someone else. Leave it and say so.
			return fmt.Errorf("partition %s in the API is on node %s pool %s class %s, the scheduler's on node %s pool %s class %s; not overwriting",
				name, cur.Spec.NodeName, cur.Spec.PoolName, cur.Spec.SLAClass, spec.NodeName, spec.PoolName, spec.SLAClass)
		case equality.Semantic.DeepEqual(cur.Spec, spec):
			w.persisted.Store(name, version)
			// A status skipped while this write was queued is due now.
			w.statuses.AddAfter(name, statusDelay)
			return nil
		default:
			cur = cur.DeepCopy()
			cur.Spec = spec
			w.written.Store(name, demand.FromResourceVector(spec.Size))
			updated, err := w.client.Update(ctx, cur, metav1.UpdateOptions{})
			countWrite("update", err)
			if err == nil {
				w.persisted.Store(name, version)
				w.rv.Store(name, updated.ResourceVersion)
				w.statuses.AddAfter(name, statusDelay)
			}
			return err
		}
	})
}

func (w *partitionWriter) isPersisted(name string, version uint64) bool {
	v, ok := w.persisted.Load(name)
	return ok && v.(uint64) == version
}

// current reads a Partition: from the informer on a first attempt (an
// outdated copy only costs a conflict), from the API server after.
// The informer's copy is used only when it is the one this writer last
// wrote (or the first it ever sees): anything else may be stale. A name
// the informer does not have and this writer never wrote or read is taken
// as missing without asking the API server (one GET per new partition):
// if it exists after all, the create that follows fails with
// AlreadyExists and the retry reads it from the API server.
func (w *partitionWriter) current(ctx context.Context, name string, cached bool) (*foresightv1alpha1.Partition, error) {
	if cached && w.objects != nil {
		obj, err := w.objects.Get(name)
		rv, known := w.rv.Load(name)
		switch {
		case err == nil && known && rv.(string) == obj.ResourceVersion:
			return obj, nil
		case apierrors.IsNotFound(err) && !known:
			return nil, err
		}
	}
	obj, err := w.client.Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		w.rv.Store(name, obj.ResourceVersion)
	}
	return obj, err
}

func countWrite(op string, err error) {
	result := "success"
	if err != nil {
		result = "error"
	}
	partitionWritesTotal.WithLabelValues(op, result).Inc()
}

// ours tells whether a Partition object's size is the one this writer
// wrote last, so that only someone else's resize reaches the cache.
// Events of older writes of ours may still come back; the cache never
// takes a size below its members' joint demand, so they do no harm.
func (w *partitionWriter) ours(obj *foresightv1alpha1.Partition) bool {
	v, ok := w.written.Load(obj.Name)
	return ok && v.(demand.Vector) == demand.FromResourceVector(obj.Spec.Size)
}

// partitionHandler keeps the cache in step with Partition objects written
// by others: loaded at start, resized by the controller, deleted by hand.
func (pl *Foresight) partitionHandler(logger klog.Logger) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			p, ok := obj.(*foresightv1alpha1.Partition)
			if !ok {
				return
			}
			var pol poolPolicy
			if pp := pl.pools.snapshot().byName(p.Spec.PoolName); pp != nil {
				pol = pp.pol
			}
			if pl.cache.load(p, pol) {
				logger.V(4).Info("Loaded Partition", "partition", p.Name, "node", p.Spec.NodeName, "members", len(p.Spec.Members))
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			p, ok := newObj.(*foresightv1alpha1.Partition)
			old, okOld := oldObj.(*foresightv1alpha1.Partition)
			if !ok || !okOld || pl.writer.ours(p) || equality.Semantic.DeepEqual(old.Spec.Size, p.Spec.Size) {
				return
			}
			if pl.cache.resize(p.Name, demand.FromResourceVector(p.Spec.Size)) {
				// The cache keeps its floor: write the truth back.
				pl.writer.enqueue(p.Name)
			}
			pl.roomFreed(logger)
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			p, ok := obj.(*foresightv1alpha1.Partition)
			if !ok {
				return
			}
			if _, _, want := pl.cache.spec(p.Name); want {
				// Deleted behind the scheduler's back while it still has
				// members: write it again so that the API shows the truth.
				logger.Info("Partition deleted while it has members; recreating it", "partition", p.Name)
				pl.writer.written.Delete(p.Name)
				pl.writer.enqueue(p.Name)
			}
		},
	}
}

// profileHandler retries the pods that had no room when their workload's
// profile is created or its status changes: they may be predicted
// smaller. Pods of other workloads stay where they are.
func (pl *Foresight) profileHandler(logger klog.Logger) cache.ResourceEventHandler {
	activate := func(wp *foresightv1alpha1.WorkloadProfile) {
		pods := pl.roomless.takeIf(wp.Namespace, func(p *v1.Pod) bool {
			w, ok := demand.WorkloadOf(p)
			return ok && w.Kind == wp.Spec.Workload.Kind && w.Name == wp.Spec.Workload.Name
		})
		if len(pods) > 0 {
			logger.V(4).Info("WorkloadProfile changed: retrying pods that had no room", "workloadProfile", klog.KObj(wp), "pods", len(pods))
			pl.handle.Activate(logger, pods)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if wp, ok := obj.(*foresightv1alpha1.WorkloadProfile); ok {
				activate(wp)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*foresightv1alpha1.WorkloadProfile)
			n, ok2 := newObj.(*foresightv1alpha1.WorkloadProfile)
			if ok1 && ok2 && !equality.Semantic.DeepEqual(o.Status, n.Status) {
				activate(n)
			}
		},
	}
}

// podHandler removes deleted and finished pods from their partitions and
// notes when a reserved pod is bound.
func (pl *Foresight) podHandler(logger klog.Logger) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, newObj any) {
			pod, ok := newObj.(*v1.Pod)
			if !ok {
				return
			}
			if pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed {
				pl.removed(logger, pl.cache.remove(pod.UID))
				return
			}
			if old, ok := oldObj.(*v1.Pod); ok && old.Spec.NodeName == "" && pod.Spec.NodeName != "" {
				pl.cache.bound(pod.UID)
			}
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*v1.Pod); ok {
				pl.removed(logger, pl.cache.remove(pod.UID))
			}
		},
	}
}

// removed writes a partition that lost a member and retries the pods that
// had no room.
func (pl *Foresight) removed(logger klog.Logger, partition string) {
	if partition == "" {
		return
	}
	pl.writer.enqueue(partition)
	pl.roomFreed(logger)
}

// nodeHandler drops the partitions of deleted nodes and notes node
// changes that may change which pool a node is in.
func (pl *Foresight) nodeHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { pl.eligible.changed() },
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*v1.Node)
			n, ok2 := newObj.(*v1.Node)
			if !ok1 || !ok2 || !labels.Equals(o.Labels, n.Labels) {
				pl.eligible.changed()
			}
		},
		DeleteFunc: func(obj any) {
			pl.eligible.changed()
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if node, ok := obj.(*v1.Node); ok {
				for _, name := range pl.cache.removeNode(node.Name) {
					pl.writer.enqueue(name)
				}
			}
		},
	}
}

// reconcile checks every member against its pod once the scheduler's pod
// cache has synced and then every reconcileInterval: members whose pod is
// gone, finished, bound elsewhere, or pending without a reservation of
// this scheduler (left by a scheduler that stopped between Reserve and
// binding) leave their partitions; members read from the API get their
// demand from their pod; bound pods no partition lists are adopted; and
// headroom that no longer fits a node is squeezed.
func (pl *Foresight) reconcile(ctx context.Context, pods corelisters.PodLister, podsSynced cache.InformerSynced) {
	logger := klog.FromContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), podsSynced) {
		return
	}
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		for _, m := range pl.cache.members() {
			pod, err := pods.Pods(m.namespace).Get(m.name)
			stale := false
			switch {
			case apierrors.IsNotFound(err):
				stale = true
			case err != nil:
				continue
			case pod.UID != m.uid,
				pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed,
				pod.Spec.NodeName != "" && pod.Spec.NodeName != m.node,
				pod.Spec.NodeName == "" && !m.reserved:
				stale = true
			}
			if stale {
				logger.V(2).Info("Removing stale partition member", "partition", m.partition, "pod", klog.KRef(m.namespace, m.name), "uid", m.uid)
				pl.removed(logger, pl.cache.remove(m.uid))
				continue
			}
			if m.restored && pod.Spec.NodeName != "" {
				pl.refreshMember(pod, m.confidence)
			}
		}
		pl.adoptBoundPods(logger, pods)
		// Partitions read from the API may carry headroom that writes
		// lost with a stopped scheduler would have squeezed.
		for _, name := range pl.cache.nodeNames() {
			node, err := pl.writer.nodes.Get(name)
			if err != nil {
				continue
			}
			alloc := node.Status.Allocatable
			for _, p := range pl.cache.squeeze(name, demand.Vector{alloc.Cpu().MilliValue(), alloc.Memory().Value()}) {
				pl.writer.enqueue(p)
			}
		}
	}, reconcileInterval)
}

// adoptBoundPods puts the pods of this scheduler's profile that are bound
// to a pool's node but listed by no partition into one (see adopt).
func (pl *Foresight) adoptBoundPods(logger klog.Logger, pods corelisters.PodLister) {
	all, err := pods.List(labels.Everything())
	if err != nil {
		return
	}
	profile := pl.handle.ProfileName()
	snap := pl.pools.snapshot()
	for _, pod := range all {
		if pod.Spec.NodeName == "" || pod.Spec.SchedulerName != profile || pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed || pod.DeletionTimestamp != nil {
			continue
		}
		if _, ok := pl.cache.partitionOf(pod.UID); ok {
			continue
		}
		node, err := pl.writer.nodes.Get(pod.Spec.NodeName)
		if err != nil {
			continue
		}
		rec, p, err := pl.cache.entries.get(node.Name).poolOf(snap, node)
		if err != nil || p == nil {
			continue
		}
		s, err := pl.podStateFor(pod, false)
		if err != nil {
			continue // refused annotations: the pod is accounted as outside partitions
		}
		// Adopting places no pod: the node's requests do not matter.
		in := pl.fitInputFor(s, rec, demand.Vector{})
		in.node = node.Name
		if name := pl.cache.adopt(pod.UID, pod.Namespace, pod.Name, &in); name != "" {
			logger.Info("Adopted a bound pod that no partition listed", "pod", klog.KObj(pod), "node", node.Name, "partition", name)
			pl.writer.enqueue(name)
		}
	}
}

// refreshMember recomputes a member's demand from its pod, as PreFilter
// would have, at its partition's confidence.
func (pl *Foresight) refreshMember(pod *v1.Pod, confidence float64) {
	ps, err := pl.podStateFor(pod, false)
	if err != nil {
		return
	}
	pl.cache.refreshMember(pod.UID, ps.demandAt(confidence), ps.requested, ps.original)
}
