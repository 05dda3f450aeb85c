package foresight

import (
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
	"k8s.io/utils/ptr"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// webPod is a pod of Deployment "web" requesting 1 CPU and 2Gi.
func webPod(name string) *st.PodWrapper {
	return st.MakePod().Namespace("shop").Name(name).UID(name).Labels(map[string]string{"pod-template-hash": "abc"}).
		OwnerReference("web-abc", schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}).
		Req(map[v1.ResourceName]string{v1.ResourceCPU: "1", v1.ResourceMemory: "2Gi"})
}

// webProfile predicts 300m/512Mi at p99 for web's container, updated age
// before testNow.
func webProfile(age time.Duration) *foresightv1alpha1.WorkloadProfile {
	stats := func(mean, p99 string) *foresightv1alpha1.ResourceStatistics {
		return &foresightv1alpha1.ResourceStatistics{Mean: ptr.To(resource.MustParse(mean)), P50: ptr.To(resource.MustParse(mean)), P99: ptr.To(resource.MustParse(p99)), Peak: ptr.To(resource.MustParse(p99))}
	}
	return &foresightv1alpha1.WorkloadProfile{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "deployment-web"},
		Spec:       foresightv1alpha1.WorkloadProfileSpec{Workload: foresightv1alpha1.WorkloadReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}},
		Status: foresightv1alpha1.WorkloadProfileStatus{
			LastUpdated: ptr.To(metav1.NewTime(testNow.Add(-age))),
			Containers: []foresightv1alpha1.ContainerProfile{{Name: "con0", Usage: foresightv1alpha1.UsageStatistics{
				CPU: stats("100m", "300m"), Memory: stats("256Mi", "512Mi"),
			}}},
		},
	}
}

func partitionPool(name string, tier foresightv1alpha1.PoolTier, ratio int32) *foresightv1alpha1.ResourcePool {
	p := poolObj(name, tier, map[string]string{"pool": name})
	p.Spec.Overcommit.MaxRatioPercent = ratio
	return p
}

// placeAll runs PreFilter, Filter and Reserve for each pod on one node of
// 4 CPUs and 8Gi, as the scheduler would, and returns the first refusal.
func placeAll(t *testing.T, pl *Foresight, pool string, pods []*v1.Pod) (placed int, refusal *fwk.Status) {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	node := st.MakeNode().Name("n1").Label("pool", pool).Capacity(map[v1.ResourceName]string{v1.ResourceCPU: "4", v1.ResourceMemory: "8Gi", v1.ResourcePods: "110"}).Obj()
	ni := framework.NewNodeInfo()
	ni.SetNode(node)
	for _, pod := range pods {
		state := framework.NewCycleState()
		if _, s := pl.PreFilter(ctx, state, pod, nil); !s.IsSuccess() {
			return placed, s
		}
		if s := pl.Filter(ctx, state, pod, ni); !s.IsSuccess() {
			return placed, s
		}
		ps, err := readState(state)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := pl.reserveIn(pl.cache, ps, pod, ni); err != nil {
			t.Fatalf("reserve %s: %v", pod.Name, err)
		}
		ni.AddPod(pod) // what kube-scheduler's assume does
		placed++
	}
	return placed, nil
}

