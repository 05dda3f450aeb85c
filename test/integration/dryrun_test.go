package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2/ktesting"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/plugins/foresight"
	"github.com/foresight-dev/foresight/pkg/simulate"
	"github.com/foresight-dev/foresight/test/framework"
)

// TestIntegrationDryRunMatchesScheduler checks the simulator's dry run of
// a drain (ControlPlaneBackend.TryPlace) against the real scheduler it
// runs, on the in-process apiserver. The pods request 500m but were
// rightsized from 2 CPUs: kube-scheduler's resource fit would take eight
// of them on a 4-CPU node, the fixed pool's overcommit limit (100% of the
// node in original requests) two. A drain plan that counts requests
// moves them anyway; the dry run must refuse it for Foresight's reason,
// accept the drain that fits, place its pods where the scheduler then
// does, and change nothing meanwhile.
func TestIntegrationDryRunMatchesScheduler(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	cp := framework.StartControlPlane(t)
	if err := cp.InstallCRDs(ctx); err != nil {
		t.Fatal(err)
	}
	backend := simulate.NewControlPlaneBackend(cp, t.TempDir())
	t.Cleanup(backend.Close)
	policies, err := simulate.Policies(simulate.PolicyForesight)
	if err != nil {
		t.Fatal(err)
	}
	pool := simulate.PoolSpec{Name: "fixed", Tier: foresightv1alpha1.PoolTierFixed, Nodes: 3, CPU: 4000, Memory: 16 << 30, PricePerNodeHour: 1, MaxOvercommitPercent: 100}
	spec := simulate.RunSpec{Policy: policies[0], Pools: []*foresightv1alpha1.ResourcePool{simulate.PoolObject(pool)},
		TenantPolicy: simulate.TenantPolicyObject(true), Now: time.Now}
	for i := range pool.Nodes {
		spec.Nodes = append(spec.Nodes, simulate.NodeObject(pool, fmt.Sprintf("fixed-%d", i)))
	}
	if err := backend.Start(ctx, spec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := backend.Stop(context.WithoutCancel(ctx)); err != nil {
			t.Error(err)
		}
	})
	pod := func(workload string) *v1.Pod {
		p := simulate.PodObject(&simulate.PodTrace{Workload: workload, Class: foresightv1alpha1.SLAClassStandard, CPURequest: 500, MemoryRequest: 1 << 30}, 0)
		p.Annotations[annotations.OriginalRequests] = fmt.Sprintf(`{%q:{"cpu":"2","memory":"1Gi"}}`, p.Spec.Containers[0].Name)
		return p
	}
	// Two full nodes and an empty one. The running pods are pinned by
	// hostname: on empty nodes Foresight's packing (its utilization term)
	// and kube-scheduler's LeastAllocated spreading, both on in the
	// shipped profile, cancel out for these sizes, and kube-scheduler
	// 1.37 (no extenders) breaks a tie by the order its parallel filters
	// returned the nodes in, which varies from run to run.
	drain, full, empty := "fixed-0", "fixed-1", "fixed-2"
	perNode := map[string][]string{}
	for i, node := range []string{drain, drain, full, full} {
		p := pod(fmt.Sprintf("w%d", i))
		p.Spec.NodeSelector = map[string]string{v1.LabelHostname: node}
		if err := backend.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
		perNode[node] = append(perNode[node], p.Name)
	}
	placements, err := backend.Schedule(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for node, names := range perNode {
		for _, name := range names {
			if placements[name] != node {
				t.Fatalf("placements %v: want %v", placements, perNode)
			}
		}
	}

	// Three re-created pods do not fit the two free slots: the third is
	// refused by the overcommit limit, not by resource fit.
	three := []*v1.Pod{pod("m0"), pod("m1"), pod("m2")}
	nodes, failed, reason, err := backend.TryPlace(ctx, three, drain)
	if err != nil {
		t.Fatal(err)
	}
	if failed != 2 || nodes[0] != empty || nodes[1] != empty {
		t.Errorf("dry run of three pods: nodes %v, failed %d; want two on %s and the third refused", nodes, failed, empty)
	}
	if !strings.Contains(reason, foresight.ReasonOvercommitLimit) || strings.Contains(reason, "Insufficient cpu") || !strings.Contains(reason, "1 node(s) were unschedulable") {
		t.Errorf("dry run refused the third pod with %q; want the overcommit limit on two nodes and the drained node unschedulable", reason)
	}

	// The drain of one full node: its two pods, re-created, fit the
	// empty node.
	moved := []*v1.Pod{pod("m0"), pod("m1")}
	nodes, failed, reason, err = backend.TryPlace(ctx, moved, drain)
	if err != nil {
		t.Fatal(err)
	}
	if failed != -1 || nodes[0] != empty || nodes[1] != empty {
		t.Fatalf("dry run of the drain: nodes %v, failed %d (%s); want both on %s", nodes, failed, reason, empty)
	}

	// The drain itself: the scheduler puts the pods where the dry run
	// did, so the dry runs reserved nothing in its partitions.
	if err := backend.CordonNodes(ctx, []string{drain}, true); err != nil {
		t.Fatal(err)
	}
	if err := backend.EvictPods(ctx, perNode[drain]); err != nil {
		t.Fatal(err)
	}
	for _, p := range moved {
		if err := backend.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	placements, err = backend.Schedule(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range moved {
		if placements[p.Name] != nodes[i] {
			t.Errorf("pod %s: the scheduler placed it on %q, the dry run on %q", p.Name, placements[p.Name], nodes[i])
		}
	}
	// And it refuses a third as the dry run did.
	third := pod("m2")
	if err := backend.CreatePod(ctx, third); err != nil {
		t.Fatal(err)
	}
	placements, err = backend.Schedule(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := placements[third.Name]; n != "" {
		t.Errorf("the scheduler placed %s on %s; the dry run found no room", third.Name, n)
	}
	why := backend.PendingReasons(ctx, []string{third.Name})[third.Name]
	if !strings.Contains(why, foresight.ReasonOvercommitLimit) {
		t.Errorf("the scheduler's reason for %s is %q; want the overcommit limit, as the dry run said", third.Name, why)
	}
}
