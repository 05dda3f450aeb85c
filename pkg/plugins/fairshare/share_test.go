package fairshare

import (
	"math"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/generated/clientset/versioned/fake"
	"github.com/foresight-dev/foresight/pkg/generated/informers/externalversions"
	"github.com/foresight-dev/foresight/pkg/plugins/apis/config"
)

func TestDominantShare(t *testing.T) {
	capacity := usage{cpu: 10_000, memory: 100}
	tests := []struct {
		name string
		used usage
		want float64
	}{
		{name: "nothing", want: 0},
		{name: "CPU dominates", used: usage{cpu: 5_000, memory: 10}, want: 0.5},
		{name: "memory dominates", used: usage{cpu: 1_000, memory: 80}, want: 0.8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := dominantShare(tc.used, capacity); got != tc.want {
				t.Errorf("dominantShare() = %v, want %v", got, tc.want)
			}
		})
	}
	if got := dominantShare(usage{cpu: 1}, usage{}); got != 0 {
		t.Errorf("dominantShare() of an empty cluster = %v, want 0", got)
	}
}

func TestEffectiveShare(t *testing.T) {
	tests := []struct {
		name     string
		share    float64
		weight   int32
		waited   time.Duration
		halfLife time.Duration
		want     float64
	}{
		{name: "fresh pod", share: 0.4, weight: 1, halfLife: time.Minute, want: 0.4},
		{name: "weight divides", share: 0.4, weight: 4, halfLife: time.Minute, want: 0.1},
		{name: "one half-life halves", share: 0.4, weight: 1, waited: time.Minute, halfLife: time.Minute, want: 0.2},
		{name: "three half-lives", share: 0.4, weight: 1, waited: 3 * time.Minute, halfLife: time.Minute, want: 0.05},
		{name: "weight below 1 counts as 1", share: 0.4, weight: 0, halfLife: time.Minute, want: 0.4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := effectiveShare(tc.share, tc.weight, tc.waited, tc.halfLife); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("effectiveShare() = %v, want %v", got, tc.want)
			}
		})
	}
}

// fairShareFixture is a cluster of one node with 10 cores and 100 GiB:
// tenant "heavy" (namespaces heavy-a and heavy-b, grouped by a label) uses
// 5 cores, namespace "light" uses 1 core, and "vip" (TenantPolicy weight
// 10) uses 4 cores.
func fairShareFixture(t *testing.T) (*FairShare, *time.Time, cache.Indexer) {
	t.Helper()
	kube := informers.NewSharedInformerFactory(kubefake.NewSimpleClientset(), 0)
	nsInformer := kube.Core().V1().Namespaces()
	for _, ns := range []*v1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "heavy-a", Labels: map[string]string{"example.com/team": "heavy"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "heavy-b", Labels: map[string]string{"example.com/team": "heavy"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "light"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "vip"}},
	} {
		if err := nsInformer.Informer().GetIndexer().Add(ns); err != nil {
			t.Fatal(err)
		}
	}
	fs := externalversions.NewSharedInformerFactory(fake.NewSimpleClientset(), 0)
	policyInformer := fs.Foresight().V1alpha1().TenantPolicies()
	if err := policyInformer.Informer().GetIndexer().Add(&foresightv1alpha1.TenantPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: foresightv1alpha1.TenantPolicyName, Namespace: "vip"},
		Spec:       foresightv1alpha1.TenantPolicySpec{Weight: 10, AllowedClasses: []foresightv1alpha1.SLAClass{"standard"}},
	}); err != nil {
		t.Fatal(err)
	}
	acct := newAccounting(&tenancy{label: "example.com/team", namespaces: nsInformer.Lister(), policies: policyInformer.Lister()})
	acct.setNode(st.MakeNode().Name("n").Capacity(map[v1.ResourceName]string{v1.ResourceCPU: "10", v1.ResourceMemory: "100Gi"}).Obj())
	bound := func(ns, name, cpu string) *v1.Pod {
		p := st.MakePod().Namespace(ns).Name(name).UID(ns + "/" + name).Node("n").Req(map[v1.ResourceName]string{v1.ResourceCPU: cpu}).Obj()
		p.Status.Phase = v1.PodRunning
		return p
	}
	for _, p := range []*v1.Pod{
		bound("heavy-a", "x", "3"), bound("heavy-b", "y", "2"), bound("light", "z", "1"), bound("vip", "w", "4"),
	} {
		acct.setPod(p)
	}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	pl := &FairShare{
		args: config.ForesightFairShareArgs{TenantLabel: "example.com/team", AgingHalfLife: metav1.Duration{Duration: time.Minute}},
		acct: acct,
		now:  func() time.Time { return now },
	}
	return pl, &now, nsInformer.Informer().GetIndexer()
}

