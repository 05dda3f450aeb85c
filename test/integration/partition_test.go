package integration

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2/ktesting"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
	"k8s.io/utils/ptr"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
	"github.com/foresight-dev/foresight/test/framework"
)

// workloadPod is a pod of Deployment name, as its ReplicaSet name-h would
// create it, with one container "app".
func workloadPod(namespace, deployment, name, class, cpu, memory string) *v1.Pod {
	w := st.MakePod().Namespace(namespace).Name(name).SchedulerName(schedulerName).
		Labels(map[string]string{"pod-template-hash": "h", "app": deployment}).
		OwnerReference(deployment+"-h", schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"})
	if class != "" {
		w = w.Annotation(annotations.SLAClass, class)
	}
	p := w.Obj()
	// No controller runs here: the owner needs a UID, not to exist.
	p.OwnerReferences[0].UID = types.UID("replicaset-" + deployment)
	p.Spec.Containers = []v1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10", Resources: v1.ResourceRequirements{Requests: v1.ResourceList{
		v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse(memory),
	}}}}
	return p
}

// createProfile creates a fresh WorkloadProfile for a Deployment whose
// container "app" uses mean and p99 (= peak) of CPU and memory.
func createProfile(ctx context.Context, t *testing.T, cp *framework.ControlPlane, namespace, deployment, meanCPU, p99CPU, meanMem, p99Mem string) {
	t.Helper()
	stats := func(mean, p99 string) *foresightv1alpha1.ResourceStatistics {
		m, p := resource.MustParse(mean), resource.MustParse(p99)
		return &foresightv1alpha1.ResourceStatistics{Mean: &m, P50: &m, P90: &p, P95: &p, P99: &p, Peak: &p}
	}
	wp := &foresightv1alpha1.WorkloadProfile{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "deployment-" + deployment},
		Spec:       foresightv1alpha1.WorkloadProfileSpec{Workload: foresightv1alpha1.WorkloadReference{APIVersion: "apps/v1", Kind: "Deployment", Name: deployment}},
	}
	created, err := cp.Foresight.ForesightV1alpha1().WorkloadProfiles(namespace).Create(ctx, wp, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status = foresightv1alpha1.WorkloadProfileStatus{
		LastUpdated:  ptr.To(metav1.Now()),
		ObservedPods: 10,
		Containers: []foresightv1alpha1.ContainerProfile{{Name: "app", Usage: foresightv1alpha1.UsageStatistics{
			CPU: stats(meanCPU, p99CPU), Memory: stats(meanMem, p99Mem),
		}}},
	}
	if _, err := cp.Foresight.ForesightV1alpha1().WorkloadProfiles(namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// partitionState is what the API shows of partitions and pods.
type partitionState struct {
	partitions []foresightv1alpha1.Partition
	pods       map[types.UID]v1.Pod
	nodes      map[string]v1.Node
}

func readPartitionState(ctx context.Context, t *testing.T, cp *framework.ControlPlane) partitionState {
	t.Helper()
	parts, err := cp.Foresight.ForesightV1alpha1().Partitions().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := cp.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := cp.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := partitionState{partitions: parts.Items, pods: map[types.UID]v1.Pod{}, nodes: map[string]v1.Node{}}
	for _, p := range pods.Items {
		s.pods[p.UID] = p
	}
	for _, n := range nodes.Items {
		s.nodes[n.Name] = n
	}
	return s
}

// problems lists every way the partitions disagree with the pods and the
// nodes: a bound pod of the scheduler on a pool node in no partition or in
// several, a member whose pod is gone, unbound or on another node, a node
// whose partitions' sizes exceed its allocatable, and, when exact is set
// (members whose demand is certain), a partition whose members' predicted
// demands exceed its size.
func (s partitionState) problems(exact bool) []string {
	var out []string
	memberOf := map[types.UID][]string{}
	sizes := map[string]demand.Vector{}
	for _, p := range s.partitions {
		size := demand.FromResourceVector(p.Spec.Size)
		sizes[p.Spec.NodeName] = sizes[p.Spec.NodeName].Add(size)
		var sum demand.Vector
		for _, m := range p.Spec.Members {
			memberOf[m.UID] = append(memberOf[m.UID], p.Name)
			sum = sum.Add(demand.FromResourceVector(m.Predicted))
			pod, ok := s.pods[m.UID]
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("partition %s has member %s/%s whose pod is gone", p.Name, m.Namespace, m.Name))
			case pod.Spec.NodeName != p.Spec.NodeName:
				out = append(out, fmt.Sprintf("partition %s on %s has member %s bound to %q", p.Name, p.Spec.NodeName, m.Name, pod.Spec.NodeName))
			}
		}
		if len(p.Spec.Members) == 0 {
			out = append(out, fmt.Sprintf("partition %s has no members", p.Name))
		}
		if exact && !sum.FitsIn(size) {
			out = append(out, fmt.Sprintf("partition %s is overfilled: members predict %s, size %s", p.Name, sum, size))
		}
	}
	for node, total := range sizes {
		n := s.nodes[node]
		alloc := demand.Vector{n.Status.Allocatable.Cpu().MilliValue(), n.Status.Allocatable.Memory().Value()}
		if total[demand.CPU] > alloc[demand.CPU] || total[demand.Memory] > alloc[demand.Memory] {
			out = append(out, fmt.Sprintf("node %s: partitions total %s above allocatable %s", node, total, alloc))
		}
	}
	for uid, pod := range s.pods {
		if pod.Spec.SchedulerName != schedulerName || pod.Spec.NodeName == "" || s.nodes[pod.Spec.NodeName].Labels[framework.PoolLabel] == "" {
			continue
		}
		if n := len(memberOf[uid]); n != 1 {
			out = append(out, fmt.Sprintf("pod %s/%s on %s is a member of %d partitions %v", pod.Namespace, pod.Name, pod.Spec.NodeName, n, memberOf[uid]))
		}
	}
	return out
}

