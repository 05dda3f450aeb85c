package integration

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2/ktesting"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	kubectlforesight "github.com/foresight-dev/foresight/cmd/kubectl-foresight/app"
	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/plugins/foresight"
	"github.com/foresight-dev/foresight/test/framework"
)

const schedulerName = "foresight-scheduler"

// startCluster starts a control plane with the CRDs and three pools: two
// fixed nodes, two variable nodes and one dedicated node, each with 4 cores
// and 16 GiB.
func startCluster(t *testing.T) (*framework.ControlPlane, context.Context) {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	cp := framework.StartControlPlane(t)
	if err := cp.InstallCRDs(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []framework.PoolSpec{
		{Name: "fixed", Tier: foresightv1alpha1.PoolTierFixed, Nodes: 2, CPU: "4", Memory: "16Gi"},
		{Name: "variable", Tier: foresightv1alpha1.PoolTierVariable, Nodes: 2, CPU: "4", Memory: "16Gi", PerNodeHour: "0.20"},
		{Name: "dedicated", Tier: foresightv1alpha1.PoolTierDedicated, Nodes: 1, CPU: "4", Memory: "16Gi"},
	} {
		if _, _, err := cp.CreatePool(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	return cp, ctx
}

func createNamespace(ctx context.Context, t *testing.T, cp *framework.ControlPlane, name string, policy *foresightv1alpha1.TenantPolicySpec) {
	t.Helper()
	if _, err := cp.Kube.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if policy == nil {
		return
	}
	tp := &foresightv1alpha1.TenantPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: foresightv1alpha1.TenantPolicyName, Namespace: name},
		Spec:       *policy,
	}
	if _, err := cp.Foresight.ForesightV1alpha1().TenantPolicies(name).Create(ctx, tp, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func pod(namespace, name, class string, cpu, memory string) *v1.Pod {
	w := st.MakePod().Namespace(namespace).Name(name).SchedulerName(schedulerName).
		Req(map[v1.ResourceName]string{v1.ResourceCPU: cpu, v1.ResourceMemory: memory})
	if class != "" {
		w = w.Annotation(annotations.SLAClass, class)
	}
	return w.Obj()
}

// waitBound waits until every named pod is bound and returns pod name →
// node name.
func waitBound(ctx context.Context, t *testing.T, cp *framework.ControlPlane, namespace string, names []string) map[string]string {
	t.Helper()
	bound := map[string]string{}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		pods, err := cp.Kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" {
				bound[p.Name] = p.Spec.NodeName
			}
		}
		for _, n := range names {
			if bound[n] == "" {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("Waiting for %d pods to be bound (%d are): %v", len(names), len(bound), err)
	}
	return bound
}

// TestIntegrationSchedulerBindsPods runs the Foresight scheduler with the
// shipped second-scheduler configuration against a real API server and
// checks where a mixed workload lands.
func TestIntegrationSchedulerBindsPods(t *testing.T) {
	cp, ctx := startCluster(t)
	if _, err := cp.StartScheduler(ctx, t, "foresight-scheduler.yaml"); err != nil {
		t.Fatal(err)
	}
	createNamespace(ctx, t, cp, "shop", &foresightv1alpha1.TenantPolicySpec{
		AllowedClasses: []foresightv1alpha1.SLAClass{"critical", "standard", "batch", "best-effort"},
	})

	var names []string
	classes := map[string]string{}
	for i := range 24 {
		class := []string{"critical", "standard", "batch", "best-effort"}[i%4]
		name := fmt.Sprintf("%s-%d", class, i)
		if _, err := cp.Kube.CoreV1().Pods("shop").Create(ctx, pod("shop", name, class, "500m", "1Gi"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		classes[name] = class
	}
	bound := waitBound(ctx, t, cp, "shop", names)

	for name, node := range bound {
		pool := strings.SplitN(node, "-", 2)[0]
		if pool == "dedicated" && classes[name] != "critical" {
			t.Errorf("pod %s of class %s was bound to dedicated node %s", name, classes[name], node)
		}
	}
	// 6 critical pods × 500m fit on the dedicated node (4 cores): they go
	// there first. The 18 others (9 cores) fit in the fixed pool (8 cores)
	// but for 2, which spill to variable nodes.
	perPool := map[string]map[string]int{}
	for name, node := range bound {
		pool := strings.SplitN(node, "-", 2)[0]
		if perPool[pool] == nil {
			perPool[pool] = map[string]int{}
		}
		perPool[pool][classes[name]]++
	}
	if got := perPool["dedicated"]["critical"]; got != 6 {
		t.Errorf("critical pods on the dedicated pool = %d, want 6 (placement per pool: %v)", got, perPool)
	}
	nonCriticalFixed := perPool["fixed"]["standard"] + perPool["fixed"]["batch"] + perPool["fixed"]["best-effort"]
	if nonCriticalFixed != 16 {
		t.Errorf("non-critical pods on the fixed pool = %d, want 16, the most that fit (placement per pool: %v)", nonCriticalFixed, perPool)
	}
	assertRequestsFit(ctx, t, cp)

	// Every placement is explained: kubectl foresight explain shows the
	// pool and the score terms recorded by the scheduler.
	for _, name := range []string{"critical-0", "standard-1"} {
		var out strings.Builder
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			out.Reset()
			if err := (kubectlforesight.Explainer{Kube: cp.Kube, Foresight: cp.Foresight}).Pod(ctx, "shop", name, &out); err != nil {
				return false, err
			}
			return strings.Contains(out.String(), "Score:"), nil // the event is written asynchronously
		})
		if err != nil {
			t.Fatalf("explain pod %s: %v\n%s", name, err, out.String())
		}
		pool := strings.SplitN(bound[name], "-", 2)[0]
		for _, want := range []string{
			`Node:\s+` + bound[name] + `\n`,
			`Pool:\s+` + pool + ` \(tier ` + pool + `\)`,
			`SLA class:\s+` + classes[name] + `\n`,
			`Score:\s+\d+ = \(cost \d+ × 4 \+ utilization \d+ × 3 \+ risk \d+ × 2 \+ confidence \d+ × 1\) / 10`,
			`Partition:\s+` + bound[name] + `-` + classes[name] + `-\d+`,
		} {
			if !regexp.MustCompile(want).MatchString(out.String()) {
				t.Errorf("explain pod %s does not match %q:\n%s", name, want, out.String())
			}
		}
	}
}

// assertRequestsFit checks that no node holds more requests than its
// allocatable, as a kubelet would refuse such pods.
func assertRequestsFit(ctx context.Context, t *testing.T, cp *framework.ControlPlane) {
	t.Helper()
	nodes, err := cp.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := cp.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		var cpu, mem resource.Quantity
		for _, p := range pods.Items {
			if p.Spec.NodeName != n.Name {
				continue
			}
			for _, c := range p.Spec.Containers {
				cpu.Add(c.Resources.Requests[v1.ResourceCPU])
				mem.Add(c.Resources.Requests[v1.ResourceMemory])
			}
		}
		if cpu.Cmp(n.Status.Allocatable[v1.ResourceCPU]) > 0 || mem.Cmp(n.Status.Allocatable[v1.ResourceMemory]) > 0 {
			t.Errorf("node %s holds requests cpu=%s memory=%s above its allocatable %v", n.Name, cpu.String(), mem.String(), n.Status.Allocatable)
		}
	}
}

// TestIntegrationNamespacePolicy checks that a pod declaring more than its
// namespace allows is refused with an event that says why, and is
// scheduled as soon as the namespace's policy allows it.
func TestIntegrationNamespacePolicy(t *testing.T) {
	cp, ctx := startCluster(t)
	if _, err := cp.StartScheduler(ctx, t, "foresight-scheduler.yaml"); err != nil {
		t.Fatal(err)
	}
	createNamespace(ctx, t, cp, "tenant", nil)
	if _, err := cp.Kube.CoreV1().Pods("tenant").Create(ctx, pod("tenant", "greedy", "critical", "100m", "100Mi"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Kube.CoreV1().Pods("tenant").Create(ctx, pod("tenant", "modest", "batch", "100m", "100Mi"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitBound(ctx, t, cp, "tenant", []string{"modest"})

	want := "foresight.dev annotations refused: metadata.annotations[foresight.dev/sla-class]: Forbidden: the namespace's TenantPolicy allows only standard, batch, best-effort"
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		events, err := cp.Kube.EventsV1().Events("tenant").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range events.Items {
			if e.Regarding.Name == "greedy" && e.Reason == "FailedScheduling" && strings.Contains(e.Note, want) {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("No FailedScheduling event saying %q: %v", want, err)
	}
	p, err := cp.Kube.CoreV1().Pods("tenant").Get(ctx, "greedy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != "" {
		t.Fatalf("pod declaring a forbidden class was bound to %s", p.Spec.NodeName)
	}

	// The tenant is granted critical: the queueing hint on TenantPolicy
	// events retries the pod, which now lands on the dedicated pool.
	tp := &foresightv1alpha1.TenantPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: foresightv1alpha1.TenantPolicyName, Namespace: "tenant"},
		Spec:       foresightv1alpha1.TenantPolicySpec{AllowedClasses: []foresightv1alpha1.SLAClass{"critical", "batch"}},
	}
	if _, err := cp.Foresight.ForesightV1alpha1().TenantPolicies("tenant").Create(ctx, tp, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bound := waitBound(ctx, t, cp, "tenant", []string{"greedy"})
	if diff := cmp.Diff("dedicated-0", bound["greedy"]); diff != "" {
		t.Errorf("critical pod's node (-want +got):\n%s", diff)
	}
}

// TestIntegrationShippedSchedulerConfigs loads every configuration in
// manifests/scheduler/config through kube-scheduler's own setup and checks
// the plugins each profile enables.
func TestIntegrationShippedSchedulerConfigs(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	cp := framework.StartControlPlane(t)
	if err := cp.InstallCRDs(ctx); err != nil {
		t.Fatal(err)
	}
	names, err := framework.ShippedSchedulerConfigNames()
	if err != nil {
		t.Fatal(err)
	}
	wantProfile := map[string]string{
		"foresight-scheduler.yaml": "foresight-scheduler",
		"replace-default.yaml":     "default-scheduler",
	}
	if diff := cmp.Diff([]string{"foresight-scheduler.yaml", "replace-default.yaml"}, names); diff != "" {
		t.Fatalf("shipped configurations (-want +got):\n%s", diff)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			s, err := cp.StartScheduler(ctx, t, name)
			if err != nil {
				t.Fatal(err)
			}
			profile, ok := s.Profiles[wantProfile[name]]
			if !ok {
				t.Fatalf("no profile %q", wantProfile[name])
			}
			got := profile.ListPlugins()
			if diff := cmp.Diff([]string{"ForesightFairShare"}, pluginNames(got.QueueSort.Enabled)); diff != "" {
				t.Errorf("queueSort (-want +got):\n%s", diff)
			}
			for point, set := range map[string]schedconfig.PluginSet{
				"preFilter": got.PreFilter, "filter": got.Filter, "score": got.Score,
			} {
				if !slices.Contains(pluginNames(set.Enabled), foresight.Name) {
					t.Errorf("%s does not enable %s: %v", point, foresight.Name, pluginNames(set.Enabled))
				}
			}
			// Foresight filters first (it refuses dedicated pools' nodes
			// in one lookup).
			if names := pluginNames(got.Filter.Enabled); len(names) == 0 || names[0] != foresight.Name {
				t.Errorf("filter order %v, want %s first", names, foresight.Name)
			}
			// kube-scheduler's own filters stay on, so that placements are
			// ones a kubelet admits.
			for _, want := range []string{"NodeResourcesFit", "TaintToleration", "NodeAffinity", "NodeUnschedulable"} {
				if !slices.Contains(pluginNames(got.Filter.Enabled), want) {
					t.Errorf("filter does not keep %s on: %v", want, pluginNames(got.Filter.Enabled))
				}
			}
			// Foresight binds first (the placement record rides on the
			// binding); DefaultBinder stays for pods it skips.
			if names := pluginNames(got.Bind.Enabled); len(names) < 2 || names[0] != foresight.Name || !slices.Contains(names, "DefaultBinder") {
				t.Errorf("bind %v, want %s first and DefaultBinder after it", names, foresight.Name)
			}
			for _, p := range got.Score.Enabled {
				if p.Name == foresight.Name && p.Weight != 3 {
					t.Errorf("score weight of %s = %d, want 3", foresight.Name, p.Weight)
				}
			}
		})
	}
}

func pluginNames(ps []schedconfig.Plugin) []string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return names
}
