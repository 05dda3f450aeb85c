package foresight

import (
	"fmt"
	"sync"
	"testing"
	"unsafe"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
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
		if got := e.seq.Load(); got != r.seq {
			t.Fatalf("try %d: the entry names record %d, its record is %d: memos would be read for another record", i, got, r.seq)
		}
	}
}

// TestNodeEntryLayout: what Filter reads on a memo hit (the record
// pointer, its seq, the node and the memos) lies in the entry's first
// cache line, and entries take two whole lines, so that side by side each
// one's first line is its own.
func TestNodeEntryLayout(t *testing.T) {
	var e nodeEntry
	if size := unsafe.Sizeof(e); size != 128 {
		t.Errorf("nodeEntry is %d bytes, want 128", size)
	}
	if end := unsafe.Offsetof(e.memo) + unsafe.Sizeof(e.memo); end > 64 {
		t.Errorf("the memos end at byte %d of the entry, past its first cache line", end)
	}
	for name, off := range map[string]uintptr{"rec": unsafe.Offsetof(e.rec), "seq": unsafe.Offsetof(e.seq), "node": unsafe.Offsetof(e.node)} {
		if off >= 64 {
			t.Errorf("%s is at byte %d, past the first cache line", name, off)
		}
	}
}

// TestNodeEntriesForInfo: the table keyed by NodeInfos returns the entry
// the name map does, when many nodes share a table smaller than they are,
// after a node is updated (the same NodeInfo holds a new object), and for
// a copy of a NodeInfo (as preemption filters).
func TestNodeEntriesForInfo(t *testing.T) {
	var e nodeEntries
	snap := &poolSnapshot{}
	infos := make([]*framework.NodeInfo, 300)
	for i := range infos {
		infos[i] = framework.NewNodeInfo()
		infos[i].SetNode(st.MakeNode().Name(fmt.Sprintf("n%d", i)).Capacity(map[v1.ResourceName]string{v1.ResourceCPU: "4", v1.ResourceMemory: "8Gi"}).Obj())
	}
	// A table of 16 slots for 300 nodes: most slots are shared.
	e.get(infos[0].Node().Name)
	e.byInfo.Store(newInfoTable(1))
	check := func(round string) {
		t.Helper()
		for _, ni := range infos {
			got, node := e.forInfo(ni)
			if node != ni.Node() {
				t.Fatalf("%s: forInfo(%s) returned another node object", round, ni.Node().Name)
			}
			if want := e.get(node.Name); got != want {
				t.Fatalf("%s: forInfo(%s) is another node's entry", round, node.Name)
			}
			rec, _, _ := got.poolOf(snap, node)
			if rec.node != node {
				t.Fatalf("%s: record of %s made for another object", round, node.Name)
			}
			if want := (demand.Vector{node.Status.Allocatable.Cpu().MilliValue(), 8 << 30}); rec.allocatable != want {
				t.Fatalf("%s: allocatable of %s is %v, want %v", round, node.Name, rec.allocatable, want)
			}
		}
	}
	check("first")
	check("again")
	updated := infos[7].Node().DeepCopy()
	updated.Status.Allocatable[v1.ResourceCPU] = resource.MustParse("2")
	copyOf7 := infos[7].Snapshot()
	infos[7].SetNode(updated)
	x, node := e.forInfo(infos[7])
	if node != updated || x != e.get("n7") {
		t.Fatal("an updated node has another entry")
	}
	if rec, _, _ := x.poolOf(snap, updated); rec.allocatable[demand.CPU] != 2000 {
		t.Fatalf("allocatable of the updated node is %v, want 2 CPUs", rec.allocatable)
	}
	if y, old := e.forInfo(copyOf7); y != x || old == updated {
		t.Fatal("a copy of the NodeInfo holding the old object has another entry, or the new object")
	}
	check("after the update")
	var notOurs fwk.NodeInfo = otherNodeInfo{infos[3]}
	if y, node := e.forInfo(notOurs); node != infos[3].Node() || y != e.get("n3") {
		t.Fatal("a NodeInfo of another implementation has another entry")
	}
}

// otherNodeInfo is a NodeInfo that is not kube-scheduler's type.
type otherNodeInfo struct{ *framework.NodeInfo }

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
