package integration

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/foresight-dev/foresight/internal/sharedtraces"
	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/simulate"
	"github.com/foresight-dev/foresight/test/framework"
)

// simOp is one change the replay made to its cluster.
type simOp struct {
	// now is the simulated clock when the change was made.
	now         time.Time
	profiles    []*foresightv1alpha1.WorkloadProfile
	create      *v1.Pod
	delete      []string
	removeNodes []string
}

// recordingBackend records what a replay does to its cluster and, for
// every pod it creates, the node the simulator's scheduler chose.
type recordingBackend struct {
	simulate.Backend
	t       *testing.T
	cp      *framework.ControlPlane
	spec    simulate.RunSpec
	ops     []simOp
	created string
	decided map[string]string
	// records are the ForesightPlaced notes of the decisions.
	records map[string]string
}

func (r *recordingBackend) Start(ctx context.Context, spec simulate.RunSpec) error {
	r.spec = spec
	return r.Backend.Start(ctx, spec)
}

func (r *recordingBackend) AddNodes(ctx context.Context, nodes []*v1.Node) error {
	r.t.Errorf("The scenario should need no autoscaling, but %d nodes were added", len(nodes))
	return r.Backend.AddNodes(ctx, nodes)
}

func (r *recordingBackend) RemoveNodes(ctx context.Context, names []string) error {
	r.ops = append(r.ops, simOp{now: r.spec.Now(), removeNodes: append([]string(nil), names...)})
	return r.Backend.RemoveNodes(ctx, names)
}

func (r *recordingBackend) PublishProfiles(ctx context.Context, profiles []*foresightv1alpha1.WorkloadProfile) error {
	op := simOp{now: r.spec.Now()}
	for _, p := range profiles {
		op.profiles = append(op.profiles, p.DeepCopy())
	}
	r.ops = append(r.ops, op)
	return r.Backend.PublishProfiles(ctx, profiles)
}

func (r *recordingBackend) CreatePod(ctx context.Context, pod *v1.Pod) error {
	r.ops = append(r.ops, simOp{now: r.spec.Now(), create: pod.DeepCopy()})
	r.created = pod.Name
	return r.Backend.CreatePod(ctx, pod)
}

func (r *recordingBackend) DeletePods(ctx context.Context, names []string) error {
	r.ops = append(r.ops, simOp{now: r.spec.Now(), delete: append([]string(nil), names...)})
	return r.Backend.DeletePods(ctx, names)
}

func (r *recordingBackend) Schedule(ctx context.Context, retry []string) (map[string]string, error) {
	if len(retry) > 0 {
		r.t.Errorf("The scenario should leave no pod pending, but %v were retried", retry)
	}
	placements, err := r.Backend.Schedule(ctx, retry)
	if r.created != "" {
		r.decided[r.created] = placements[r.created]
		r.records[r.created] = placementNote(ctx, r.t, r.cp, r.created)
		r.created = ""
	}
	return placements, err
}

// placementNote waits for the Foresight plugin's placement record on a pod
// (its foresight.dev/placement annotation) and returns it without the
// node's and the partition's names (which random tie-breaking between
// identical nodes may change).
func placementNote(ctx context.Context, t *testing.T, cp *framework.ControlPlane, pod string) string {
	t.Helper()
	var note string
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := cp.Kube.CoreV1().Pods(simulate.Namespace).Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		v, ok := p.Annotations[annotations.Placement]
		if !ok {
			return false, nil
		}
		var kept []string
		for _, f := range strings.Fields(v) {
			if !strings.HasPrefix(f, "node=") && !strings.HasPrefix(f, "partition=") {
				kept = append(kept, f)
			}
		}
		note = strings.Join(kept, " ")
		return true, nil
	})
	if err != nil {
		t.Fatalf("Waiting for the placement record of pod %s: %v", pod, err)
	}
	return note
}

