package foresight

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// TestScoreReusesFilterOnlyWithinCycle checks that Score gives the same
// record whether it reuses Filter's result or computes its own, and that
// a result is not reused by another cycle or after the node's partitions
// changed.
func TestScoreReusesFilterOnlyWithinCycle(t *testing.T) {
	pl := newTestPlugin(t, []*foresightv1alpha1.ResourcePool{partitionPool("fixed", foresightv1alpha1.PoolTierFixed, 150)}, nil, webProfile(0))
	_, ctx := ktesting.NewTestContext(t)
	node := st.MakeNode().Name("n1").Label("pool", "fixed").Capacity(map[v1.ResourceName]string{v1.ResourceCPU: "8", v1.ResourceMemory: "32Gi", v1.ResourcePods: "100"}).Obj()
	ni := framework.NewNodeInfo()
	ni.SetNode(node)
	// reserve puts a pod into the node's partitions as Reserve would,
	// without running Filter on the node (which would replace the result
	// to reuse).
	reserve := func(name, class string) {
		t.Helper()
		pod := webPod(name).Annotation(annotations.SLAClass, class).Obj()
		state := framework.NewCycleState()
		if _, s := pl.PreFilter(ctx, state, pod, nil); !s.IsSuccess() {
			t.Fatal(s.AsError())
		}
		ps, _ := readState(state)
		p, _ := pl.pools.snapshot().poolOf(node.Labels)
		in := pl.fitInputFor(ps, p, ni)
		if _, _, err := pl.cache.reserve(pod.UID, pod.Namespace, pod.Name, &in); err != nil {
			t.Fatal(err)
		}
		ni.AddPod(pod)
	}
	for i := range 4 {
		reserve(fmt.Sprintf("w%d", i), "standard")
	}
	record := func(state *framework.CycleState) placementRecord {
		t.Helper()
		s, err := readState(state)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pl.explain(s, ni)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	pod := webPod("new").Obj()
	filtered := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, filtered, pod, nil); !s.IsSuccess() {
		t.Fatal(s.AsError())
	}
	if s := pl.Filter(ctx, filtered, pod, ni); !s.IsSuccess() {
		t.Fatal(s.AsError())
	}
	reused := record(filtered)
	cold := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cold, pod, nil); !s.IsSuccess() {
		t.Fatal(s.AsError())
	}
	if computed := record(cold); computed != reused {
		t.Errorf("Score after Filter = %+v, computed afresh = %+v", reused, computed)
	}
	if entry := pl.cache.entries.get("n1"); entry.fit.cycle == 0 {
		t.Fatal("Filter left no result to reuse")
	}

	// The node's partitions change after Filter (another pod joins):
	// Score must not use the stale result.
	reserve("w4", "standard")
	reserve("w5", "standard")
	after := record(filtered)
	fresh := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, fresh, pod, nil); !s.IsSuccess() {
		t.Fatal(s.AsError())
	}
	if want := record(fresh); after != want {
		t.Errorf("Score after the partitions changed = %+v, want %+v (computed afresh)", after, want)
	}
	if after == reused {
		t.Errorf("Record unchanged by two more members (%+v): the test does not exercise a change", after)
	}
}
