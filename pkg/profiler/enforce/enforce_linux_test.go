package enforce

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2/ktesting"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
	"github.com/foresight-dev/foresight/pkg/profiler/internal/cgtest"
	"github.com/foresight-dev/foresight/pkg/profiler/store"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChild()
	}
	cgtest.MaybeRunHelper()
	os.Exit(m.Run())
}

// childEnv makes the test binary an agent that enforces the JSON plan in
// the variable with a store at childStoreEnv, says "applied" and waits to
// be killed.
const (
	childEnv      = "FORESIGHT_ENFORCE_CHILD_PLAN"
	childStoreEnv = "FORESIGHT_ENFORCE_CHILD_STORE"
)

func runChild() {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var plan []Write
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &plan); err != nil {
		fail(err)
	}
	st, err := store.Open(os.Getenv(childStoreEnv))
	if err != nil {
		fail(err)
	}
	e, err := NewPersistentEnforcer(st)
	if err != nil {
		fail(err)
	}
	if _, err := e.Apply(context.Background(), foresightv1alpha1.EnforcementEnforce, plan); err != nil {
		fail(err)
	}
	fmt.Println("applied")
	select {}
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

// TestKernelRestoreAfterKill enforces a partition on real v1 pod cgroups
// from an agent process that is then killed with SIGKILL (no cleanup
// runs), and expects the next agent, built from the same store, to find
// the originals, keep them through a further Enforce, and write them back
// when enforcement is turned off.
func TestKernelRestoreAfterKill(t *testing.T) {
	cgtest.RequireHybridRoot(t)
	_, ctx := ktesting.NewTestContext(t)
	tr := cgtest.NewTree(t)
	rel := "kubepods/burstable/poda"
	tr.Mkdir(rel)
	l := discovery.Layout{Mode: discovery.ModeHybrid, Root: cgtest.Root}
	pods := map[types.UID]string{"a": tr.Path(rel)}
	plan, err := Plan(l, partition(foresightv1alpha1.ResourceVector{CPU: q("1500m"), Memory: q("256Mi")}, foresightv1alpha1.PartitionMember{UID: "a"}), pods)
	if err != nil {
		t.Fatal(err)
	}
	quota := filepath.Join(cgtest.Root, "cpu", tr.Prefix, rel, "cpu.cfs_quota_us")
	soft := filepath.Join(cgtest.Root, "memory", tr.Prefix, rel, "memory.soft_limit_in_bytes")
	origQuota, origSoft := read(t, quota), read(t, soft)
	dbPath := filepath.Join(t.TempDir(), "profiles.db")

	// The first agent enforces and is killed.
	b, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+string(b), childStoreEnv+"="+dbPath)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "applied\n" {
		t.Fatalf("Agent said %q, %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	killed = true
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("Agent ended with %v, want killed by SIGKILL", err)
	}
	if got := read(t, quota); got != "150000" {
		t.Fatalf("After the kill the quota is %s, want the enforced 150000", got)
	}
	if got := read(t, soft); got != "268435456" {
		t.Fatalf("After the kill the soft limit is %s, want the enforced 268435456", got)
	}

	// The next agent starts from the same store.
	st, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e, err := NewPersistentEnforcer(st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Restore(ctx); err != nil {
			t.Errorf("Restore: %v", err)
		}
	})
	if diff := cmp.Diff([]string{quota, soft}, e.Pending(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("Pending after restart (-want +got):\n%s", diff)
	}
	// Enforcing again must not take the enforced values for originals.
	if _, err := e.Apply(ctx, foresightv1alpha1.EnforcementEnforce, plan); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Apply(ctx, foresightv1alpha1.EnforcementOff, nil); err != nil {
		t.Fatal(err)
	}
	if got := read(t, quota); got != origQuota {
		t.Errorf("After Off the quota is %s, want the original %s", got, origQuota)
	}
	if got := read(t, soft); got != origSoft {
		t.Errorf("After Off the soft limit is %s, want the original %s", got, origSoft)
	}
	if left, err := st.Originals(); err != nil || len(left) != 0 {
		t.Errorf("Originals left in the store: %v, %v", left, err)
	}
}
