package simulate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	schedulerserverconfig "k8s.io/kubernetes/cmd/kube-scheduler/app/config"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"
	"k8s.io/kubernetes/pkg/scheduler"
	internalqueue "k8s.io/kubernetes/pkg/scheduler/backend/queue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/generated/informers/externalversions"
	foresightlisters "github.com/foresight-dev/foresight/pkg/generated/listers/foresight/v1alpha1"

	// Registers the plugins' arguments into kube-scheduler's scheme.
	_ "github.com/foresight-dev/foresight/pkg/plugins/apis/config/scheme"
	"github.com/foresight-dev/foresight/pkg/plugins/fairshare"
	"github.com/foresight-dev/foresight/pkg/plugins/foresight"
	"github.com/foresight-dev/foresight/test/framework"
)

// ControlPlaneBackend runs a replay on an in-process control plane (etcd
// and kube-apiserver, test/framework) with the real kube-scheduler, built
// by kube-scheduler's own setup code (app.Setup) from each policy's
// configuration, with Foresight's plugins on the simulated clock.
//
// The scheduler's queue runs as usual, but its scheduling cycles are
// driven by the replay (Scheduler.ScheduleOne) instead of a free-running
// loop: every change of a step (nodes, departures, profiles) is in the
// scheduler's caches before the first cycle of the step, and pods of one
// step are scheduled one at a time in trace order, so that a replay is
// repeatable.
type ControlPlaneBackend struct {
	cp      *framework.ControlPlane
	tempDir string
	// Timeout bounds every wait for the control plane (default 2 min).
	Timeout time.Duration

	profileInformer cache.SharedIndexInformer
	profileLister   foresightlisters.WorkloadProfileLister
	partitionLister foresightlisters.PartitionLister
	stopInformers   context.CancelFunc

	run *cpRun
}

// cpRun is one policy's scheduler and what is known of its cluster.
type cpRun struct {
	cancel    context.CancelFunc
	sched     *scheduler.Scheduler
	cc        *schedulerserverconfig.CompletedConfig
	queue     *internalqueue.PriorityQueue
	podLister corelisters.PodLister
	live      sets.Set[string]
	nodes     int
	profiles  map[string]*foresightv1alpha1.WorkloadProfile
	logger    klog.Logger
	// foresight is true when the policy runs Foresight's plugins.
	foresight bool
	// plugins are the Foresight plugins of the scheduler, by profile.
	plugins map[string]*foresight.Foresight
	// partitionWait is the time Partitions waited for the plugin's
	// writes, partitionTimeouts how often it gave up.
	partitionWait     time.Duration
	partitionTimeouts int
}

// settle is how long the replay waits after a change that reaches the
// scheduler through several informers (a node, a deletion, a profile)
// once the first of them has it, so that the others have it too.
const settle = 3 * time.Millisecond

// NewControlPlaneBackend returns a backend on a started control plane
// whose CRDs are installed. tempDir receives the schedulers'
// configuration files. Close stops its informers.
func NewControlPlaneBackend(cp *framework.ControlPlane, tempDir string) *ControlPlaneBackend {
	return &ControlPlaneBackend{cp: cp, tempDir: tempDir, Timeout: 2 * time.Minute}
}

// Close stops the backend's own informers; a running policy's scheduler
// is stopped by Stop.
func (b *ControlPlaneBackend) Close() {
	if b.stopInformers != nil {
		b.stopInformers()
	}
}

func (b *ControlPlaneBackend) wait(ctx context.Context, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(b.Timeout)
	for sleep := 50 * time.Microsecond; ; sleep = min(2*sleep, 2*time.Millisecond) {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: not done after %s", what, b.Timeout)
		}
		time.Sleep(sleep)
	}
}

// Start implements Backend.
func (b *ControlPlaneBackend) Start(ctx context.Context, spec RunSpec) error {
	if b.run != nil {
		return errors.New("a run is already started")
	}
	if err := b.setup(ctx, spec); err != nil {
		return err
	}
	r := &cpRun{live: sets.New[string](), profiles: map[string]*foresightv1alpha1.WorkloadProfile{}, logger: klog.FromContext(ctx), foresight: spec.Policy.Foresight}
	for _, n := range spec.Nodes {
		if _, err := b.cp.Kube.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating node %s: %w", n.Name, err)
		}
	}
	r.nodes = len(spec.Nodes)
	if err := b.startScheduler(ctx, r, spec); err != nil {
		return err
	}
	b.run = r
	return b.wait(ctx, "the scheduler's nodes", func() (bool, error) { return r.sched.Cache.NodeCount() == r.nodes, nil })
}

