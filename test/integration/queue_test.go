package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2/ktesting"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/plugins/foresight"
	"github.com/foresight-dev/foresight/test/framework"
)

// unschedulableAttempts reads kube-scheduler's count of scheduling
// attempts that ended unschedulable in the Foresight profile.
func unschedulableAttempts(t *testing.T) float64 {
	t.Helper()
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() != "scheduler_schedule_attempts_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if label(m, "result") == "unschedulable" && label(m, "profile") == schedulerName {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// waitUnschedulable waits until the pod's PodScheduled condition says it
// is unschedulable with a message that contains want.
func waitUnschedulable(ctx context.Context, t *testing.T, cp *framework.ControlPlane, namespace, name, want string) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := cp.Kube.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Spec.NodeName != "" {
			t.Fatalf("Pod %s bound to %s, want it unschedulable (%s)", name, p.Spec.NodeName, want)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse {
				last = c.Message
				return strings.Contains(c.Message, want), nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("Waiting for pod %s to be unschedulable with %q (last message %q): %v", name, want, last, err)
	}
}

// setProfile replaces the statistics of a workload's profile.
func setProfile(ctx context.Context, t *testing.T, cp *framework.ControlPlane, namespace, deployment, meanCPU, p99CPU string) {
	t.Helper()
	wp, err := cp.Foresight.ForesightV1alpha1().WorkloadProfiles(namespace).Get(ctx, "deployment-"+deployment, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, p := resource.MustParse(meanCPU), resource.MustParse(p99CPU)
	cpu := &wp.Status.Containers[0].Usage.CPU
	*cpu = &foresightv1alpha1.ResourceStatistics{Mean: &m, P50: &m, P90: &p, P95: &p, P99: &p, Peak: &p}
	now := metav1.Now()
	wp.Status.LastUpdated = &now
	if _, err := cp.Foresight.ForesightV1alpha1().WorkloadProfiles(namespace).UpdateStatus(ctx, wp, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestIntegrationRoomlessPodsRetried checks the plugin's queueing: a pod
// that no partition has room for (while kube-scheduler's own resource fit
// would take it) is not retried when another workload's profile changes,
// is retried and placed when its own workload's profile shrinks, and a pod
// left without room is placed as soon as a member leaves — all well before
// kube-scheduler's 5-minute flush of unschedulable pods.
func TestIntegrationRoomlessPodsRetried(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	cp := framework.StartControlPlane(t)
	if err := cp.InstallCRDs(ctx); err != nil {
		t.Fatal(err)
	}
	// One node of 2.5 cores: room for 1.5 + 0.5 + 0.5 cores of prediction.
	if _, _, err := cp.CreatePool(ctx, framework.PoolSpec{Name: "fixed", Tier: foresightv1alpha1.PoolTierFixed, Nodes: 1, CPU: "2500m", Memory: "16Gi"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.StartScheduler(ctx, t, "foresight-scheduler.yaml"); err != nil {
		t.Fatal(err)
	}
	createNamespace(ctx, t, cp, "retry", &foresightv1alpha1.TenantPolicySpec{AllowedClasses: []foresightv1alpha1.SLAClass{"standard"}})
	// big uses 1.5 cores steadily; its pods request 100m, so only the
	// Foresight plugin can refuse them.
	createProfile(ctx, t, cp, "retry", "big", "1500m", "1500m", "256Mi", "256Mi")
	createProfile(ctx, t, cp, "retry", "other", "100m", "100m", "64Mi", "64Mi")
	create := func(name string) {
		t.Helper()
		if _, err := cp.Kube.CoreV1().Pods("retry").Create(ctx, workloadPod("retry", "big", name, "standard", "100m", "128Mi"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	create("big-0")
	waitBound(ctx, t, cp, "retry", []string{"big-0"})
	create("big-1")
	waitUnschedulable(ctx, t, cp, "retry", "big-1", foresight.ReasonPoolBudget)

	// Another workload's profile changes: big-1 is not tried again.
	time.Sleep(2 * time.Second) // the Partition writes of big-0 settle
	before := unschedulableAttempts(t)
	setProfile(ctx, t, cp, "retry", "other", "200m", "300m")
	time.Sleep(3 * time.Second)
	if after := unschedulableAttempts(t); after != before {
		t.Errorf("Unschedulable attempts went from %.0f to %.0f after an unrelated WorkloadProfile changed; want no retry", before, after)
	}

	// big's profile shrinks to 0.5 cores: big-1 is retried and fits.
	setProfile(ctx, t, cp, "retry", "big", "500m", "500m")
	waitBound(ctx, t, cp, "retry", []string{"big-1"})

	// 1.5 (big-0, predicted before the change) + 0.5 + 0.5 fill the node:
	// of big-2 and big-3 one has no room until big-0 leaves.
	create("big-2")
	create("big-3")
	var pending string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		for _, name := range []string{"big-2", "big-3"} {
			p, err := cp.Kube.CoreV1().Pods("retry").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, c := range p.Status.Conditions {
				if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && strings.Contains(c.Message, foresight.ReasonPoolBudget) {
					pending = name
				}
			}
		}
		return pending != "", nil
	})
	if err != nil {
		t.Fatalf("Waiting for one of big-2 and big-3 to have no room: %v", err)
	}
	other := map[string]string{"big-2": "big-3", "big-3": "big-2"}[pending]
	waitBound(ctx, t, cp, "retry", []string{other})
	if err := cp.Kube.CoreV1().Pods("retry").Delete(ctx, "big-0", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	waitBound(ctx, t, cp, "retry", []string{pending})
	assertRequestsFit(ctx, t, cp)
}
