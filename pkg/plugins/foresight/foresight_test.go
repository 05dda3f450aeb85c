package foresight

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
	"github.com/foresight-dev/foresight/pkg/generated/clientset/versioned/fake"
	"github.com/foresight-dev/foresight/pkg/generated/informers/externalversions"
	"github.com/foresight-dev/foresight/pkg/plugins/apis/config"
)

var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func testArgs() config.ForesightArgs {
	return config.ForesightArgs{
		ProfileStalenessLimit: metav1.Duration{Duration: 300e9},
		DefaultCPU:            resource.MustParse("100m"),
		DefaultMemory:         resource.MustParse("200Mi"),
		ScoreWeights:          config.ScoreWeights{Utilization: 3, Cost: 4, Risk: 2, Confidence: 1},
		PartitionWriteQPS:     20,
	}
}

func poolObj(name string, tier foresightv1alpha1.PoolTier, labels map[string]string) *foresightv1alpha1.ResourcePool {
	return &foresightv1alpha1.ResourcePool{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       foresightv1alpha1.ResourcePoolSpec{Tier: tier, NodeSelector: metav1.LabelSelector{MatchLabels: labels}},
	}
}

// newTestPlugin builds the plugin over informer caches filled with objs,
// without starting informers.
func newTestPlugin(t *testing.T, pools []*foresightv1alpha1.ResourcePool, policies []*foresightv1alpha1.TenantPolicy, profiles ...*foresightv1alpha1.WorkloadProfile) *Foresight {
	t.Helper()
	logger, _ := ktesting.NewTestContext(t)
	factory := externalversions.NewSharedInformerFactory(fake.NewSimpleClientset(), 0)
	poolInformer := factory.Foresight().V1alpha1().ResourcePools()
	policyInformer := factory.Foresight().V1alpha1().TenantPolicies()
	for _, p := range pools {
		if err := poolInformer.Informer().GetIndexer().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range policies {
		if err := policyInformer.Informer().GetIndexer().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	profileIndex := cache.NewIndexer(cache.MetaNamespaceKeyFunc, demand.ProfileIndexers())
	for _, p := range profiles {
		if err := profileIndex.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	pl := &Foresight{
		args: testArgs(), policies: policyInformer.Lister(), profiles: profileIndex, pools: newPoolIndex(poolInformer.Lister()),
		refused: newRefusedPods(), roomless: newRefusedPods(), cache: newPartitionCache(),
		now: func() time.Time { return testNow }, recorder: events.NewFakeRecorder(100),
	}
	pl.pools.rebuild(logger)
	return pl
}

var testPools = []*foresightv1alpha1.ResourcePool{
	poolObj("fixed", foresightv1alpha1.PoolTierFixed, map[string]string{"pool": "fixed"}),
	poolObj("variable", foresightv1alpha1.PoolTierVariable, map[string]string{"pool": "variable"}),
	poolObj("dedicated", foresightv1alpha1.PoolTierDedicated, map[string]string{"pool": "dedicated"}),
	poolObj("gpu", foresightv1alpha1.PoolTierVariable, map[string]string{"gpu": "true"}),
}

func TestPreFilter(t *testing.T) {
	shopPolicy := &foresightv1alpha1.TenantPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: foresightv1alpha1.TenantPolicyName, Namespace: "shop"},
		Spec:       foresightv1alpha1.TenantPolicySpec{AllowedClasses: []foresightv1alpha1.SLAClass{"critical", "batch"}, MaxPriority: 1000},
	}
	tests := []struct {
		name      string
		pod       *v1.Pod
		wantCode  fwk.Code
		wantMsg   string
		wantClass foresightv1alpha1.SLAClass
	}{
		{name: "no annotations, no policy", pod: st.MakePod().Namespace("dev").Name("p").Obj(), wantCode: fwk.Success, wantClass: "standard"},
		{name: "critical without policy", pod: st.MakePod().Namespace("dev").Name("p").Annotation(annotations.SLAClass, "critical").Obj(),
			wantCode: fwk.UnschedulableAndUnresolvable, wantMsg: "foresight.dev annotations refused: metadata.annotations[foresight.dev/sla-class]: Forbidden: the namespace's TenantPolicy allows only standard, batch, best-effort"},
		{name: "critical allowed by the policy", pod: st.MakePod().Namespace("shop").Name("p").Annotation(annotations.SLAClass, "critical").Obj(), wantCode: fwk.Success, wantClass: "critical"},
		{name: "policy's lowest class as default", pod: st.MakePod().Namespace("shop").Name("p").Obj(), wantCode: fwk.Success, wantClass: "batch"},
		{name: "malformed annotation", pod: st.MakePod().Namespace("shop").Name("p").Annotation(annotations.Priority, "top").Obj(),
			wantCode: fwk.UnschedulableAndUnresolvable, wantMsg: `foresight.dev annotations refused: metadata.annotations[foresight.dev/priority]: Invalid value: "top": must be an integer`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			pl := newTestPlugin(t, testPools, []*foresightv1alpha1.TenantPolicy{shopPolicy})
			state := framework.NewCycleState()
			_, status := pl.PreFilter(ctx, state, tc.pod, nil)
			if status.Code() != tc.wantCode {
				t.Fatalf("PreFilter() code = %v (%v), want %v", status.Code(), status.AsError(), tc.wantCode)
			}
			if tc.wantMsg != "" && status.Message() != tc.wantMsg {
				t.Errorf("PreFilter() message = %q, want %q", status.Message(), tc.wantMsg)
			}
			if tc.wantCode != fwk.Success {
				return
			}
			s, err := readState(state)
			if err != nil {
				t.Fatal(err)
			}
			if s.spec.Class != tc.wantClass {
				t.Errorf("class = %q, want %q", s.spec.Class, tc.wantClass)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name     string
		class    string
		node     *v1.Node
		wantCode fwk.Code
		wantMsg  string
	}{
		{name: "standard on fixed", node: st.MakeNode().Name("n").Label("pool", "fixed").Obj(), wantCode: fwk.Success},
		{name: "standard on dedicated", node: st.MakeNode().Name("n").Label("pool", "dedicated").Obj(), wantCode: fwk.UnschedulableAndUnresolvable, wantMsg: ReasonDedicatedPool},
		{name: "best-effort on dedicated", class: "best-effort", node: st.MakeNode().Name("n").Label("pool", "dedicated").Obj(), wantCode: fwk.UnschedulableAndUnresolvable, wantMsg: ReasonDedicatedPool},
		{name: "critical on dedicated", class: "critical", node: st.MakeNode().Name("n").Label("pool", "dedicated").Obj(), wantCode: fwk.Success},
		{name: "critical on variable", class: "critical", node: st.MakeNode().Name("n").Label("pool", "variable").Obj(), wantCode: fwk.Success},
		{name: "node in no pool", node: st.MakeNode().Name("n").Obj(), wantCode: fwk.Success},
		{name: "node in two pools", node: st.MakeNode().Name("n").Label("pool", "fixed").Label("gpu", "true").Obj(), wantCode: fwk.UnschedulableAndUnresolvable, wantMsg: ReasonPoolConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			policy := &foresightv1alpha1.TenantPolicy{
				ObjectMeta: metav1.ObjectMeta{Name: foresightv1alpha1.TenantPolicyName, Namespace: "ns"},
				Spec:       foresightv1alpha1.TenantPolicySpec{AllowedClasses: []foresightv1alpha1.SLAClass{"critical", "standard", "batch", "best-effort"}},
			}
			pl := newTestPlugin(t, testPools, []*foresightv1alpha1.TenantPolicy{policy})
			w := st.MakePod().Namespace("ns").Name("p")
			if tc.class != "" {
				w = w.Annotation(annotations.SLAClass, tc.class)
			}
			state := framework.NewCycleState()
			if _, s := pl.PreFilter(ctx, state, w.Obj(), nil); !s.IsSuccess() {
				t.Fatalf("PreFilter: %v", s.AsError())
			}
			ni := framework.NewNodeInfo()
			tc.node.Status.Allocatable = v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("16Gi")}
			ni.SetNode(tc.node)
			status := pl.Filter(ctx, state, w.Obj(), ni)
			if status.Code() != tc.wantCode {
				t.Fatalf("Filter() code = %v (%v), want %v", status.Code(), status.AsError(), tc.wantCode)
			}
			if tc.wantMsg != "" && status.Message() != tc.wantMsg {
				t.Errorf("Filter() message = %q, want %q", status.Message(), tc.wantMsg)
			}
		})
	}
}

func TestScore(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := newTestPlugin(t, testPools, nil)
	pod := st.MakePod().Namespace("ns").Name("p").Req(map[v1.ResourceName]string{v1.ResourceCPU: "1", v1.ResourceMemory: "1Gi"}).Obj()
	state := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, state, pod, nil); !s.IsSuccess() {
		t.Fatalf("PreFilter: %v", s.AsError())
	}
	capacity := map[v1.ResourceName]string{v1.ResourceCPU: "4", v1.ResourceMemory: "16Gi", v1.ResourcePods: "110"}
	running := st.MakePod().Name("running").Req(map[v1.ResourceName]string{v1.ResourceCPU: "1", v1.ResourceMemory: "1Gi"}).Obj()
	nodeInfo := func(pool string, pods ...*v1.Pod) fwk.NodeInfo {
		ni := framework.NewNodeInfo(pods...)
		ni.SetNode(st.MakeNode().Name(pool).Label("pool", pool).Capacity(capacity).Obj())
		return ni
	}
	score := func(ni fwk.NodeInfo) int64 {
		s, status := pl.Score(ctx, state, pod, ni)
		if !status.IsSuccess() {
			t.Fatalf("Score: %v", status.AsError())
		}
		return s
	}
	fixedIdle, variableBusy, variableIdle := score(nodeInfo("fixed")), score(nodeInfo("variable", running)), score(nodeInfo("variable"))
	if fixedIdle <= variableBusy || variableBusy <= variableIdle {
		t.Errorf("want fixed (%d) > busy variable (%d) > idle variable (%d)", fixedIdle, variableBusy, variableIdle)
	}
	// Fixed, empty: cost 100, utilisation after placement (1/4 + 1/16)/2 = 15.6 → 15,
	// risk 100 (a new partition sized at the demand, which is certain: it comes
	// from requests), confidence 100 (no overcommit);
	// (100·4 + 15·3 + 100·2 + 100·1) / 10 = 74.5 → 74.
	if fixedIdle != 74 {
		t.Errorf("score on an empty fixed node = %d, want 74", fixedIdle)
	}
}