// equalityTrace is 20 workloads with daily rhythms over two days of
// history and half an hour of replay: 14 run from the start, 2 of them
// leave after 10 minutes of replay, 3 new ones arrive at 10 minutes and 3
// at 20 minutes (new workloads, without profiles).
func equalityTrace() (*simulate.Trace, int) {
	const step = 5 * time.Minute
	const history, replay = 2 * 288, 6
	n := history + replay
	r := rand.New(rand.NewPCG(7, 11))
	tr := &simulate.Trace{Start: time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC), Step: step, Steps: n}
	for i := range 20 {
		reqCPU := int64(500 + 250*(i%5))
		reqMem := int64(1<<30 + (512<<20)*(i%4))
		first, last := 0, n-1
		switch {
		case i == 3 || i == 7:
			last = history + 2
		case i >= 14 && i < 17:
			first = history + 2
		case i >= 17:
			first = history + 4
		}
		cpu, mem := make([]float64, n), make([]float64, n)
		phase := r.Float64() * 2 * math.Pi
		amp := 0.1 + 0.3*r.Float64()
		for k := range n {
			if k < first || k > last {
				cpu[k], mem[k] = math.NaN(), math.NaN()
				continue
			}
			day := math.Sin(2*math.Pi*float64(k%288)/288 + phase)
			cpu[k] = float64(reqCPU) * math.Max(0.02, 0.3+amp*day+0.05*r.NormFloat64())
			mem[k] = float64(reqMem) * math.Max(0.05, 0.4+0.1*day+0.02*r.NormFloat64())
		}
		tr.Pods = append(tr.Pods, simulate.PodTrace{Name: fmt.Sprintf("app%d", i), CPURequest: reqCPU, MemoryRequest: reqMem, CPU: cpu, Memory: mem})
	}
	return tr, history
}

