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
	b.Run("Filter", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if s := pl.Filter(ctx, state, pod, ni); !s.IsSuccess() {
				b.Fatal(s.AsError())
			}
		}
	})
	b.Run("Score", func(b *testing.B) {
		// After Filter in the same cycle: Score reuses Filter's result.
		b.ReportAllocs()
		for range b.N {
			if _, s := pl.Score(ctx, state, pod, ni); !s.IsSuccess() {
				b.Fatal(s.AsError())
			}
		}
	})
	b.Run("ScoreWithoutFilter", func(b *testing.B) {
		// The baseline: a cycle whose Filter did not run on this node.
		cold := framework.NewCycleState()
		if _, s := pl.PreFilter(ctx, cold, pod, nil); !s.IsSuccess() {
			b.Fatal(s.AsError())
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, s := pl.Score(ctx, cold, pod, ni); !s.IsSuccess() {
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
