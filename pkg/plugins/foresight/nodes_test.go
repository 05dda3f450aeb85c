package foresight

import (
	"fmt"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/foresight-dev/foresight/pkg/demand"
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

// TestNodeEntriesForNode: the table keyed by node objects returns the
// entry the name map does, before and after the node's record knows the
// object, after the node is updated (a new object of the same name), and
// when many nodes share a table smaller than they are.
func TestNodeEntriesForNode(t *testing.T) {
	var e nodeEntries
	snap := &poolSnapshot{}
	nodes := make([]*v1.Node, 300)
	for i := range nodes {
		nodes[i] = st.MakeNode().Name(fmt.Sprintf("n%d", i)).Capacity(map[v1.ResourceName]string{v1.ResourceCPU: "4", v1.ResourceMemory: "8Gi"}).Obj()
	}
	// A table of 32 slots for 300 nodes: most slots are shared.
	e.get(nodes[0].Name)
	e.byNode.Store(newNodeTable(1))
	check := func(round string) {
		t.Helper()
		for _, n := range nodes {
			got, rec := e.forNode(n)
			if want := e.get(n.Name); got != want {
				t.Fatalf("%s: forNode(%s) is another node's entry", round, n.Name)
			}
			if rec != nil && rec != got.rec.Load() {
				t.Fatalf("%s: forNode(%s) returned an old record", round, n.Name)
			}
			rec, _, _ = got.poolOf(snap, n)
			if rec.node != n {
				t.Fatalf("%s: record of %s made for another object", round, n.Name)
			}
			if want := (demand.Vector{n.Status.Allocatable.Cpu().MilliValue(), 8 << 30}); rec.allocatable != want {
				t.Fatalf("%s: allocatable of %s is %v, want %v", round, n.Name, rec.allocatable, want)
			}
		}
	}
	check("first")
	check("again")
	updated := nodes[7].DeepCopy()
	updated.Status.Allocatable[v1.ResourceCPU] = resource.MustParse("2")
	old := nodes[7]
	nodes[7] = updated
	x, _ := e.forNode(updated)
	if e.cached(old) != nil {
		t.Fatal("the replaced node object keeps its slot (and itself and its record alive)")
	}
	if y, _ := e.forNode(old); x != y {
		t.Fatal("an updated node object has another entry")
	}
	if rec, _, _ := x.poolOf(snap, updated); rec.allocatable[demand.CPU] != 2000 {
		t.Fatalf("allocatable of the updated node is %v, want 2 CPUs", rec.allocatable)
	}
	check("after the update")
}

// TestNodeEntryRequested: the requests an entry keeps follow every change
// of the NodeInfo, a copy included (kube-scheduler's preemption filters
// copies with pods taken away).
func TestNodeEntryRequested(t *testing.T) {
	ni := framework.NewNodeInfo()
	ni.SetNode(st.MakeNode().Name("n").Capacity(map[v1.ResourceName]string{v1.ResourceCPU: "4", v1.ResourceMemory: "8Gi"}).Obj())
	var e nodeEntry
	if got := e.requestedOn(ni); got != (demand.Vector{}) {
		t.Fatalf("empty node: requested %v", got)
	}
	pod := st.MakePod().Name("p").UID("p").Req(map[v1.ResourceName]string{v1.ResourceCPU: "1", v1.ResourceMemory: "1Gi"}).Obj()
	pi, err := framework.NewPodInfo(pod)
	if err != nil {
		t.Fatal(err)
	}
	ni.AddPodInfo(pi)
	if got := e.requestedOn(ni); got[demand.CPU] != 1000 || got[demand.Memory] != 1<<30 {
		t.Fatalf("after adding a pod: requested %v, want 1 CPU and 1Gi", got)
	}
	clone := ni.Snapshot()
	if err := clone.RemovePod(klog.Background(), pod); err != nil {
		t.Fatal(err)
	}
	if got := e.requestedOn(clone); got != (demand.Vector{}) {
		t.Fatalf("a copy without the pod: requested %v, want none", got)
	}
	if got := e.requestedOn(ni); got[demand.CPU] != 1000 {
		t.Fatalf("the original again: requested %v, want 1 CPU", got)
	}
}
