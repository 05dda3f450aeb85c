package foresight

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
)

func TestEligibleNodes(t *testing.T) {
	pl := newTestPlugin(t, testPools, nil)
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, n := range []*v1.Node{
		st.MakeNode().Name("fixed").Label("pool", "fixed").Obj(),
		st.MakeNode().Name("free").Obj(),
		st.MakeNode().Name("dedicated").Label("pool", "dedicated").Obj(),
		st.MakeNode().Name("both").Label("pool", "fixed").Label("gpu", "true").Obj(),
	} {
		if err := idx.Add(n); err != nil {
			t.Fatal(err)
		}
	}
	e := &eligibility{nodes: corelisters.NewNodeLister(idx), pools: pl.pools}
	got := e.forNonCritical()
	if got == nil || !got.names.Equal(setOf("fixed", "free")) || got.dedicated != 1 || got.conflict != 1 {
		t.Fatalf("eligible = %+v, want fixed and free; 1 dedicated, 1 conflict", got)
	}
	if again := e.forNonCritical(); again != got {
		t.Error("the set was rebuilt without a change")
	}
	// A node joins the dedicated pool: rebuilt after the change is noted.
	n, _ := corelisters.NewNodeLister(idx).Get("free")
	n = n.DeepCopy()
	n.Labels = map[string]string{"pool": "dedicated"}
	if err := idx.Update(n); err != nil {
		t.Fatal(err)
	}
	e.changed()
	if got := e.forNonCritical(); !got.names.Equal(setOf("fixed")) || got.dedicated != 2 {
		t.Errorf("after relabelling: %+v, want only fixed and 2 dedicated", got)
	}
}

func setOf(names ...string) sets.Set[string] { return sets.New(names...) }

// TestUseNodeSet checks the choice between handing kube-scheduler the
// eligible node set and letting Filter refuse the others, against counts
// worked out from kube-scheduler's adaptive search.
func TestUseNodeSet(t *testing.T) {
	for _, tc := range []struct {
		eligible, all int
		want          bool
	}{
		// 4 of 5 nodes: all are examined either way; the set spares the
		// refusal.
		{4, 5, true},
		// 333 of 500: 159 nodes evaluated with the set, 230 without.
		{333, 500, true},
		// 1,333 of 2,000: 533 with the set, 680 (+340 refused) without.
		{1333, 2000, true},
		// 3,333 of 5,000: 799 with the set, 500 (+250 refused) without.
		{3333, 5000, false},
		// 4,500 of 5,000: 630 with the set, 500 (+56 refused) without.
		{4500, 5000, false},
		// Nothing left out, or nothing eligible: no set.
		{5000, 5000, false},
		{0, 5000, false},
	} {
		if got := useNodeSet(tc.eligible, tc.all); got != tc.want {
			t.Errorf("useNodeSet(%d, %d) = %v, want %v", tc.eligible, tc.all, got, tc.want)
		}
	}
	if got, want := feasibleNodesToFind(5000), 500; got != want {
		t.Errorf("feasibleNodesToFind(5000) = %d, want %d (kube-scheduler's 10%%)", got, want)
	}
	if got, want := feasibleNodesToFind(3333), 799; got != want {
		t.Errorf("feasibleNodesToFind(3333) = %d, want %d (its log said evaluatedNodes=799 with the set)", got, want)
	}
}
