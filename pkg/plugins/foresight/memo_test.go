package foresight

import (
	"fmt"
	"math/rand/v2"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// TestScoreUsesFilterMemo checks that Score gives what explain computes
// afresh whether or not Filter left a memo, that it does return the memo,
// and that a memo is not used once the node's partitions changed.
func TestScoreUsesFilterMemo(t *testing.T) {
	pl := newTestPlugin(t, []*foresightv1alpha1.ResourcePool{partitionPool("fixed", foresightv1alpha1.PoolTierFixed, 150)}, nil, webProfile(0))
	_, ctx := ktesting.NewTestContext(t)
	node := st.MakeNode().Name("n1").Label("pool", "fixed").Capacity(map[v1.ResourceName]string{v1.ResourceCPU: "8", v1.ResourceMemory: "32Gi", v1.ResourcePods: "100"}).Obj()
	ni := framework.NewNodeInfo()
	ni.SetNode(node)
	reserve := func(name, class string) {
		t.Helper()
		reserveOn(t, ctx, pl, ni, webPod(name).Annotation(annotations.SLAClass, class).Obj())
	}
	for i := range 4 {
		reserve(fmt.Sprintf("w%d", i), "standard")
	}
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
	ps, err := readState(filtered)
	if err != nil {
		t.Fatal(err)
	}
	snapSeq, gen := pl.pools.snapshot().seq, ni.GetGeneration()
	m, ok := entry.recall(ps.shape, snapSeq, gen)
	if !ok {
		t.Fatal("Filter left no memo")
	}
	reused := score(filtered)
	if w := want(); reused != w {
		t.Errorf("Score after Filter = %d, computed afresh = %d", reused, w)
	}
	// Score returns the memo, not its own result: a memo changed behind
	// its back shows.
	tampered, _ := newMemoResult(fwk.Success, "", reused+7, true)
	entry.remember(ps.shape, entry.seq.Load(), snapSeq, gen, tampered)
	if got := score(filtered); got != reused+7 {
		t.Errorf("Score = %d, want the memo's %d", got, reused+7)
	}
	entry.remember(ps.shape, entry.seq.Load(), snapSeq, gen, m)

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

// TestFilterMemoFollowsChanges changes a node's partitions, its NodeInfo
// and the pools at random, one at a time, and after each change checks
// that Filter and Score, which may answer from a memo, give what they
// compute with every memo cleared, for pods of several shapes.
func TestFilterMemoFollowsChanges(t *testing.T) {
	policy := &foresightv1alpha1.TenantPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: foresightv1alpha1.TenantPolicyName, Namespace: "shop"},
		Spec:       foresightv1alpha1.TenantPolicySpec{AllowedClasses: []foresightv1alpha1.SLAClass{"critical", "standard", "batch", "best-effort"}},
	}
	pl := newTestPlugin(t, []*foresightv1alpha1.ResourcePool{partitionPool("fixed", foresightv1alpha1.PoolTierFixed, 120)}, []*foresightv1alpha1.TenantPolicy{policy}, webProfile(0))
	_, ctx := ktesting.NewTestContext(t)
	node := st.MakeNode().Name("n1").Label("pool", "fixed").Capacity(map[v1.ResourceName]string{v1.ResourceCPU: "4", v1.ResourceMemory: "8Gi", v1.ResourcePods: "100"}).Obj()
	ni := framework.NewNodeInfo()
	ni.SetNode(node)
	pods := []*v1.Pod{
		webPod("standard").Annotation(annotations.SLAClass, "standard").Obj(),
		webPod("batch").Annotation(annotations.SLAClass, "batch").Obj(),
		webPod("best-effort").Annotation(annotations.SLAClass, "best-effort").Obj(),
		webPod("critical").Annotation(annotations.SLAClass, "critical").Obj(),
		st.MakePod().Namespace("shop").Name("plain").UID("plain").Req(map[v1.ResourceName]string{v1.ResourceCPU: "500m", v1.ResourceMemory: "1Gi"}).Obj(),
	}
	states := make([]*framework.CycleState, len(pods))
	for i, p := range pods {
		states[i] = framework.NewCycleState()
		if _, s := pl.PreFilter(ctx, states[i], p, nil); !s.IsSuccess() {
			t.Fatal(s.AsError())
		}
	}
	entry := pl.cache.entries.get("n1")
	type outcome struct {
		code   fwk.Code
		reason string
		score  int64
	}
	run := func(i int) outcome {
		s := pl.Filter(ctx, states[i], pods[i], ni)
		o := outcome{code: s.Code()}
		if !s.IsSuccess() {
			o.reason = s.Message()
			return o
		}
		v, ss := pl.Score(ctx, states[i], pods[i], ni)
		if !ss.IsSuccess() {
			t.Fatal(ss.AsError())
		}
		o.score = v
		return o
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var reserved []string
	hits, kinds := 0, map[string]int{}
	for step := range 300 {
		var what string
		switch k := rng.IntN(5); {
		case k == 0 || k == 1:
			// A pod joins a partition, in the cache only (as Reserve
			// before kube-scheduler's cache has the pod).
			what = "reserve"
			p := webPod(fmt.Sprintf("m%d", step)).Annotation(annotations.SLAClass, []string{"standard", "batch", "best-effort"}[rng.IntN(3)]).Obj()
			state := framework.NewCycleState()
			if _, s := pl.PreFilter(ctx, state, p, nil); !s.IsSuccess() {
				t.Fatal(s.AsError())
			}
			ps, _ := readState(state)
			if _, _, _, err := pl.reserveIn(pl.cache, ps, p, ni); err == nil {
				reserved = append(reserved, string(p.UID))
			}
		case k == 2 && len(reserved) > 0:
			what = "remove"
			j := rng.IntN(len(reserved))
			pl.cache.remove(types.UID(reserved[j]))
			reserved = append(reserved[:j], reserved[j+1:]...)
		case k == 3:
			// A pod outside partitions lands on the node: only the
			// NodeInfo changes.
			what = "nodeinfo"
			ni.AddPod(st.MakePod().Namespace("kube-system").Name(fmt.Sprintf("ds%d", step)).UID(fmt.Sprintf("ds%d", step)).
				Req(map[v1.ResourceName]string{v1.ResourceCPU: "100m", v1.ResourceMemory: "128Mi"}).Obj())
		default:
			// The pool changes tier: only the pool snapshot changes.
			what = "pools"
			old := pl.pools.snapshot()
			next := newPoolSnapshot(len(old.pools))
			next.pools = append(next.pools, old.pools...)
			if next.pools[0].tier == foresightv1alpha1.PoolTierDedicated {
				next.pools[0].tier = foresightv1alpha1.PoolTierFixed
			} else {
				next.pools[0].tier = foresightv1alpha1.PoolTierDedicated
			}
			pl.pools.current.Store(next)
		}
		kinds[what]++
		// Filter and Score as they answer now (from memos stored before
		// the change, where their keys still match), again (from the
		// memos surely), and with every memo cleared.
		got, again, want := make([]outcome, len(pods)), make([]outcome, len(pods)), make([]outcome, len(pods))
		for i := range pods {
			if _, ok := entry.recall(mustState(t, states[i]).shape, pl.pools.snapshot().seq, ni.GetGeneration()); ok {
				hits++
			}
			got[i] = run(i)
		}
		for i := range pods {
			again[i] = run(i)
		}
		for w := range entry.memo {
			entry.memo[w].Store(0)
		}
		for i := range pods {
			want[i] = run(i)
		}
		for i := range pods {
			if got[i] != want[i] || again[i] != want[i] {
				t.Fatalf("step %d (%s), pod %s: Filter and Score gave %+v, then %+v; with no memo %+v", step, what, pods[i].Name, got[i], again[i], want[i])
			}
		}
	}
	// A change renews the key of every result it may change, so memos
	// found right after one are few: those of a shape whose pods an
	// earlier step's fresh run did not evict, after a change of nothing
	// (a removal of nothing reserved, a reservation refused).
	t.Logf("changes: %v; memos found right after a change: %d", kinds, hits)
}

func mustState(t *testing.T, state *framework.CycleState) *podState {
	t.Helper()
	s, err := readState(state)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMemoResultRoundTrip: every result Filter can give encodes and
// decodes to itself; what cannot be encoded is refused, not mangled.
func TestMemoResultRoundTrip(t *testing.T) {
	for _, code := range memoCodes {
		for _, reason := range memoReasons {
			for _, score := range []int64{0, 1, 57, 100, 255} {
				for _, scored := range []bool{false, true} {
					m, ok := newMemoResult(code, reason, score, scored)
					if !ok {
						t.Fatalf("%v %q %d: not encoded", code, reason, score)
					}
					st := m.status()
					if st.Code() != code || (code != fwk.Success && st.Message() != reason) {
						t.Errorf("%v %q: decoded as %v %q", code, reason, st.Code(), st.Message())
					}
					if v, sc := m.score(); v != score || sc != scored {
						t.Errorf("score %d (%v): decoded as %d (%v)", score, scored, v, sc)
					}
				}
			}
		}
	}
	for _, bad := range []struct {
		code   fwk.Code
		reason string
		score  int64
	}{{fwk.Error, "", 0}, {fwk.Unschedulable, "some new reason", 0}, {fwk.Success, "", 256}, {fwk.Success, "", -1}} {
		if _, ok := newMemoResult(bad.code, bad.reason, bad.score, true); ok {
			t.Errorf("%+v was encoded", bad)
		}
	}
}

// TestShapes: pods that differ only in what Filter does not read share a
// shape; a different class or request does not.
func TestShapes(t *testing.T) {
	pl := newTestPlugin(t, []*foresightv1alpha1.ResourcePool{partitionPool("fixed", foresightv1alpha1.PoolTierFixed, 150)}, nil, webProfile(0))
	_, ctx := ktesting.NewTestContext(t)
	shape := func(p *v1.Pod) uint64 {
		t.Helper()
		state := framework.NewCycleState()
		if _, s := pl.PreFilter(ctx, state, p, nil); !s.IsSuccess() {
			t.Fatal(s.AsError())
		}
		return mustState(t, state).shape
	}
	a := shape(webPod("a").Annotation(annotations.SLAClass, "batch").Obj())
	if b := shape(webPod("b").Annotation(annotations.SLAClass, "batch").Obj()); b != a {
		t.Errorf("two replicas have shapes %d and %d", a, b)
	}
	if c := shape(webPod("c").Annotation(annotations.SLAClass, "standard").Obj()); c == a {
		t.Error("another class has the same shape")
	}
	big := webPod("d").Annotation(annotations.SLAClass, "batch").Req(map[v1.ResourceName]string{v1.ResourceCPU: "3", v1.ResourceMemory: "2Gi"}).Obj()
	big.OwnerReferences = nil // no profile: predicted from its requests
	small := webPod("e").Annotation(annotations.SLAClass, "batch").Obj()
	small.OwnerReferences = nil
	if shape(big) == shape(small) {
		t.Error("pods predicted from different requests have the same shape")
	}
}
