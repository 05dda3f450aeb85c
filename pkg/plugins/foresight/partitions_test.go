package foresight

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
)

// certain is a member whose demand is known exactly.
func certain(cpu, mem int64) memberDemand {
	v := demand.Vector{cpu, mem}
	return memberDemand{Upper: v, Expected: v}
}

func cacheInput(node string, class foresightv1alpha1.SLAClass, m memberDemand, pol poolPolicy) *fitInput {
	return &fitInput{
		node: node, pool: "fixed", class: class, confidence: 0.99, z: normalQuantile(0.99), member: m,
		allocatable: demand.Vector{4000, 16 << 30}, requested: demand.Vector{},
		podRequested: m.Upper, podOriginal: m.Upper, pol: pol, maxRatioPercent: 100,
	}
}

func TestPartitionCacheLifecycle(t *testing.T) {
	c := newPartitionCache()
	pol := poolPolicy{HeadroomPercent: 10}
	reserve := func(uid string, class foresightv1alpha1.SLAClass, cpu int64, requested demand.Vector) string {
		t.Helper()
		in := cacheInput("n1", class, certain(cpu, 1<<30), pol)
		in.requested = requested
		name, _, err := c.reserve(types.UID(uid), "ns", uid, in)
		if err != nil {
			t.Fatalf("reserve %s: %v", uid, err)
		}
		return name
	}
	a := reserve("a", "standard", 1000, demand.Vector{})
	b := reserve("b", "standard", 1000, demand.Vector{1000, 1 << 30})
	if a != b || a != "n1-standard-0" {
		t.Fatalf("partitions %q and %q, want both n1-standard-0", a, b)
	}
	spec, _, _ := c.spec(a)
	if got := demand.FromResourceVector(spec.Size); got != (demand.Vector{2200, 2 * (1 << 30) * 11 / 10}) {
		t.Errorf("size after two members = %v, want their sum plus 10%%", got)
	}
	if len(spec.Members) != 2 {
		t.Errorf("members = %d, want 2", len(spec.Members))
	}
	// A pod moved to another partition leaves its first one.
	other := reserve("a", "batch", 1000, demand.Vector{2000, 2 << 30})
	if name, _ := c.partitionOf("a"); name != other || other != "n1-batch-0" {
		t.Errorf("a is in %q, want n1-batch-0", name)
	}
	if spec, _, _ := c.spec(a); len(spec.Members) != 1 || demand.FromResourceVector(spec.Size)[demand.CPU] != 1100 {
		t.Errorf("standard partition after a left: %d members, size %v; want 1 member and 1100m", len(spec.Members), demand.FromResourceVector(spec.Size))
	}
	// Removing the last member drops the partition.
	if got := c.remove("b"); got != a {
		t.Errorf("remove(b) = %q, want %q", got, a)
	}
	if _, _, ok := c.spec(a); ok {
		t.Error("empty partition still in the cache")
	}
	if v := c.view("n1"); v == nil || len(v.parts) != 1 || v.parts[0].name != "n1-batch-0" {
		t.Errorf("node view after removal = %+v, want only n1-batch-0", v)
	}
	// Adoption takes a bound pod whatever the budget, without headroom.
	if name := c.adopt("c", "ns", "c", cacheInput("n1", "batch", certain(3500, 1<<30), pol)); name != "n1-batch-0" {
		t.Errorf("adopt(c) = %q, want n1-batch-0", name)
	}
	if name := c.adopt("c", "ns", "c", cacheInput("n1", "batch", certain(3500, 1<<30), pol)); name != "" {
		t.Errorf("adopting a member again = %q, want nothing", name)
	}
	if spec, _, _ := c.spec("n1-batch-0"); demand.FromResourceVector(spec.Size)[demand.CPU] != 4500 {
		t.Errorf("batch partition after adoption: size %v, want 4500m (its members' demand)", demand.FromResourceVector(spec.Size))
	}
	// Node deletion drops its partitions.
	if names := c.removeNode("n1"); len(names) != 1 {
		t.Errorf("removeNode = %v, want one partition", names)
	}
	if _, ok := c.partitionOf("c"); ok {
		t.Error("member of a deleted node's partition still indexed")
	}
}