// waitConsistent waits until the partitions agree with the pods and fails
// with the remaining problems otherwise.
func waitConsistent(ctx context.Context, t *testing.T, cp *framework.ControlPlane, exact bool) partitionState {
	t.Helper()
	var s partitionState
	var last []string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		s = readPartitionState(ctx, t, cp)
		last = s.problems(exact)
		return len(last) == 0, nil
	})
	if err != nil {
		for _, p := range last {
			t.Error(p)
		}
		t.Fatalf("partitions never agreed with pods: %v", err)
	}
	return s
}

// TestIntegrationPartitionsFollowPredictions schedules pods of a profiled
// workload and of an unprofiled one, and checks the Partition objects:
// members are the bound pods, sizes are the joint prediction (smaller than
// the sum of the members' uppers when their spreads pool), and partitions
// shrink and disappear as pods go.
// waitPartitionStatus waits until every Partition's status counts the
// members of its spec's generation and shows a predicted joint demand
// within its size.
func waitPartitionStatus(ctx context.Context, t *testing.T, cp *framework.ControlPlane) {
	t.Helper()
	var problems []string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := cp.Foresight.ForesightV1alpha1().Partitions().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		problems = problems[:0]
		for _, p := range list.Items {
			predicted, size := demand.FromResourceVector(p.Status.PredictedUsage), demand.FromResourceVector(p.Spec.Size)
			switch {
			case int(p.Status.MemberCount) != len(p.Spec.Members) || p.Status.ObservedGeneration != p.Generation:
				problems = append(problems, fmt.Sprintf("%s: status counts %d members of generation %d, spec has %d at generation %d",
					p.Name, p.Status.MemberCount, p.Status.ObservedGeneration, len(p.Spec.Members), p.Generation))
			case predicted[demand.CPU] <= 0 || !predicted.FitsIn(size):
				problems = append(problems, fmt.Sprintf("%s: predicted usage %s, size %s", p.Name, predicted, size))
			}
		}
		return len(list.Items) > 0 && len(problems) == 0, nil
	})
	if err != nil {
		t.Fatalf("Waiting for Partition statuses: %v: %v", err, problems)
	}
}

