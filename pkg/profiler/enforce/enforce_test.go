package enforce

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
)

func q(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }

func partition(size foresightv1alpha1.ResourceVector, members ...foresightv1alpha1.PartitionMember) *foresightv1alpha1.Partition {
	return &foresightv1alpha1.Partition{Spec: foresightv1alpha1.PartitionSpec{Size: size, Members: members}}
}

func TestPlan(t *testing.T) {
	pods := map[types.UID]string{"a": "/kubepods/burstable/poda", "b": "/kubepods/burstable/podb"}
	v1root := t.TempDir()
	for _, p := range pods {
		if err := os.MkdirAll(filepath.Join(v1root, "cpu", p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(v1root, "cpu", p, "cpu.cfs_period_us"), []byte("100000\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		layout discovery.Layout
		part   *foresightv1alpha1.Partition
		want   []Write
	}{
		{name: "v1 by predicted demand: a 1 core/1Gi, b 3 cores/3Gi of 2 cores/4Gi",
			layout: discovery.Layout{Mode: discovery.ModeHybrid, Root: v1root},
			part: partition(foresightv1alpha1.ResourceVector{CPU: q("2"), Memory: q("4Gi")},
				foresightv1alpha1.PartitionMember{UID: "a", Predicted: foresightv1alpha1.ResourceVector{CPU: q("1"), Memory: q("1Gi")}},
				foresightv1alpha1.PartitionMember{UID: "b", Predicted: foresightv1alpha1.ResourceVector{CPU: q("3"), Memory: q("3Gi")}}),
			want: []Write{
				{File: v1root + "/cpu/kubepods/burstable/poda/cpu.cfs_quota_us", Value: "50000"},
				{File: v1root + "/memory/kubepods/burstable/poda/memory.soft_limit_in_bytes", Value: "1073741824"},
				{File: v1root + "/cpu/kubepods/burstable/podb/cpu.cfs_quota_us", Value: "150000"},
				{File: v1root + "/memory/kubepods/burstable/podb/memory.soft_limit_in_bytes", Value: "3221225472"},
			}},
		{name: "v2 equal split when a prediction is missing; member off this node skipped",
			layout: discovery.Layout{Mode: discovery.ModeV2, Root: "/cg"},
			part: partition(foresightv1alpha1.ResourceVector{CPU: q("500m"), Memory: q("1Gi")},
				foresightv1alpha1.PartitionMember{UID: "a", Predicted: foresightv1alpha1.ResourceVector{CPU: q("1")}},
				foresightv1alpha1.PartitionMember{UID: "b"},
				foresightv1alpha1.PartitionMember{UID: "elsewhere"}),
			want: []Write{
				{File: "/cg/kubepods/burstable/poda/cpu.max", Value: "25000 100000"},
				{File: "/cg/kubepods/burstable/poda/memory.high", Value: "536870912"},
				{File: "/cg/kubepods/burstable/podb/cpu.max", Value: "25000 100000"},
				{File: "/cg/kubepods/burstable/podb/memory.high", Value: "536870912"},
			}},
		{name: "tiny CPU is raised to the kernel's minimum quota",
			layout: discovery.Layout{Mode: discovery.ModeV2, Root: "/cg"},
			part:   partition(foresightv1alpha1.ResourceVector{CPU: q("1m")}, foresightv1alpha1.PartitionMember{UID: "a"}),
			want:   []Write{{File: "/cg/kubepods/burstable/poda/cpu.max", Value: "1000 100000"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Plan(tc.layout, tc.part, pods)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Plan (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSync writes the Enforce partition's plan only: the DryRun and Off
// ones and the other node's are left alone.
func TestSync(t *testing.T) {
	root := t.TempDir()
	pods := map[types.UID]string{"a": "/pa", "b": "/pb", "c": "/pc"}
	for _, p := range pods {
		for f, v := range map[string]string{"cpu" + p + "/cpu.cfs_period_us": "100000", "cpu" + p + "/cpu.cfs_quota_us": "-1"} {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, f), []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk := func(name, node, pool string, uid types.UID) *foresightv1alpha1.Partition {
		p := partition(foresightv1alpha1.ResourceVector{CPU: q("3")}, foresightv1alpha1.PartitionMember{UID: uid})
		p.Name, p.Spec.NodeName, p.Spec.PoolName = name, node, pool
		return p
	}
	modes := map[string]foresightv1alpha1.EnforcementMode{"enf": foresightv1alpha1.EnforcementEnforce, "dry": foresightv1alpha1.EnforcementDryRun, "off": foresightv1alpha1.EnforcementOff}
	e := NewEnforcer()
	_, ctx := ktesting.NewTestContext(t)
	done, err := e.Sync(ctx, discovery.Layout{Mode: discovery.ModeV1, Root: root}, "n1",
		[]*foresightv1alpha1.Partition{mk("p1", "n1", "enf", "a"), mk("p2", "n1", "dry", "b"), mk("p3", "n1", "off", "c"), mk("p4", "n2", "enf", "c")},
		func(pool string) foresightv1alpha1.EnforcementMode { return modes[pool] }, pods)
	if err != nil {
		t.Fatal(err)
	}
	want := []Write{{File: root + "/cpu/pa/cpu.cfs_quota_us", Value: "300000"}}
	if diff := cmp.Diff(want, done); diff != "" {
		t.Errorf("Sync wrote (-want +got):\n%s", diff)
	}
	for p, v := range map[string]string{"pa": "300000", "pb": "-1", "pc": "-1"} {
		b, _ := os.ReadFile(filepath.Join(root, "cpu", p, "cpu.cfs_quota_us"))
		if string(b) != v {
			t.Errorf("%s quota = %s, want %s", p, b, v)
		}
	}
	if err := e.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "cpu", "pa", "cpu.cfs_quota_us")); string(b) != "-1" {
		t.Errorf("After restore pa quota = %s, want -1", b)
	}
}