func TestSqueezeGivesHeadroomToANewPod(t *testing.T) {
	c := newPartitionCache()
	pol := poolPolicy{HeadroomPercent: 50}
	// 2 CPU of batch with 50% headroom takes 3 of the node's 4 CPUs.
	if _, _, err := c.reserve("a", "ns", "a", cacheInput("n1", "batch", certain(2000, 1<<30), pol)); err != nil {
		t.Fatal(err)
	}
	// A 2-CPU standard pod fits only if batch's headroom gives way.
	in := cacheInput("n1", "standard", certain(2000, 1<<30), pol)
	if res := c.fit(in); res.placement.Kind != placeNew {
		t.Fatalf("fit = %v (%s), want a new partition", res.placement.Kind, res.reason)
	}
	name, squeezed, err := c.reserve("b", "ns", "b", in)
	if err != nil {
		t.Fatal(err)
	}
	if len(squeezed) != 1 || squeezed[0] != "n1-batch-0" {
		t.Errorf("squeezed %v, want n1-batch-0", squeezed)
	}
	var total demand.Vector
	for _, n := range []string{name, "n1-batch-0"} {
		s, _, _ := c.spec(n)
		total = total.Add(demand.FromResourceVector(s.Size))
	}
	if total[demand.CPU] > 4000 {
		t.Errorf("partitions total %dm CPU, above the node's 4000m", total[demand.CPU])
	}
	// And a third pod has no room at all: refused by the overcommit bound
	// of original requests, and with 200% overcommit by the budget.
	third := cacheInput("n1", "standard", certain(100, 1<<20), pol)
	if res := c.fit(third); res.placement.Kind != placeNone || res.reason != ReasonOvercommitLimit {
		t.Errorf("third pod: %v %q, want refused for the overcommit limit", res.placement.Kind, res.reason)
	}
	third.maxRatioPercent = 200
	if res := c.fit(third); res.placement.Kind != placeNone || res.reason != ReasonPoolBudget {
		t.Errorf("third pod: %v %q, want refused for the budget", res.placement.Kind, res.reason)
	}
}

func TestLoadAndResizeKeepTheFloor(t *testing.T) {
	c := newPartitionCache()
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	obj := &foresightv1alpha1.Partition{
		ObjectMeta: metav1.ObjectMeta{Name: "n1-standard-0"},
		Spec: foresightv1alpha1.PartitionSpec{
			NodeName: "n1", PoolName: "fixed", SLAClass: "standard", Confidence: "0.99",
			Size: foresightv1alpha1.ResourceVector{CPU: q("3"), Memory: q("3Gi")},
			Members: []foresightv1alpha1.PartitionMember{
				{Namespace: "ns", Name: "a", UID: "a", Predicted: foresightv1alpha1.ResourceVector{CPU: q("1"), Memory: q("1Gi")}},
				{Namespace: "ns", Name: "b", UID: "b", Predicted: foresightv1alpha1.ResourceVector{CPU: q("1"), Memory: q("1Gi")}},
			},
		},
	}
	if !c.load(obj, poolPolicy{}) {
		t.Fatal("load refused a valid Partition")
	}
	if c.load(obj, poolPolicy{}) {
		t.Error("loaded the same Partition twice")
	}
	// Someone shrinks it below its members: the cache keeps their demand.
	if kept := c.resize("n1-standard-0", demand.Vector{500, 1 << 30}); !kept {
		t.Error("resize below the floor was not reported")
	}
	if s, _, _ := c.spec("n1-standard-0"); demand.FromResourceVector(s.Size) != (demand.Vector{2000, 2 << 30}) {
		t.Errorf("size after a resize below the floor = %v, want the members' 2 CPU / 2Gi", demand.FromResourceVector(s.Size))
	}
	bad := obj.DeepCopy()
	bad.Name, bad.Spec.Confidence = "bad", "high"
	if c.load(bad, poolPolicy{}) {
		t.Error("loaded a Partition with an invalid confidence")
	}
}