// setup creates the namespace and the backend's profile informer once,
// and the run's pools and TenantPolicy.
func (b *ControlPlaneBackend) setup(ctx context.Context, spec RunSpec) error {
	if b.profileInformer == nil {
		ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}
		if _, err := b.cp.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating namespace %s: %w", Namespace, err)
		}
		ictx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		b.stopInformers = cancel
		f := externalversions.NewSharedInformerFactoryWithOptions(b.cp.Foresight, 0, externalversions.WithNamespace(Namespace))
		inf := f.Foresight().V1alpha1().WorkloadProfiles()
		b.profileInformer, b.profileLister = inf.Informer(), inf.Lister()
		// Partitions are cluster-scoped: read as the controller reads them,
		// through an informer.
		pf := externalversions.NewSharedInformerFactory(b.cp.Foresight, 0)
		b.partitionLister = pf.Foresight().V1alpha1().Partitions().Lister()
		f.Start(ictx.Done())
		pf.Start(ictx.Done())
		f.WaitForCacheSync(ictx.Done())
		pf.WaitForCacheSync(ictx.Done())
	}
	pools := b.cp.Foresight.ForesightV1alpha1().ResourcePools()
	for _, p := range spec.Pools {
		old, err := pools.Get(ctx, p.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = pools.Create(ctx, p, metav1.CreateOptions{})
		case err == nil:
			p = p.DeepCopy()
			p.ResourceVersion = old.ResourceVersion
			_, err = pools.Update(ctx, p, metav1.UpdateOptions{})
		}
		if err != nil {
			return fmt.Errorf("writing ResourcePool %s: %w", p.Name, err)
		}
	}
	tps := b.cp.Foresight.ForesightV1alpha1().TenantPolicies(Namespace)
	tp := spec.TenantPolicy.DeepCopy()
	old, err := tps.Get(ctx, tp.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = tps.Create(ctx, tp, metav1.CreateOptions{})
	case err == nil:
		tp.ResourceVersion = old.ResourceVersion
		_, err = tps.Update(ctx, tp, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("writing the TenantPolicy: %w", err)
	}
	return nil
}

// startScheduler sets kube-scheduler up from the policy's configuration
// (what app.Run does, less its process-wide registrations and its
// free-running scheduling loop).
func (b *ControlPlaneBackend) startScheduler(ctx context.Context, r *cpRun, spec RunSpec) error {
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(spec.Policy.SchedulerConfig), &cfg); err != nil {
		return fmt.Errorf("policy %s: decoding its scheduler configuration: %w", spec.Policy.Name, err)
	}
	cfg["clientConnection"] = map[string]any{"kubeconfig": b.cp.Kubeconfig, "qps": 1000, "burst": 2000}
	cfg["leaderElection"] = map[string]any{"leaderElect": false}
	raw, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	file := filepath.Join(b.tempDir, "scheduler-"+spec.Policy.Name+".yaml")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		return err
	}
	opts := options.NewOptions()
	opts.ConfigFile = file
	opts.SecureServing.BindPort = 0
	sctx, cancel := context.WithCancel(ctx)
	// The plugins are kept for dry runs (TryPlace).
	r.plugins = map[string]*foresight.Foresight{}
	factory := foresight.FactoryWithClock(b.cp.Foresight, spec.Now)
	keep := func(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
		pl, err := factory(ctx, obj, h)
		f, isForesight := pl.(*foresight.Foresight)
		if p, named := h.(interface{ ProfileName() string }); err == nil && isForesight && named {
			r.plugins[p.ProfileName()] = f
		}
		return pl, err
	}
	cc, sched, err := app.Setup(sctx, opts,
		app.WithPlugin(foresight.Name, keep),
		app.WithPlugin(fairshare.Name, fairshare.Factory(b.cp.Foresight)))
	if err != nil {
		cancel()
		return fmt.Errorf("policy %s: setting up the scheduler: %w", spec.Policy.Name, err)
	}
	q, ok := sched.SchedulingQueue.(*internalqueue.PriorityQueue)
	if !ok {
		cancel()
		return fmt.Errorf("scheduling queue is a %T, not a PriorityQueue", sched.SchedulingQueue)
	}
	r.cancel, r.sched, r.cc, r.queue = cancel, sched, cc, q
	cc.EventBroadcaster.StartRecordingToSink(sctx.Done())
	cc.InformerFactory.Start(sctx.Done())
	if cc.DynInformerFactory != nil {
		cc.DynInformerFactory.Start(sctx.Done())
	}
	cc.InformerFactory.WaitForCacheSync(sctx.Done())
	if cc.DynInformerFactory != nil {
		cc.DynInformerFactory.WaitForCacheSync(sctx.Done())
	}
	if err := sched.WaitForHandlersSync(sctx); err != nil {
		r.logger.Error(err, "Scheduler handlers not synced")
	}
	r.podLister = cc.InformerFactory.Core().V1().Pods().Lister()
	sched.SchedulingQueue.Run(r.logger)
	if sched.APIDispatcher != nil {
		sched.APIDispatcher.Run(r.logger)
	}
	return nil
}

