package profiler

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/klog/v2/ktesting"

	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
	"github.com/foresight-dev/foresight/pkg/profiler/ebpf"
	"github.com/foresight-dev/foresight/pkg/profiler/internal/cgtest"
	"github.com/foresight-dev/foresight/pkg/profiler/profile"
	"github.com/foresight-dev/foresight/pkg/profiler/store"
)

func TestMain(m *testing.M) {
	cgtest.MaybeRunHelper()
	os.Exit(m.Run())
}

const (
	uidA = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
	uidB = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
	idA  = "4c1a0b2e9d8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b"
	idB  = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func ticks(t *testing.T, ctx context.Context, a *Agent, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := a.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestKernelAgentLifecycle runs the agent over two simulated containers
// (systemd and cgroupfs layouts) with real workloads, restarts it from its
// store, and removes a container: its profile must leave memory, disk and
// metrics.
func TestKernelAgentLifecycle(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	tr := cgtest.NewTree(t)
	relA := "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(uidA, "-", "_") + ".slice/cri-containerd-" + idA + ".scope"
	relB := "kubepods/besteffort/pod" + uidB + "/" + idB
	tr.Mkdir(relA)
	tr.Mkdir(relB)
	burner := tr.Start(relA, "burn")
	burner.Step(t)
	alloc := tr.Start(relB, "alloc", "64")
	alloc.Step(t)
	alloc.Step(t)

	path := filepath.Join(t.TempDir(), "profiles.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	layout := discovery.Layout{Mode: discovery.ModeHybrid, Root: cgtest.Root}
	cfg := Config{NodeName: "node-a", Layout: layout, Prefix: tr.Prefix, Interval: 100 * time.Millisecond, Store: st, PublishContainers: true}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ticks(t, ctx, a, 6)
	keyA, keyB := uidA+"/"+idA, uidB+"/"+idB
	pa, ok := a.Profile(keyA)
	if !ok {
		t.Fatalf("Container A not tracked; have %v", a.Containers())
	}
	if pa.Current[profile.CPU] < 0.2 {
		t.Errorf("Burner uses %.3f cores, want a visible share of a core", pa.Current[profile.CPU])
	}
	pb, _ := a.Profile(keyB)
	if pb == nil || pb.Current[profile.Memory] < 64<<20 {
		t.Errorf("Allocator's working set = %v, want ≥ 64 MiB", pb)
	}
	status := a.Status(time.Now(), "test")
	if len(status.Pods) != 2 || len(status.Pods[0].Containers) != 1 {
		t.Fatalf("Status pods = %+v", status.Pods)
	}
	samplesBefore := pa.Samples

	// Restart: flush, close, reopen, continue.
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.Store = st
	a, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry(a, MetricsSources{})
	ticks(t, ctx, a, 3)
	pa, _ = a.Profile(keyA)
	// The first tick after a restart has no previous sample, so 2 of 3 add.
	if pa.Samples != samplesBefore+2 {
		t.Errorf("Samples after restart = %d, want %d continuing %d", pa.Samples, samplesBefore+2, samplesBefore)
	}
	if n := testutil.CollectAndCount(reg, "foresight_agent_container_usage"); n != 8 {
		t.Errorf("%d usage series for 2 containers, want 8", n)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "foresight_agent_container") || strings.HasPrefix(p.Metric, "foresight_agent_ebpf") || p.Metric == "foresight_agent_containers" {
			t.Errorf("Metric lint: %s: %s", p.Metric, p.Text)
		}
	}

	// Container B goes away.
	alloc.Stop(t)
	for _, h := range append(cgtest.V1Hierarchies, "unified") {
		if err := os.Remove(filepath.Join(cgtest.Root, h, tr.Prefix, relB)); err != nil {
			t.Fatal(err)
		}
	}
	ticks(t, ctx, a, 1)
	if _, ok := a.Profile(keyB); ok {
		t.Errorf("Gone container still in memory")
	}
	if _, ok := a.Profile("pod/" + uidB); ok {
		t.Errorf("Gone pod still in memory")
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	keys, err := st.Keys()
	if err != nil {
		t.Fatal(err)
	}
	// A's pod has one container: one profile, stored under the pod's key.
	want := []string{"pod/" + uidA}
	if !slices.Equal(keys, want) {
		t.Errorf("Stored keys = %v, want %v", keys, want)
	}
	if n := testutil.CollectAndCount(reg, "foresight_agent_container_usage"); n != 4 {
		t.Errorf("%d usage series after B left, want 4", n)
	}
}

// containerMetric returns the value of a per-container metric of the
// container with the given ID, and whether the registry has that series.
func containerMetric(t *testing.T, reg prometheus.Gatherer, name, id string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "container_id" && l.GetValue() == id {
					if c := m.GetCounter(); c != nil {
						return c.GetValue(), true
					}
					return m.GetGauge().GetValue(), true
				}
			}
		}
	}
	return 0, false
}

