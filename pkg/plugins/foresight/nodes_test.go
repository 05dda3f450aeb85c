package foresight

import (
	"sync"
	"testing"

	st "k8s.io/kubernetes/pkg/scheduler/testing"
)

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