// AddNodes implements Backend.
func (b *ControlPlaneBackend) AddNodes(ctx context.Context, nodes []*v1.Node) error {
	r := b.run
	for _, n := range nodes {
		if _, err := b.cp.Kube.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating node %s: %w", n.Name, err)
		}
		r.nodes++
	}
	err := b.wait(ctx, "the scheduler to see new nodes", func() (bool, error) { return r.sched.Cache.NodeCount() == r.nodes, nil })
	time.Sleep(settle)
	return err
}

// RemoveNodes implements Backend.
func (b *ControlPlaneBackend) RemoveNodes(ctx context.Context, names []string) error {
	r := b.run
	for _, n := range names {
		if err := b.cp.Kube.CoreV1().Nodes().Delete(ctx, n, metav1.DeleteOptions{}); err != nil {
			return fmt.Errorf("deleting node %s: %w", n, err)
		}
		r.nodes--
	}
	err := b.wait(ctx, "the scheduler to forget removed nodes", func() (bool, error) { return r.sched.Cache.NodeCount() == r.nodes, nil })
	time.Sleep(settle)
	return err
}

// PublishProfiles implements Backend. It waits until the backend's own
// informer has every write, then a moment for the plugin's.
func (b *ControlPlaneBackend) PublishProfiles(ctx context.Context, profiles []*foresightv1alpha1.WorkloadProfile) error {
	r := b.run
	client := b.cp.Foresight.ForesightV1alpha1().WorkloadProfiles(Namespace)
	written := map[string]string{}
	for _, wp := range profiles {
		cur := r.profiles[wp.Name]
		if cur == nil {
			created, err := client.Create(ctx, &foresightv1alpha1.WorkloadProfile{ObjectMeta: wp.ObjectMeta, Spec: wp.Spec}, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				created, err = client.Get(ctx, wp.Name, metav1.GetOptions{})
			}
			if err != nil {
				return fmt.Errorf("creating WorkloadProfile %s: %w", wp.Name, err)
			}
			cur = created
		}
		next := cur.DeepCopy()
		next.Status = *wp.Status.DeepCopy()
		updated, err := client.UpdateStatus(ctx, next, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			var latest *foresightv1alpha1.WorkloadProfile
			if latest, err = client.Get(ctx, wp.Name, metav1.GetOptions{}); err == nil {
				latest.Status = next.Status
				updated, err = client.UpdateStatus(ctx, latest, metav1.UpdateOptions{})
			}
		}
		if err != nil {
			return fmt.Errorf("updating WorkloadProfile %s: %w", wp.Name, err)
		}
		r.profiles[wp.Name] = updated
		written[wp.Name] = updated.ResourceVersion
	}
	err := b.wait(ctx, "WorkloadProfiles to reach the informers", func() (bool, error) {
		for name, rv := range written {
			wp, err := b.profileLister.WorkloadProfiles(Namespace).Get(name)
			if err != nil || wp.ResourceVersion != rv {
				return false, nil //nolint:nilerr // not there yet
			}
		}
		return true, nil
	})
	time.Sleep(settle)
	return err
}