func TestIntegrationPartitionsFollowPredictions(t *testing.T) {
	cp, ctx := startCluster(t)
	if _, err := cp.StartScheduler(ctx, t, "foresight-scheduler.yaml"); err != nil {
		t.Fatal(err)
	}
	createNamespace(ctx, t, cp, "shop", &foresightv1alpha1.TenantPolicySpec{
		AllowedClasses: []foresightv1alpha1.SLAClass{"critical", "standard", "batch", "best-effort"},
	})
	// web: mean 100m/256Mi, p99 250m/512Mi; requests at the p99.
	createProfile(ctx, t, cp, "shop", "web", "100m", "250m", "256Mi", "512Mi")
	var names []string
	for i := range 12 {
		name := fmt.Sprintf("web-%d", i)
		if _, err := cp.Kube.CoreV1().Pods("shop").Create(ctx, workloadPod("shop", "web", name, "standard", "250m", "512Mi"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	for i := range 3 {
		name := fmt.Sprintf("db-%d", i)
		if _, err := cp.Kube.CoreV1().Pods("shop").Create(ctx, workloadPod("shop", "db", name, "critical", "1", "2Gi"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	bound := waitBound(ctx, t, cp, "shop", names)
	for name, node := range bound {
		want := "fixed"
		if name[:2] == "db" {
			want = "dedicated"
		}
		if pool := node[:len(want)]; pool != want {
			t.Errorf("pod %s bound to %s, want the %s pool", name, node, want)
		}
	}
	assertRequestsFit(ctx, t, cp)
	s := waitConsistent(ctx, t, cp, false)
	waitPartitionStatus(ctx, t, cp)

	for _, p := range s.partitions {
		n := float64(len(p.Spec.Members))
		size := demand.FromResourceVector(p.Spec.Size)
		switch p.Spec.SLAClass {
		case "standard":
			// Joint CPU of n members with mean 100m and upper 250m:
			// n·100 + sqrt(n)·150, plus up to 10% headroom (the CRD default).
			joint := int64(math.Ceil(n*100 + math.Sqrt(n)*150))
			if size[demand.CPU] < joint || size[demand.CPU] > joint*110/100+1 {
				t.Errorf("partition %s (%d members): CPU size %dm, want the joint demand %dm plus at most 10%%", p.Name, len(p.Spec.Members), size[demand.CPU], joint)
			}
			if n >= 2 && size[demand.CPU] >= int64(n*250) {
				t.Errorf("partition %s: CPU size %dm is not below the sum of uppers %dm: no pooling", p.Name, size[demand.CPU], int64(n*250))
			}
			if p.Spec.Confidence != "0.99" {
				t.Errorf("partition %s: confidence %q, want 0.99", p.Name, p.Spec.Confidence)
			}
		case "critical":
			// Critical pods are not overcommitted: the sum of their uppers
			// (their p99 is the 1-CPU request: no profile for db).
			if want := int64(n * 1000); size[demand.CPU] < want {
				t.Errorf("partition %s: CPU size %dm below the %dm its critical members need", p.Name, size[demand.CPU], want)
			}
		default:
			t.Errorf("unexpected partition %s of class %s", p.Name, p.Spec.SLAClass)
		}
		if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].Kind != "Node" || p.OwnerReferences[0].Name != p.Spec.NodeName {
			t.Errorf("partition %s: owner references %v, want its node", p.Name, p.OwnerReferences)
		}
	}

	// Pods go: their partitions shrink, then disappear.
	before := sizeOf(s, "standard")
	for _, name := range names[:6] {
		if err := cp.Kube.CoreV1().Pods("shop").Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
	}
	s = waitConsistent(ctx, t, cp, false)
	if after := sizeOf(s, "standard"); after[demand.CPU] >= before[demand.CPU] {
		t.Errorf("standard partitions' CPU %dm after 6 of 12 members left, want less than %dm", after[demand.CPU], before[demand.CPU])
	}
	for _, name := range names[6:] {
		if err := cp.Kube.CoreV1().Pods("shop").Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return len(readPartitionState(ctx, t, cp).partitions) == 0, nil
	}); err != nil {
		t.Errorf("partitions left after every pod was deleted: %v", readPartitionState(ctx, t, cp).partitions)
	}
}

func sizeOf(s partitionState, class foresightv1alpha1.SLAClass) demand.Vector {
	var v demand.Vector
	for _, p := range s.partitions {
		if p.Spec.SLAClass == class {
			v = v.Add(demand.FromResourceVector(p.Spec.Size))
		}
	}
	return v
}

// fastClient is a client without client-side rate limiting, to create
// pods concurrently.
func fastClient(t *testing.T, cp *framework.ControlPlane) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(cp.Config)
	cfg.QPS, cfg.Burst = -1, 0
	return kubernetes.NewForConfigOrDie(cfg)
}

// createConcurrently creates pods from workers goroutines at once.
func createConcurrently(ctx context.Context, t *testing.T, c kubernetes.Interface, pods []*v1.Pod, workers int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(pods))
	next := make(chan *v1.Pod)
	for range workers {
		wg.Go(func() {
			for p := range next {
				if _, err := c.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, p := range pods {
		next <- p
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// countBound waits until the number of bound pods in a namespace stops
// changing for settle and returns it.
func countBound(ctx context.Context, t *testing.T, cp *framework.ControlPlane, namespace string, want int, settle time.Duration) int {
	t.Helper()
	last, since := -1, time.Now()
	var n int
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := cp.Kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return false, err
		}
		n = 0
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" {
				n++
			}
		}
		if n != last {
			last, since = n, time.Now()
		}
		return n >= want || time.Since(since) > settle, nil
	})
	if err != nil {
		t.Fatalf("counting bound pods: %v (%d bound)", err, n)
	}
	return n
}

// TestIntegrationConcurrentPodsNeverOverfill creates 1,000 pods at once,
// more than the pool holds, and checks that no partition ever holds more
// predicted demand than its size and no node more partitions or requests
// than its allocatable. The pods have no profile, so their demand is
// certain (their requests) and the check is exact.
func TestIntegrationConcurrentPodsNeverOverfill(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	cp := framework.StartControlPlane(t)
	if err := cp.InstallCRDs(ctx); err != nil {
		t.Fatal(err)
	}
	// 10 nodes × 8 cores: room for 800 pods of 100m (a little less with
	// partition headroom squeezed to the floor, exactly 800 here).
	if _, _, err := cp.CreatePool(ctx, framework.PoolSpec{Name: "bulk", Tier: foresightv1alpha1.PoolTierFixed, Nodes: 10, CPU: "8", Memory: "64Gi"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.StartScheduler(ctx, t, "foresight-scheduler.yaml"); err != nil {
		t.Fatal(err)
	}
	createNamespace(ctx, t, cp, "load", &foresightv1alpha1.TenantPolicySpec{
		AllowedClasses: []foresightv1alpha1.SLAClass{"standard", "batch", "best-effort"},
	})
	classes := []string{"standard", "batch", "best-effort"}
	pods := make([]*v1.Pod, 1000)
	for i := range pods {
		pods[i] = workloadPod("load", fmt.Sprintf("job%d", i%7), fmt.Sprintf("p-%04d", i), classes[i%3], "100m", "128Mi")
	}
	createConcurrently(ctx, t, fastClient(t, cp), pods, 32)
	n := countBound(ctx, t, cp, "load", 800, 15*time.Second)
	if n != 800 {
		t.Errorf("%d pods bound, want 800 (the pool's capacity)", n)
	}
	waitConsistent(ctx, t, cp, true)
	assertRequestsFit(ctx, t, cp)
}

// TestIntegrationSchedulerRestart stops the scheduler in the middle of a
// burst of pods, starts a new one, and checks that it rebuilt its
// partitions from the API: no pod is booked twice, no partition keeps a
// pod that the stopped scheduler reserved but did not bind, and the sizes
// stay within the nodes.
func TestIntegrationSchedulerRestart(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	cp := framework.StartControlPlane(t)
	if err := cp.InstallCRDs(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cp.CreatePool(ctx, framework.PoolSpec{Name: "fixed", Tier: foresightv1alpha1.PoolTierFixed, Nodes: 4, CPU: "4", Memory: "16Gi"}); err != nil {
		t.Fatal(err)
	}
	createNamespace(ctx, t, cp, "shop", &foresightv1alpha1.TenantPolicySpec{AllowedClasses: []foresightv1alpha1.SLAClass{"standard", "batch"}})
	first, err := cp.StartScheduler(ctx, t, "foresight-scheduler.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// 4 nodes × 4 cores hold 32 pods of 500m; 40 are created.
	var pods []*v1.Pod
	for i := range 40 {
		pods = append(pods, workloadPod("shop", "api", fmt.Sprintf("api-%02d", i), []string{"standard", "batch"}[i%2], "500m", "1Gi"))
	}
	createConcurrently(ctx, t, fastClient(t, cp), pods, 8)
	// Stop it as soon as some pods are bound, with others in flight.
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		return countBoundNow(ctx, cp, "shop") >= 10, nil
	}); err != nil {
		t.Fatal(err)
	}
	first.Stop()
	stoppedAt := countBoundNow(ctx, cp, "shop")
	t.Logf("first scheduler stopped with %d pods bound", stoppedAt)

	if _, err := cp.StartScheduler(ctx, t, "foresight-scheduler.yaml"); err != nil {
		t.Fatal(err)
	}
	if n := countBound(ctx, t, cp, "shop", 32, 10*time.Second); n != 32 {
		t.Errorf("%d pods bound after the restart, want 32 (the pool's capacity; %d were bound before)", n, stoppedAt)
	}
	waitConsistent(ctx, t, cp, true)
	assertRequestsFit(ctx, t, cp)
}

func countBoundNow(ctx context.Context, cp *framework.ControlPlane, namespace string) int {
	pods, err := cp.Kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0
	}
	n := 0
	for _, p := range pods.Items {
		if p.Spec.NodeName != "" {
			n++
		}
	}
	return n
}