func TestFilterPartitions(t *testing.T) {
	pods := func(n int, mutate func(*st.PodWrapper)) []*v1.Pod {
		var out []*v1.Pod
		for i := range n {
			w := webPod(fmt.Sprintf("web-%d", i))
			if mutate != nil {
				mutate(w)
			}
			out = append(out, w.Obj())
		}
		return out
	}
	batchPolicy := &foresightv1alpha1.TenantPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: foresightv1alpha1.TenantPolicyName},
		Spec: foresightv1alpha1.TenantPolicySpec{AllowedClasses: []foresightv1alpha1.SLAClass{"critical", "standard", "batch"},
			MaxGuarantees: foresightv1alpha1.Guarantees{CPU: ptr.To(resource.MustParse("2"))}},
	}
	tests := []struct {
		name       string
		pool       *foresightv1alpha1.ResourcePool
		profile    *foresightv1alpha1.WorkloadProfile
		pods       []*v1.Pod
		wantPlaced int
		wantReason string
	}{
		// Requests (1 CPU, 2Gi) fill 4 CPUs after 4 pods: the fifth is refused
		// by the partition budget (NodeResourcesFit would refuse it too).
		{name: "no profile: requests, node full after 4", pool: partitionPool("fixed", foresightv1alpha1.PoolTierFixed, 100), pods: pods(6, nil), wantPlaced: 4, wantReason: ReasonOvercommitLimit},
		// The profile predicts 300m/512Mi, but the requests (not rightsized)
		// still count against a pool without overcommit: 4 pods.
		{name: "profile without rightsizing: the overcommit limit holds", pool: partitionPool("fixed", foresightv1alpha1.PoolTierFixed, 100), profile: webProfile(time.Minute), pods: pods(6, nil), wantPlaced: 4, wantReason: ReasonOvercommitLimit},
		// 150% overcommit of original requests: 6 pods of 1 CPU on 4 CPUs.
		{name: "profile with 150% overcommit", pool: partitionPool("fixed", foresightv1alpha1.PoolTierFixed, 150), profile: webProfile(time.Minute), pods: pods(8, nil), wantPlaced: 6, wantReason: ReasonOvercommitLimit},
		// Stale profile: requests again, so the budget refuses the fifth.
		{name: "stale profile falls back to requests", pool: partitionPool("fixed", foresightv1alpha1.PoolTierFixed, 150), profile: webProfile(time.Hour), pods: pods(6, nil), wantPlaced: 4, wantReason: ReasonPoolBudget},
		// A 2-CPU guarantee is reserved in full whatever the profile says.
		{name: "CPU guarantee reserved in full", pool: partitionPool("fixed", foresightv1alpha1.PoolTierFixed, 300), profile: webProfile(time.Minute),
			pods: pods(4, func(w *st.PodWrapper) { w.Annotation(annotations.MinCPU, "2") }), wantPlaced: 2, wantReason: ReasonPoolBudget},
		// Critical pods are not overcommitted even in an overcommitted pool.
		{name: "critical pods on a dedicated pool", pool: partitionPool("dedicated", foresightv1alpha1.PoolTierDedicated, 0), profile: webProfile(time.Minute),
			pods: pods(6, func(w *st.PodWrapper) { w.Annotation(annotations.SLAClass, "critical") }), wantPlaced: 4, wantReason: ReasonOvercommitLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var profiles []*foresightv1alpha1.WorkloadProfile
			if tc.profile != nil {
				profiles = append(profiles, tc.profile)
			}
			pl := newTestPlugin(t, []*foresightv1alpha1.ResourcePool{tc.pool}, []*foresightv1alpha1.TenantPolicy{batchPolicy}, profiles...)
			placed, refusal := placeAll(t, pl, tc.pool.Name, tc.pods)
			if placed != tc.wantPlaced {
				t.Errorf("placed %d pods, want %d (refusal: %v)", placed, tc.wantPlaced, refusal.AsError())
			}
			if tc.wantReason == "" {
				return
			}
			if refusal == nil || refusal.Code() != fwk.Unschedulable || refusal.Message() != tc.wantReason {
				t.Errorf("refusal = %v, want Unschedulable %q", refusal.AsError(), tc.wantReason)
			}
		})
	}
}

func TestStaleProfileEvent(t *testing.T) {
	pl := newTestPlugin(t, []*foresightv1alpha1.ResourcePool{partitionPool("fixed", foresightv1alpha1.PoolTierFixed, 100)}, nil, webProfile(time.Hour))
	rec := events.NewFakeRecorder(10)
	pl.recorder = rec
	_, ctx := ktesting.NewTestContext(t)
	state := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, state, webPod("w").Obj(), nil); !s.IsSuccess() {
		t.Fatal(s.AsError())
	}
	select {
	case e := <-rec.Events:
		if !strings.Contains(e, ReasonProfileStale) || !strings.Contains(e, "Deployment web") {
			t.Errorf("event %q, want %s about Deployment web", e, ReasonProfileStale)
		}
	default:
		t.Error("no event for a stale profile")
	}
	s, _ := readState(state)
	if s.source != "requests" || s.fallback != "stale" {
		t.Errorf("source %q fallback %q, want requests/stale", s.source, s.fallback)
	}
}

func TestOriginalRequestsBoundOvercommit(t *testing.T) {
	// Rightsized pods (requests 300m, originally 1 CPU) in a pool that
	// allows 150% of original requests: 6 fit a 4-CPU node, not 13.
	pl := newTestPlugin(t, []*foresightv1alpha1.ResourcePool{partitionPool("fixed", foresightv1alpha1.PoolTierFixed, 150)}, nil, webProfile(time.Minute))
	var pods []*v1.Pod
	for i := range 10 {
		p := webPod(fmt.Sprintf("web-%d", i)).Obj()
		p.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("300m"), v1.ResourceMemory: resource.MustParse("512Mi")}
		p.Annotations = map[string]string{annotations.OriginalRequests: `{"con0":{"cpu":"1","memory":"2Gi"}}`}
		pods = append(pods, p)
	}
	placed, refusal := placeAll(t, pl, "fixed", pods)
	if placed != 6 || refusal.Message() != ReasonOvercommitLimit {
		t.Errorf("placed %d (refusal %v), want 6 then %q", placed, refusal.AsError(), ReasonOvercommitLimit)
	}
}