// CreatePod implements Backend.
func (b *ControlPlaneBackend) CreatePod(ctx context.Context, pod *v1.Pod) error {
	if _, err := b.cp.Kube.CoreV1().Pods(Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating pod %s: %w", pod.Name, err)
	}
	b.run.live.Insert(pod.Name)
	return nil
}

// DeletePods implements Backend. It returns once the scheduler's cache no
// longer holds the pods and no Partition lists them (the Foresight plugin
// has freed their room), so that the next pods see the room.
func (b *ControlPlaneBackend) DeletePods(ctx context.Context, names []string) error {
	return b.removePods(ctx, names, func(name string) error {
		err := b.cp.Kube.CoreV1().Pods(Namespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting pod %s: %w", name, err)
		}
		return nil
	})
}

// EvictPods implements Backend: a policy/v1 Eviction of each pod with a
// zero grace period. The API server checks the pod's disruption budgets
// and deletes it; with no kubelet to wait for, at once. It returns when
// DeletePods would.
func (b *ControlPlaneBackend) EvictPods(ctx context.Context, names []string) error {
	return b.removePods(ctx, names, func(name string) error {
		err := b.cp.Kube.CoreV1().Pods(Namespace).EvictV1(ctx, &policyv1.Eviction{
			ObjectMeta:    metav1.ObjectMeta{Name: name, Namespace: Namespace},
			DeleteOptions: &metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)},
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("evicting pod %s: %w", name, err)
		}
		return nil
	})
}