// TestKernelAgentRunQueueDelay runs CPU burners in two simulated containers
// (more of them than CPUs, so they wait on run queues), with the eBPF
// scheduler counters wired into the agent. Once the burners are stopped,
// the run-queue delay and CPU arrivals the agent exports for each
// container must equal the sums of /proc/<pid>/task/*/schedstat of its
// processes; when a container goes, its series must go with it.
func TestKernelAgentRunQueueDelay(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	tr := cgtest.NewTree(t)
	relA := "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(uidA, "-", "_") + ".slice/cri-containerd-" + idA + ".scope"
	relB := "kubepods/besteffort/pod" + uidB + "/" + idB
	tr.Mkdir(relA)
	tr.Mkdir(relB)
	progs, err := ebpf.Load(ebpf.Options{CgroupDir: filepath.Join(cgtest.UnifiedRoot, tr.Prefix)})
	if err != nil {
		t.Fatalf("Loading eBPF programs: %v", err)
	}
	t.Cleanup(func() {
		if err := progs.Close(); err != nil {
			t.Errorf("Closing eBPF programs: %v", err)
		}
	})
	for _, s := range progs.Status() {
		if s.Feature == ebpf.FeatureSched && !s.Active {
			t.Skipf("kernel test: the scheduler counters (task iterator, sched_process_exit/free) did not load: %v", s.Err)
		}
	}
	a, err := New(Config{Layout: discovery.Layout{Mode: discovery.ModeHybrid, Root: cgtest.Root}, Prefix: tr.Prefix,
		Interval: 100 * time.Millisecond, BPF: progs, Sched: EBPFSched(progs)})
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry(a, MetricsSources{})

	// NumCPU+1 burners in A and one in B contend for the CPUs.
	start := func(rel string, n int) ([]*cgtest.Proc, []int) {
		var procs []*cgtest.Proc
		var pids []int
		for i := 0; i < n; i++ {
			h := tr.Start(rel, "burn")
			h.Step(t)
			procs, pids = append(procs, h), append(pids, h.Cmd.Process.Pid)
		}
		return procs, pids
	}
	procsA, pidsA := start(relA, runtime.NumCPU()+1)
	_, pidsB := start(relB, 1)
	ticks(t, ctx, a, 8) // samples while they run
	cgtest.StopAll(t, append(slices.Clone(pidsA), pidsB...)...)
	want := map[string]cgtest.Schedstat{idA: cgtest.ReadSchedstat(t, pidsA...), idB: cgtest.ReadSchedstat(t, pidsB...)}
	ticks(t, ctx, a, 1)

	for _, id := range []string{idA, idB} {
		w := want[id]
		if w.RunDelayNanos == 0 {
			t.Errorf("Container %s…: no run-queue delay with %d burners on %d CPUs", id[:12], len(pidsA)+len(pidsB), runtime.NumCPU())
		}
		for _, m := range []struct {
			name string
			want float64
		}{
			{"foresight_agent_container_run_queue_delay_seconds_total", float64(w.RunDelayNanos) / 1e9},
			{"foresight_agent_container_cpu_arrivals_total", float64(w.Arrivals)},
		} {
			got, ok := containerMetric(t, reg, m.name, id)
			if !ok {
				t.Errorf("Container %s…: no %s series", id[:12], m.name)
				continue
			}
			// The processes are stopped: the counters are those of the
			// kernel, up to float rounding.
			if math.Abs(got-m.want) > 1e-6*m.want {
				t.Errorf("Container %s…: %s = %v, the kernel's schedstat sums to %v", id[:12], m.name, got, m.want)
			} else {
				t.Logf("Container %s…: %s = %v (schedstat %v)", id[:12], m.name, got, m.want)
			}
		}
	}
	problems, err := testutil.GatherAndLint(reg, "foresight_agent_container_run_queue_delay_seconds_total", "foresight_agent_container_cpu_arrivals_total")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("Metric lint: %s: %s", p.Metric, p.Text)
	}

	// Container A ends: its processes are reaped and its cgroups removed.
	for _, p := range procsA {
		p.Stop(t)
	}
	tr.Remove(relA)
	ticks(t, ctx, a, 1)
	for _, name := range []string{"foresight_agent_container_run_queue_delay_seconds_total", "foresight_agent_container_cpu_arrivals_total"} {
		if _, ok := containerMetric(t, reg, name, idA); ok {
			t.Errorf("%s of the gone container is still exported", name)
		}
		if _, ok := containerMetric(t, reg, name, idB); !ok {
			t.Errorf("%s of the remaining container is gone", name)
		}
	}
}
