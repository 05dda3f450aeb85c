package foresight

import (
	"fmt"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
)

func TestNodeEntriesForInfo(t *testing.T) {
	var e nodeEntries
	infos := make([]fwk.NodeInfo, 300)
	nodes := make([]*v1.Node, len(infos))
	for i := range infos {
		nodes[i] = st.MakeNode().Name(fmt.Sprintf("n%d", i)).Obj()
		ni := framework.NewNodeInfo()
		ni.SetNode(nodes[i])
		infos[i] = ni
	}
	for round := range 2 {
		for i, ni := range infos {
			if got, want := e.forInfo(ni, nodes[i]), e.get(nodes[i].Name); got != want || got.name != nodes[i].Name {
				t.Fatalf("round %d: forInfo(%s) = entry %q, want the entry get returns", round, nodes[i].Name, got.name)
			}
		}
	}
	// After two rounds every NodeInfo is found without the lock.
	m := e.byInfo.Load()
	if m == nil {
		t.Fatal("no NodeInfo map published")
	}
	for i, ni := range infos {
		if (*m)[ni] != e.get(nodes[i].Name) {
			t.Fatalf("NodeInfo of %s not in the published map", nodes[i].Name)
		}
	}

	// A NodeInfo object that now holds another node finds that node's
	// entry, not the one it was first seen with.
	other := st.MakeNode().Name("other").Obj()
	infos[0].(*framework.NodeInfo).SetNode(other)
	if got := e.forInfo(infos[0], other); got.name != "other" {
		t.Errorf("reused NodeInfo: entry %q, want other", got.name)
	}
}

// TestNodeEntryUpdatesNotLost: a pool refresh (Filter, no lock) and a
// partition change (the cache, under its lock) republish the same record;
// neither may undo the other.
func TestNodeEntryUpdatesNotLost(t *testing.T) {
	snap := &poolSnapshot{}
	for i := range 200 {
		var e nodeEntry
		node := st.MakeNode().Name("n").Obj()
		var wg sync.WaitGroup
		wg.Go(func() { e.setView(nodeView{parts: make([]partSnap, 1)}) })
		wg.Go(func() { _, _, _ = e.poolOf(snap, node) })
		wg.Wait()
		r := e.load()
		if len(r.view.parts) != 1 || !r.hasPool || r.node != node {
			t.Fatalf("try %d: record lost an update: %d parts, pool known %v", i, len(r.view.parts), r.hasPool)
		}
	}
}