// TestIntegrationSimulateMatchesScheduler checks that the simulator's
// decisions are the real scheduler's: a small scenario (3 pools × 2 nodes,
// 20 pods with profiles, forecasts and daily shapes, arrivals, departures
// and a scale-down) is replayed under the Foresight policy, and every
// change the replay made is then made, in the same order, to a fresh
// control plane running the shipped foresight-scheduler.yaml through
// cp.StartScheduler on the wall clock (profile and forecast times shifted
// by the difference between the clocks).
//
// What is compared is what is deterministic. kube-scheduler breaks ties
// between nodes of equal total score at random, so nodes are matched up to
// a one-to-one renaming within each pool, built as pods land; until both
// schedulers pick nodes that the renaming does not match (such a tie),
// every pod must get the same Foresight placement record (pool, tier,
// class, partition placement, prediction source and demand, score and
// every score term: everything but the node's and the partition's names).
// After such a tie the clusters legitimately differ, and every pod must
// still land in the same pool with the same prediction.
func TestIntegrationSimulateMatchesScheduler(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	tr, history := equalityTrace()
	policies, err := simulate.Policies(simulate.PolicyForesight)
	if err != nil {
		t.Fatal(err)
	}
	pools := []simulate.PoolSpec{
		// Small fixed nodes without overcommit: they take 4 cores of
		// original requests each, the rest goes to the variable pool.
		{Name: "fixed", Tier: foresightv1alpha1.PoolTierFixed, Nodes: 2, CPU: 4000, Memory: 32 << 30, PricePerNodeHour: 1, MaxOvercommitPercent: 100},
		{Name: "dedicated", Tier: foresightv1alpha1.PoolTierDedicated, Nodes: 2, CPU: 8000, Memory: 32 << 30, PricePerNodeHour: 1, MaxOvercommitPercent: 100},
		{Name: "variable", Tier: foresightv1alpha1.PoolTierVariable, Nodes: 2, MaxNodes: 2, CPU: 8000, Memory: 32 << 30, PricePerNodeHour: 2, MaxOvercommitPercent: 300},
	}
	simCP := framework.StartControlPlane(t)
	if err := simCP.InstallCRDs(ctx); err != nil {
		t.Fatal(err)
	}
	backend := simulate.NewControlPlaneBackend(simCP, t.TempDir())
	t.Cleanup(backend.Close)
	rec := &recordingBackend{Backend: backend, t: t, cp: simCP, decided: map[string]string{}, records: map[string]string{}}
	res, err := simulate.Run(ctx, rec, simulate.Config{Trace: tr, Start: history, Pools: pools, Policies: policies})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Outcomes[0].Predictions["forecast"]; got != 14 {
		t.Errorf("The simulator's scheduler predicted %d pods from forecasts, want the 14 profiled ones (all: %v)", got, res.Outcomes[0].Predictions)
	}
	if len(rec.decided) != 20 {
		t.Fatalf("Recorded %d decisions, want 20", len(rec.decided))
	}

	// The same changes, in the same order, to the real scheduler.
	cp := framework.StartControlPlane(t)
	if err := cp.InstallCRDs(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Kube.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: simulate.Namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Foresight.ForesightV1alpha1().TenantPolicies(simulate.Namespace).Create(ctx, rec.spec.TenantPolicy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range rec.spec.Pools {
		if _, err := cp.Foresight.ForesightV1alpha1().ResourcePools().Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range rec.spec.Nodes {
		if _, err := cp.Kube.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sched, err := cp.StartScheduler(ctx, t, "foresight-scheduler.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Nodes are compared up to a renaming within each pool, built as
	// pods land; a node the simulator removes is removed under its name
	// here (an empty node of its pool if it never held a pod).
	simToReal, realToSim := map[string]string{}, map[string]string{}
	diverged := false
	realNodes := map[string]bool{}
	for _, n := range rec.spec.Nodes {
		realNodes[n.Name] = true
	}
	profiles := map[string]*foresightv1alpha1.WorkloadProfile{}
	for _, op := range rec.ops {
		switch {
		case op.profiles != nil:
			shift := time.Since(op.now)
			for _, wp := range op.profiles {
				publishShifted(ctx, t, cp, profiles, wp, shift)
			}
			// The plugin reads profiles through its own informer.
			time.Sleep(300 * time.Millisecond)
		case op.create != nil:
			name := op.create.Name
			if _, err := cp.Kube.CoreV1().Pods(simulate.Namespace).Create(ctx, op.create, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			r, s := waitForNode(ctx, t, cp, name), rec.decided[name]
			got, want := placementNote(ctx, t, cp, name), rec.records[name]
			if pool(s) != pool(r) {
				t.Errorf("Pod %s: the simulator placed it on %s, the scheduler on %s (another pool)", name, s, r)
			}
			// What depends on the pod alone (its pool, class and
			// predicted demand) must always agree.
			if podFields(got) != podFields(want) {
				t.Errorf("Pod %s: predicted differently:\n  simulator: %s\n  scheduler: %s", name, want, got)
			}
			if diverged {
				continue
			}
			ms, okS := simToReal[s]
			mr, okR := realToSim[r]
			if (okS || okR) && (ms != r || mr != s) {
				// Both schedulers chose, among nodes of equal total
				// score (Foresight's and the in-tree plugins'), a
				// different one: kube-scheduler breaks such ties at
				// random. The two clusters differ from here on, so only
				// what depends on the pod alone is compared.
				diverged = true
				t.Logf("Pod %s: a tie broken differently: the simulator took %s (record %q), the scheduler %s (record %q); comparing pools and predictions only from here", name, s, want, r, got)
				continue
			}
			simToReal[s], realToSim[r] = r, s
			if got != want {
				t.Errorf("Pod %s: the scheduler's placement record differs from the simulator's:\n  simulator: %s\n  scheduler: %s", name, want, got)
			}
		case op.removeNodes != nil:
			for _, s := range op.removeNodes {
				r, ok := simToReal[s]
				if !ok || diverged {
					r = emptyNode(ctx, t, cp, realNodes, pool(s))
					simToReal[s], realToSim[r] = r, s
				}
				if err := cp.Kube.CoreV1().Nodes().Delete(ctx, r, metav1.DeleteOptions{}); err != nil {
					t.Fatalf("Deleting the scheduler's node %q for the simulator's %s: %v", r, s, err)
				}
				delete(realNodes, r)
			}
			time.Sleep(300 * time.Millisecond)
		default:
			var deleted []*v1.Pod
			for _, name := range op.delete {
				p, err := cp.Kube.CoreV1().Pods(simulate.Namespace).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				deleted = append(deleted, p)
				if err := cp.Kube.CoreV1().Pods(simulate.Namespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
					t.Fatal(err)
				}
			}
			// The scheduler and the plugin free the room through their
			// informers: wait until the scheduler's cache has let the
			// pods go and their partitions are written.
			err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
				for _, p := range deleted {
					if _, err := sched.Cache.GetPod(p); err == nil {
						return false, nil
					}
				}
				return true, nil
			})
			if err != nil {
				t.Fatalf("Waiting for the scheduler to forget %v: %v", op.delete, err)
			}
			waitNoMembers(ctx, t, cp, op.delete)
			time.Sleep(300 * time.Millisecond)
		}
	}
	if len(simToReal) < 5 {
		t.Errorf("The scenario used %d nodes (%v), want pods in every pool", len(simToReal), simToReal)
	}
	t.Logf("Decisions: %v; node correspondence: %v", rec.decided, simToReal)
}

// emptyNode returns a node of the pool that holds no pod.
func emptyNode(ctx context.Context, t *testing.T, cp *framework.ControlPlane, nodes map[string]bool, poolName string) string {
	t.Helper()
	pods, err := cp.Kube.CoreV1().Pods(simulate.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	busy := map[string]bool{}
	for _, p := range pods.Items {
		busy[p.Spec.NodeName] = true
	}
	for n := range nodes {
		if pool(n) == poolName && !busy[n] {
			return n
		}
	}
	t.Fatalf("No empty node in pool %s to remove as the simulator did", poolName)
	return ""
}

// waitNoMembers waits until no Partition lists the named pods.
func waitNoMembers(ctx context.Context, t *testing.T, cp *framework.ControlPlane, names []string) {
	t.Helper()
	gone := map[string]bool{}
	for _, n := range names {
		gone[n] = true
	}
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		parts, err := cp.Foresight.ForesightV1alpha1().Partitions().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, p := range parts.Items {
			for _, m := range p.Spec.Members {
				if m.Namespace == simulate.Namespace && gone[m.Name] {
					return false, nil
				}
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("Waiting for the partitions to lose %v: %v", names, err)
	}
}

// podFields keeps the fields of a placement record that depend on the pod
// alone: its pool, tier, class, prediction source and demand.
func podFields(record string) string {
	var kept []string
	for _, f := range strings.Fields(record) {
		for _, p := range []string{"pool=", "tier=", "class=", "source=", "demand="} {
			if strings.HasPrefix(f, p) {
				kept = append(kept, f)
			}
		}
	}
	return strings.Join(kept, " ")
}

// pool is the pool of a node named <pool>-<n>.
func pool(node string) string {
	if i := strings.LastIndex(node, "-"); i > 0 {
		return node[:i]
	}
	return node
}

// publishShifted creates or updates a WorkloadProfile with every time in
// its status moved by shift.
func publishShifted(ctx context.Context, t *testing.T, cp *framework.ControlPlane, cur map[string]*foresightv1alpha1.WorkloadProfile, wp *foresightv1alpha1.WorkloadProfile, shift time.Duration) {
	t.Helper()
	client := cp.Foresight.ForesightV1alpha1().WorkloadProfiles(simulate.Namespace)
	obj := cur[wp.Name]
	if obj == nil {
		created, err := client.Create(ctx, &foresightv1alpha1.WorkloadProfile{ObjectMeta: metav1.ObjectMeta{Name: wp.Name, Namespace: wp.Namespace}, Spec: wp.Spec}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		obj = created
	}
	st := wp.Status.DeepCopy()
	move := func(m *metav1.Time) {
		if m != nil {
			m.Time = m.Add(shift)
		}
	}
	move(st.LastUpdated)
	for i := range st.Containers {
		for j := range st.Containers[i].Forecasts {
			f := &st.Containers[i].Forecasts[j]
			move(&f.GeneratedAt)
			for k := range f.Points {
				move(&f.Points[k].Time)
			}
		}
	}
	obj = obj.DeepCopy()
	obj.Status = *st
	updated, err := client.UpdateStatus(ctx, obj, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur[wp.Name] = updated
}

// waitForNode waits until a pod is bound and returns its node; it fails
// the test when the scheduler finds it unschedulable.
func waitForNode(ctx context.Context, t *testing.T, cp *framework.ControlPlane, name string) string {
	t.Helper()
	var node string
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := cp.Kube.CoreV1().Pods(simulate.Namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse {
				return false, fmt.Errorf("pod %s is unschedulable: %s", name, c.Message)
			}
		}
		node = p.Spec.NodeName
		return node != "", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return node
}

// TestIntegrationSimulateBitbrainsSmoke replays a day of 10 Bitbrains Rnd
// VMs, after a week of history, under every policy, as `kubectl-foresight
// simulate` does with the shared traces.
func TestIntegrationSimulateBitbrainsSmoke(t *testing.T) {
	dir := filepath.Join(sharedtraces.Dir(t), "bitbrains-rnd")
	_, ctx := ktesting.NewTestContext(t)
	tr, err := simulate.LoadBitbrains(dir, nil, 10, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	policies, err := simulate.Policies()
	if err != nil {
		t.Fatal(err)
	}
	const nodeCPU, nodeMem = 32000, 512 << 30
	start := 7 * 288
	sizes := simulate.SuggestPools(tr, start, nodeCPU, nodeMem)
	pools := []simulate.PoolSpec{
		{Name: "fixed", Tier: foresightv1alpha1.PoolTierFixed, Nodes: sizes.Fixed, CPU: nodeCPU, Memory: nodeMem, PricePerNodeHour: 1.2, MaxOvercommitPercent: 400},
		{Name: "dedicated", Tier: foresightv1alpha1.PoolTierDedicated, Nodes: sizes.Dedicated, CPU: nodeCPU, Memory: nodeMem, PricePerNodeHour: 1.2, MaxOvercommitPercent: 100},
		{Name: "variable", Tier: foresightv1alpha1.PoolTierVariable, MaxNodes: sizes.MaxVariable, CPU: nodeCPU, Memory: nodeMem, PricePerNodeHour: 2, MaxOvercommitPercent: 400},
	}
	cp := framework.StartControlPlane(t)
	if err := cp.InstallCRDs(ctx); err != nil {
		t.Fatal(err)
	}
	backend := simulate.NewControlPlaneBackend(cp, t.TempDir())
	t.Cleanup(backend.Close)
	res, err := simulate.Run(ctx, backend, simulate.Config{Trace: tr, Start: start, Steps: 288, Pools: pools, Policies: policies})
	if err != nil {
		t.Fatal(err)
	}
	b := res.Bounds
	if !(b.OracleNodeHours <= b.StaticNodeHours && b.StaticNodeHours <= b.SumOfPeaksNodeHours && b.StaticNodes > 0) {
		t.Errorf("Bounds out of order: oracle %.0f, static %.0f, sum of peaks %.0f node-h", b.OracleNodeHours, b.StaticNodeHours, b.SumOfPeaksNodeHours)
	}
	if len(res.Outcomes) != len(policies) {
		t.Fatalf("%d outcomes for %d policies", len(res.Outcomes), len(policies))
	}
	for _, o := range res.Outcomes {
		if o.Pods != 10 || o.Unplaced != 0 || len(o.Series) != 288 {
			t.Errorf("%s: %d pods, %d unplaced, %d steps; want 10, 0, 288", o.Policy.Name, o.Pods, o.Unplaced, len(o.Series))
		}
		if o.TotalNodeHours < 24 {
			t.Errorf("%s: %.1f node-hours, less than one node for the day", o.Policy.Name, o.TotalNodeHours)
		}
		if o.Policy.Rightsizing && o.Rightsized == 0 {
			t.Errorf("%s: no pod rightsized", o.Policy.Name)
		}
	}
	var out strings.Builder
	if err := res.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
}
