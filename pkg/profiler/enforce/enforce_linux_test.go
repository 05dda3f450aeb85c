package enforce

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2/ktesting"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
	"github.com/foresight-dev/foresight/pkg/profiler/internal/cgtest"
)

func TestMain(m *testing.M) {
	cgtest.MaybeRunHelper()
	os.Exit(m.Run())
}

func read(t *testing.T, f string) string {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestKernelEnforce writes a partition's size to real v1 pod cgroups,
// switches to dry run (which must restore), enforces again, loses a
// member (its files restored), and turns enforcement off.
func TestKernelEnforce(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	tr := cgtest.NewTree(t)
	relA, relB := "kubepods/burstable/poda", "kubepods/burstable/podb"
	tr.Mkdir(relA)
	tr.Mkdir(relB)
	l := discovery.Layout{Mode: discovery.ModeHybrid, Root: cgtest.Root}
	pods := map[types.UID]string{"a": tr.Path(relA), "b": tr.Path(relB)}
	part := partition(foresightv1alpha1.ResourceVector{CPU: q("1"), Memory: q("512Mi")},
		foresightv1alpha1.PartitionMember{UID: "a"}, foresightv1alpha1.PartitionMember{UID: "b"})
	quotaA := filepath.Join(cgtest.Root, "cpu", tr.Prefix, relA, "cpu.cfs_quota_us")
	softA := filepath.Join(cgtest.Root, "memory", tr.Prefix, relA, "memory.soft_limit_in_bytes")
	quotaB := filepath.Join(cgtest.Root, "cpu", tr.Prefix, relB, "cpu.cfs_quota_us")
	origQuota, origSoft := read(t, quotaA), read(t, softA)

	e := NewEnforcer()
	t.Cleanup(func() {
		if err := e.Restore(ctx); err != nil {
			t.Errorf("Restore: %v", err)
		}
	})
	plan, err := Plan(l, part, pods)
	if err != nil {
		t.Fatal(err)
	}
	check := func(step, quotaAWant, softAWant, quotaBWant string) {
		t.Helper()
		if got := read(t, quotaA); got != quotaAWant {
			t.Errorf("%s: a's quota = %s, want %s", step, got, quotaAWant)
		}
		if got := read(t, softA); got != softAWant {
			t.Errorf("%s: a's soft limit = %s, want %s", step, got, softAWant)
		}
		if got := read(t, quotaB); got != quotaBWant {
			t.Errorf("%s: b's quota = %s, want %s", step, got, quotaBWant)
		}
	}
	if w, err := e.Apply(ctx, foresightv1alpha1.EnforcementDryRun, plan); err != nil || len(w) != 4 {
		t.Fatalf("Dry run = %v, %v", w, err)
	}
	check("dry run", origQuota, origSoft, origQuota)
	if _, err := e.Apply(ctx, foresightv1alpha1.EnforcementEnforce, plan); err != nil {
		t.Fatal(err)
	}
	check("enforce", "50000", "268435456", "50000")
	if _, err := e.Apply(ctx, foresightv1alpha1.EnforcementDryRun, plan); err != nil {
		t.Fatal(err)
	}
	check("back to dry run", origQuota, origSoft, origQuota)
	if _, err := e.Apply(ctx, foresightv1alpha1.EnforcementEnforce, plan); err != nil {
		t.Fatal(err)
	}
	// b leaves the partition: a gets everything, b is restored.
	plan, err = Plan(l, partition(part.Spec.Size, foresightv1alpha1.PartitionMember{UID: "a"}), pods)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Apply(ctx, foresightv1alpha1.EnforcementEnforce, plan); err != nil {
		t.Fatal(err)
	}
	check("b left", "100000", "536870912", origQuota)
	if _, err := e.Apply(ctx, foresightv1alpha1.EnforcementOff, nil); err != nil {
		t.Fatal(err)
	}
	check("off", origQuota, origSoft, origQuota)
}