func TestLessByTenantShare(t *testing.T) {
	pl, now, _ := fairShareFixture(t)
	pending := func(ns string) *v1.Pod { return st.MakePod().Namespace(ns).Name("pending").Obj() }
	tests := []struct {
		name       string
		a, b       string // namespaces
		waitA      time.Duration
		waitB      time.Duration
		classA     string
		classB     string
		prioA      string
		want       bool
		wantShareA float64
	}{
		// light: 1/10 = 0.1; heavy (3+2 cores, grouped by label): 0.5; vip: 0.4/10 = 0.04.
		{name: "light tenant before heavy", a: "light", b: "heavy-a", want: true},
		{name: "heavy after light", a: "heavy-b", b: "light", want: false},
		{name: "weight lifts vip above light", a: "vip", b: "light", want: true},
		// heavy after 3 half-lives: 0.5/8 = 0.0625 < 0.1.
		{name: "ageing: a heavy pod waiting 3 half-lives passes a fresh light one", a: "heavy-a", b: "light", waitA: 3 * time.Minute, want: true},
		{name: "ageing: 2 half-lives are not enough", a: "heavy-a", b: "light", waitA: 2 * time.Minute, want: false},
		{name: "same tenant: older first", a: "heavy-a", b: "heavy-b", waitA: time.Second, want: true},
		// Within a tenant the class comes before age: a tenant's pods of
		// one class stay together (and batch in kube-scheduler).
		{name: "same tenant: class before age", a: "heavy-a", b: "heavy-b", classA: "standard", classB: "batch", waitB: time.Hour, want: true},
		{name: "same tenant: tenant priority before class", a: "heavy-a", b: "heavy-b", classA: "batch", classB: "standard", prioA: "10", want: true},
		{name: "different tenants: share before class", a: "heavy-a", b: "light", classA: "standard", classB: "batch", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pa, pb := pending(tc.a), pending(tc.b)
			pa.Annotations, pb.Annotations = map[string]string{}, map[string]string{}
			if tc.classA != "" {
				pa.Annotations[annotations.SLAClass] = tc.classA
			}
			if tc.classB != "" {
				pb.Annotations[annotations.SLAClass] = tc.classB
			}
			if tc.prioA != "" {
				pa.Annotations[annotations.Priority] = tc.prioA
			}
			qa := queued(t, pa, now.Add(-tc.waitA))
			qb := queued(t, pb, now.Add(-tc.waitB))
			if got := pl.Less(qa, qb); got != tc.want {
				t.Errorf("Less(%s waited %s, %s waited %s) = %v, want %v", tc.a, tc.waitA, tc.b, tc.waitB, got, tc.want)
			}
		})
	}
}

func TestAccountingFollowsPods(t *testing.T) {
	pl, _, _ := fairShareFixture(t)
	if got := pl.acct.shareOf("light").share; got != 0.1 {
		t.Fatalf("light share = %v, want 0.1", got)
	}
	// The light pod finishes: its requests no longer count.
	done := st.MakePod().Namespace("light").Name("z").UID("light/z").Node("n").Obj()
	done.Status.Phase = v1.PodSucceeded
	pl.acct.setPod(done)
	if got := pl.acct.shareOf("light").share; got != 0 {
		t.Errorf("light share after its pod succeeded = %v, want 0", got)
	}
	// A heavy pod is deleted: heavy drops from 5 to 2 cores.
	pl.acct.deletePod(types.UID("heavy-a/x"))
	if got := pl.acct.shareOf("heavy-b").share; math.Abs(got-0.2) > 1e-12 {
		t.Errorf("heavy share after a deletion = %v, want 0.2", got)
	}
	// The node doubles: every share halves.
	pl.acct.setNode(st.MakeNode().Name("n").Capacity(map[v1.ResourceName]string{v1.ResourceCPU: "20", v1.ResourceMemory: "200Gi"}).Obj())
	if got := pl.acct.shareOf("heavy-b").share; math.Abs(got-0.1) > 1e-12 {
		t.Errorf("heavy share after the node grew = %v, want 0.1", got)
	}
	// An unbound pod never counts.
	pl.acct.setPod(st.MakePod().Namespace("light").Name("pending").UID("light/pending").Req(map[v1.ResourceName]string{v1.ResourceCPU: "8"}).Obj())
	if got := pl.acct.shareOf("light").share; got != 0 {
		t.Errorf("light share with a pending pod = %v, want 0", got)
	}
}

// TestTenantCacheFollowsNamespaces checks that a namespace moved to another
// tenant is accounted there once the namespace's change is seen, and not
// before (the queue's comparisons read the cache, not the listers).
func TestTenantCacheFollowsNamespaces(t *testing.T) {
	pl, _, namespaces := fairShareFixture(t)
	if got := pl.acct.shareOf("light").share; got != 0.1 {
		t.Fatalf("light share = %v, want 0.1", got)
	}
	// "light" joins team heavy: 3 + 2 + 1 cores of 10.
	relabelled := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "light", Labels: map[string]string{"example.com/team": "heavy"}}}
	if err := namespaces.Update(relabelled); err != nil {
		t.Fatal(err)
	}
	if got := pl.acct.shareOf("light").share; got != 0.1 {
		t.Errorf("light share before the namespace event = %v, want the cached 0.1", got)
	}
	pl.acct.invalidateHandler().OnUpdate(nil, relabelled)
	if got := pl.acct.shareOf("light").share; math.Abs(got-0.6) > 1e-12 {
		t.Errorf("light share after joining team heavy = %v, want 0.6", got)
	}
}
