package foresight

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// BenchmarkFilterScore measures Foresight's Filter and Score on one node
// that already holds partitions of every class: the per-node cost kube-
// scheduler pays on every node it evaluates.
func BenchmarkFilterScore(b *testing.B) {
	pl := newTestPlugin(&testing.T{}, []*foresightv1alpha1.ResourcePool{partitionPool("fixed", foresightv1alpha1.PoolTierFixed, 150)}, nil, webProfile(0))
	_, ctx := ktesting.NewTestContext(b)
	node := st.MakeNode().Name("n1").Label("pool", "fixed").Capacity(map[v1.ResourceName]string{v1.ResourceCPU: "64", v1.ResourceMemory: "256Gi", v1.ResourcePods: "500"}).Obj()
	ni := framework.NewNodeInfo()
	ni.SetNode(node)
	classes := []string{"standard", "batch", "best-effort"}
	for i := range 60 {
		reserveOn(b, ctx, pl, ni, webPod(fmt.Sprintf("w%d", i)).Annotation(annotations.SLAClass, classes[i%3]).Obj())
	}
	pod := webPod("new").Obj()
	state := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, state, pod, nil); !s.IsSuccess() {
		b.Fatal(s.AsError())
	}
	ps, err := readState(state)
	if err != nil {
		b.Fatal(err)
	}
	// The memo's answer (a pod of a shape already filtered on the
	// unchanged node), and the baseline measured beside it: every call
	// with a shape never seen, so that Filter looks for a memo, finds
	// none, computes and stores one.
	b.Run("Filter", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if s := pl.Filter(ctx, state, pod, ni); !s.IsSuccess() {
				b.Fatal(s.AsError())
			}
		}
	})
	b.Run("FilterWithoutMemo", func(b *testing.B) {
		shape := ps.shape
		defer func() { ps.shape = shape }()
		b.ReportAllocs()
		for i := range b.N {
			ps.shape = 1<<40 + uint64(i)
			if s := pl.Filter(ctx, state, pod, ni); !s.IsSuccess() {
				b.Fatal(s.AsError())
			}
		}
	})
	b.Run("Score", func(b *testing.B) {
		// After Filter: Score returns the memo's score.
		if s := pl.Filter(ctx, state, pod, ni); !s.IsSuccess() {
			b.Fatal(s.AsError())
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, s := pl.Score(ctx, state, pod, ni); !s.IsSuccess() {
				b.Fatal(s.AsError())
			}
		}
	})
	b.Run("ScoreWithoutMemo", func(b *testing.B) {
		// The baseline: no memo for the shape, Score computes afresh.
		shape := ps.shape
		defer func() { ps.shape = shape }()
		b.ReportAllocs()
		for i := range b.N {
			ps.shape = 1<<41 + uint64(i)
			if _, s := pl.Score(ctx, state, pod, ni); !s.IsSuccess() {
				b.Fatal(s.AsError())
			}
		}
	})
	b.Run("PreFilter", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, s := pl.PreFilter(ctx, framework.NewCycleState(), pod, nil); !s.IsSuccess() {
				b.Fatal(s.AsError())
			}
		}
	})
	var _ fwk.NodeInfo = ni
}

// BenchmarkFilterManyNodes measures Filter as kube-scheduler calls it in
// a large cluster: one call per node, round the 5,000 nodes of the
// scheduler benchmark, each holding partitions, so that the node's
// objects and the plugin's entry for it are out of the CPU's caches as
// they are in the scheduler (BenchmarkFilterScore, on one node, keeps
// them all cached).
func BenchmarkFilterManyNodes(b *testing.B) {
	pl := newTestPlugin(&testing.T{}, []*foresightv1alpha1.ResourcePool{partitionPool("fixed", foresightv1alpha1.PoolTierFixed, 150)}, nil, webProfile(0))
	_, ctx := ktesting.NewTestContext(b)
	const nodes = 5000
	infos := make([]*framework.NodeInfo, nodes)
	classes := []string{"standard", "batch", "best-effort"}
	for n := range infos {
		node := st.MakeNode().Name(fmt.Sprintf("node-%d", n)).Label("pool", "fixed").Capacity(map[v1.ResourceName]string{v1.ResourceCPU: "32", v1.ResourceMemory: "128Gi", v1.ResourcePods: "110"}).Obj()
		ni := framework.NewNodeInfo()
		ni.SetNode(node)
		for i := range 3 {
			reserveOn(b, ctx, pl, ni, webPod(fmt.Sprintf("w%d-%d", n, i)).Annotation(annotations.SLAClass, classes[i%3]).Obj())
		}
		infos[n] = ni
	}
	pod := webPod("new").Obj()
	state := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, state, pod, nil); !s.IsSuccess() {
		b.Fatal(s.AsError())
	}
	ps, err := readState(state)
	if err != nil {
		b.Fatal(err)
	}
	// Other work between two calls on one node, as the scheduler's other
	// plugins and goroutines do: a walk over 64 MiB.
	junk := make([]byte, 64<<20)
	// memo: the pod's shape was filtered on every node before and the
	// nodes did not change since (the replicas of a workload); without:
	// each pass over the nodes is a shape never seen (Filter looks for a
	// memo, computes, and stores one), the baseline of the same run.
	for _, memo := range []bool{true, false} {
		name := "memo"
		if !memo {
			name = "without-memo"
		}
		b.Run(name, func(b *testing.B) {
			shape := ps.shape
			defer func() { ps.shape = shape }()
			pass := uint64(0)
			if memo {
				// One pass that leaves the memos.
				for _, ni := range infos {
					pl.Filter(ctx, state, pod, ni)
				}
			} else {
				ps.shape = 1 << 40
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if s := pl.Filter(ctx, state, pod, infos[i%nodes]); !s.IsSuccess() {
					b.Fatal(s.AsError())
				}
				if i%nodes == nodes-1 {
					b.StopTimer()
					for k := 0; k < len(junk); k += 64 {
						junk[k]++
					}
					if !memo {
						pass++
						ps.shape = 1<<40 + pass
					}
					b.StartTimer()
				}
			}
		})
	}
}
