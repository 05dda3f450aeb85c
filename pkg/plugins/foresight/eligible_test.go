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