// removePods removes pods with del and waits until the scheduler and the
// Foresight plugin have forgotten them.
func (b *ControlPlaneBackend) removePods(ctx context.Context, names []string, del func(name string) error) error {
	r := b.run
	var pods []*v1.Pod
	uids := sets.New[types.UID]()
	for _, n := range names {
		if p, err := r.podLister.Pods(Namespace).Get(n); err == nil {
			pods = append(pods, p)
			uids.Insert(p.UID)
		}
		if err := del(n); err != nil {
			return err
		}
		r.live.Delete(n)
	}
	err := b.wait(ctx, "the scheduler to forget deleted pods", func() (bool, error) {
		for _, p := range pods {
			if _, err := r.podLister.Pods(Namespace).Get(p.Name); err == nil {
				return false, nil
			}
			if _, err := r.sched.Cache.GetPod(p); err == nil {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	if !r.foresight {
		return nil
	}
	return b.wait(ctx, "the Foresight plugin to free deleted pods' partitions", func() (bool, error) {
		parts, err := b.cp.Foresight.ForesightV1alpha1().Partitions().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, p := range parts.Items {
			for _, m := range p.Spec.Members {
				if uids.Has(m.UID) {
					return false, nil
				}
			}
		}
		return true, nil
	})
}

// CordonNodes implements Backend: it sets the nodes' spec.unschedulable,
// as kubectl cordon does, and returns once the scheduler's cache has it.
func (b *ControlPlaneBackend) CordonNodes(ctx context.Context, names []string, unschedulable bool) error {
	r := b.run
	nodes := b.cp.Kube.CoreV1().Nodes()
	for _, name := range names {
		n, err := nodes.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("cordoning node %s: %w", name, err)
		}
		n.Spec.Unschedulable = unschedulable
		if _, err := nodes.Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("cordoning node %s: %w", name, err)
		}
	}
	err := b.wait(ctx, "the scheduler to see cordoned nodes", func() (bool, error) {
		dump := r.sched.Cache.Dump()
		for _, name := range names {
			ni, ok := dump.Nodes[name]
			if !ok || ni.Node() == nil || ni.Node().Spec.Unschedulable != unschedulable {
				return false, nil
			}
		}
		return true, nil
	})
	time.Sleep(settle)
	return err
}

// Schedule implements Backend.
func (b *ControlPlaneBackend) Schedule(ctx context.Context, retry []string) (map[string]string, error) {
	r := b.run
	if len(retry) > 0 {
		pods := map[string]*v1.Pod{}
		for _, n := range retry {
			if p, err := r.podLister.Pods(Namespace).Get(n); err == nil && p.Spec.NodeName == "" {
				pods[Namespace+"/"+n] = p
			}
		}
		r.queue.Activate(r.logger, pods)
	}
	var placements map[string]string
	err := b.wait(ctx, "the scheduler to settle", func() (bool, error) {
		for len(r.queue.PodsInActiveQ())+len(r.queue.PodsInBackoffQ()) > 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			r.sched.ScheduleOne(ctx)
		}
		if len(r.queue.InFlightPods()) > 0 {
			return false, nil
		}
		pending := sets.New[string]()
		for _, p := range r.queue.UnschedulablePods() {
			if p.Namespace == Namespace {
				pending.Insert(p.Name)
			}
		}
		placements = make(map[string]string, r.live.Len())
		for n := range r.live {
			p, err := r.podLister.Pods(Namespace).Get(n)
			if err != nil {
				return false, nil //nolint:nilerr // not in the scheduler's cache yet
			}
			if p.Spec.NodeName == "" && !pending.Has(n) {
				return false, nil // queued, in a cycle or being bound
			}
			placements[n] = p.Spec.NodeName
		}
		return true, nil
	})
	return placements, err
}

// ResizePods implements Backend: the annotation, where new, by an
// ordinary update, then the requests through the pods/resize subresource,
// as the controller writes them. With no kubelet, no container status
// reports other resources, so kube-scheduler counts the new requests at
// once (it counts the larger of the spec and the status while a kubelet
// actuates a resize). It returns once the scheduler's cache holds every
// resized pod.
func (b *ControlPlaneBackend) ResizePods(ctx context.Context, resizes []PodResize) error {
	r := b.run
	pods := b.cp.Kube.CoreV1().Pods(Namespace)
	written := map[string]string{}
	for _, rs := range resizes {
		cur, err := pods.Get(ctx, rs.Pod.Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("resizing pod %s: %w", rs.Pod.Name, err)
		}
		if rs.Annotate {
			next := cur.DeepCopy()
			if next.Annotations == nil {
				next.Annotations = map[string]string{}
			}
			for k, v := range rs.Pod.Annotations {
				next.Annotations[k] = v
			}
			if cur, err = pods.Update(ctx, next, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("annotating pod %s: %w", rs.Pod.Name, err)
			}
		}
		next := cur.DeepCopy()
		for i := range next.Spec.Containers {
			for j := range rs.Pod.Spec.Containers {
				if rs.Pod.Spec.Containers[j].Name == next.Spec.Containers[i].Name {
					next.Spec.Containers[i].Resources.Requests = rs.Pod.Spec.Containers[j].Resources.Requests.DeepCopy()
				}
			}
		}
		updated, err := pods.UpdateResize(ctx, next.Name, next, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("resizing pod %s: %w", rs.Pod.Name, err)
		}
		written[updated.Name] = updated.ResourceVersion
	}
	return b.wait(ctx, "the scheduler to see resized pods", func() (bool, error) {
		for name, rv := range written {
			p, err := r.podLister.Pods(Namespace).Get(name)
			if err != nil || p.ResourceVersion != rv {
				return false, nil //nolint:nilerr // not there yet
			}
			if c, err := r.sched.Cache.GetPod(p); err != nil || c.ResourceVersion != rv {
				return false, nil //nolint:nilerr // not there yet
			}
		}
		return true, nil
	})
}

// partitionWait bounds how long Partitions waits for the Foresight plugin
// to have written the members of every bound pod.
const partitionWait = time.Second

// Partitions implements PartitionReader: the Partition objects, from an
// informer, as the controller reads them. The Foresight plugin writes a
// partition's members shortly after it binds a pod (it batches its
// writes), so Partitions first waits, up to partitionWait, until every
// bound pod of the run is a member of some partition, then returns what
// there is; none under a policy without Foresight's plugins.
func (b *ControlPlaneBackend) Partitions(ctx context.Context) ([]foresightv1alpha1.Partition, error) {
	r := b.run
	if r == nil || !r.foresight {
		return nil, nil
	}
	started := time.Now()
	for sleep := time.Millisecond; ; sleep = min(2*sleep, 20*time.Millisecond) {
		list, err := b.partitionLister.List(labels.Everything())
		if err != nil {
			return nil, fmt.Errorf("listing partitions: %w", err)
		}
		members := sets.New[string]()
		for _, p := range list {
			for _, m := range p.Spec.Members {
				if m.Namespace == Namespace {
					members.Insert(m.Name)
				}
			}
		}
		missing := 0
		for n := range r.live {
			if p, err := r.podLister.Pods(Namespace).Get(n); err == nil && p.Spec.NodeName != "" && !members.Has(n) {
				missing++
			}
		}
		waited := time.Since(started)
		if missing == 0 || waited > partitionWait || ctx.Err() != nil {
			r.partitionWait += waited
			if missing > 0 {
				r.partitionTimeouts++
				r.logger.V(2).Info("Partitions do not name every bound pod", "missing", missing, "waited", waited)
			}
			out := make([]foresightv1alpha1.Partition, len(list))
			for i, p := range list {
				out[i] = *p
			}
			return out, nil
		}
		time.Sleep(sleep)
	}
}

// PendingReasons implements Explainer: the message of each pending pod's
// PodScheduled condition, as the scheduler last set it. The scheduler
// writes the condition after its cycle, through its API dispatcher: a pod
// pending without one is waited for, up to a second.
func (b *ControlPlaneBackend) PendingReasons(ctx context.Context, names []string) map[string]string {
	out := map[string]string{}
	if b.run == nil {
		return out
	}
	deadline := time.Now().Add(time.Second)
	for _, n := range names {
		for {
			p, err := b.cp.Kube.CoreV1().Pods(Namespace).Get(ctx, n, metav1.GetOptions{})
			if err != nil || p.Spec.NodeName != "" {
				break
			}
			for _, c := range p.Status.Conditions {
				if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse {
					out[n] = c.Message
				}
			}
			if _, ok := out[n]; ok || time.Now().After(deadline) || ctx.Err() != nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	return out
}

// Stop implements Backend.
func (b *ControlPlaneBackend) Stop(ctx context.Context) error {
	r := b.run
	if r == nil {
		return nil
	}
	b.run = nil
	if r.partitionWait > 0 {
		r.logger.Info("Waited for the Foresight plugin's partition writes", "total", r.partitionWait, "timeouts", r.partitionTimeouts)
	}
	r.cancel()
	if r.sched.APIDispatcher != nil {
		r.sched.APIDispatcher.Close()
	}
	r.sched.SchedulingQueue.Close()
	if err := r.sched.Profiles.Close(); err != nil {
		r.logger.Error(err, "Closing the scheduler's plugins")
	}
	r.cc.EventBroadcaster.Shutdown()
	r.cc.InformerFactory.Shutdown()
	if r.cc.DynInformerFactory != nil {
		r.cc.DynInformerFactory.Shutdown()
	}
	return b.clean(ctx)
}

// clean deletes what a run leaves: pods, partitions, nodes and profiles.
// It deletes again what is still there, such as a partition that the
// stopped plugin was writing.
func (b *ControlPlaneBackend) clean(ctx context.Context) error {
	now := metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}
	all := metav1.ListOptions{}
	return b.wait(ctx, "the cluster to be empty", func() (bool, error) {
		if err := b.cp.Kube.CoreV1().Pods(Namespace).DeleteCollection(ctx, now, all); err != nil {
			return false, fmt.Errorf("deleting pods: %w", err)
		}
		if err := b.cp.Foresight.ForesightV1alpha1().Partitions().DeleteCollection(ctx, now, all); err != nil {
			return false, fmt.Errorf("deleting partitions: %w", err)
		}
		if err := b.cp.Kube.CoreV1().Nodes().DeleteCollection(ctx, now, all); err != nil {
			return false, fmt.Errorf("deleting nodes: %w", err)
		}
		if err := b.cp.Foresight.ForesightV1alpha1().WorkloadProfiles(Namespace).DeleteCollection(ctx, now, all); err != nil {
			return false, fmt.Errorf("deleting profiles: %w", err)
		}
		pods, err := b.cp.Kube.CoreV1().Pods(Namespace).List(ctx, all)
		if err != nil {
			return false, err
		}
		nodes, err := b.cp.Kube.CoreV1().Nodes().List(ctx, all)
		if err != nil {
			return false, err
		}
		parts, err := b.cp.Foresight.ForesightV1alpha1().Partitions().List(ctx, all)
		if err != nil {
			return false, err
		}
		profiles, err := b.profileLister.WorkloadProfiles(Namespace).List(labels.Everything())
		if err != nil {
			return false, err
		}
		return len(pods.Items)+len(nodes.Items)+len(parts.Items)+len(profiles) == 0, nil
	})
}
