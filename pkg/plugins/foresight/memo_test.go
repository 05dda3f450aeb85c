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
		reserveOn(t, ctx, pl, ni, webPod(name).Annotation(annotations.SLAClass, class).Obj())
	}
	for i := range 4 {
		reserve(fmt.Sprintf("w%d", i), "standard")
	}
	// score is what kube-scheduler gets from Score; want what explain
	// computes afresh, with every term.
	score := func(state *framework.CycleState) int64 {
		t.Helper()
		v, st := pl.Score(ctx, state, webPod("new").Obj(), ni)
		if !st.IsSuccess() {
			t.Fatal(st.AsError())
		}
		return v
	}
	want := func() int64 {
		t.Helper()
		fresh := framework.NewCycleState()
		if _, s := pl.PreFilter(ctx, fresh, webPod("new").Obj(), nil); !s.IsSuccess() {
			t.Fatal(s.AsError())
		}
		s, err := readState(fresh)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pl.explain(s, ni)
		if err != nil {
			t.Fatal(err)
		}
		return r.Score
	}
	pod := webPod("new").Obj()
	filtered := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, filtered, pod, nil); !s.IsSuccess() {
		t.Fatal(s.AsError())
	}
	if s := pl.Filter(ctx, filtered, pod, ni); !s.IsSuccess() {
		t.Fatal(s.AsError())
	}
	entry := pl.cache.entries.get("n1")
	if entry.fit.cycle == 0 {
		t.Fatal("Filter left no score to reuse")
	}
	reused := score(filtered)
	if w := want(); reused != w {
		t.Errorf("Score after Filter = %d, computed afresh = %d", reused, w)
	}
	// Score returns Filter's result, not its own: a memo changed behind
	// its back shows.
	entry.fit.score = reused + 7
	if got := score(filtered); got != reused+7 {
		t.Errorf("Score = %d, want Filter's memo %d", got, reused+7)
	}
	entry.fit.score = reused

	// The node's partitions change after Filter (another pod joins):
	// Score must not use the stale result.
	reserve("w4", "standard")
	reserve("w5", "standard")
	after := score(filtered)
	if w := want(); after != w {
		t.Errorf("Score after the partitions changed = %d, want %d (computed afresh)", after, w)
	}
	if after == reused {
		t.Errorf("Score unchanged by two more members (%d): the test does not exercise a change", after)
	}
}
