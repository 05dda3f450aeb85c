package cgroups

import (
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/foresight-dev/foresight/pkg/profiler/internal/cgtest"
)

// fromContainerd is the Sample containerd/cgroups/v3's cgroup1 package
// reads for the same cgroup.
func fromContainerd(t testing.TB, path string) Sample {
	t.Helper()
	cg, err := cgroup1.Load(cgroup1.StaticPath(path))
	if err != nil {
		t.Fatalf("cgroup1.Load: %v", err)
	}
	m, err := cg.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		t.Fatalf("cgroup1 Stat: %v", err)
	}
	return Sample{
		CPUUsageNanos:         m.CPU.Usage.Total,
		CPUPeriods:            m.CPU.Throttling.Periods,
		CPUThrottledPeriods:   m.CPU.Throttling.ThrottledPeriods,
		CPUThrottledNanos:     m.CPU.Throttling.ThrottledTime,
		MemoryUsageBytes:      m.Memory.Usage.Usage,
		MemoryWorkingSetBytes: WorkingSet(m.Memory.Usage.Usage, m.Memory.TotalInactiveFile),
		MemoryRSSBytes:        m.Memory.TotalRSS,
		OOMKills:              m.MemoryOomControl.OomKill,
	}
}

// TestKernelMatchesContainerd runs a CPU burner (then stops it) and a
// memory allocator (then idle) in one container cgroup and compares the
// Reader with containerd/cgroups/v3's cgroup1 reading of the same cgroup:
// with the workload quiet the counters must be identical.
func TestKernelMatchesContainerd(t *testing.T) {
	tr := cgtest.NewTree(t)
	rel := "kubepods/burstable/pod1b4e28ba-2fa1-11d2-883f-0016d3cca427/" + ctrID
	tr.Mkdir(rel)
	alloc := tr.Start(rel, "alloc", strconv.Itoa(32))
	alloc.Step(t)
	alloc.Step(t)
	burn := tr.Start(rel, "burn")
	burn.Step(t)
	time.Sleep(300 * time.Millisecond)
	burn.Stop(t)
	r, err := Open(hostLayout, tr.Path(rel))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	got, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	want := fromContainerd(t, tr.Path(rel))
	// memory.usage_in_bytes is fuzzy by design (cgroup v1 docs: memory
	// charged in per-CPU batches of 64 pages), so two reads of an idle
	// cgroup may differ by up to a batch per CPU; everything else must be
	// identical.
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Sample{}, "Time", "HasPSI", "CPUPressureSomeMicros", "MemoryPressureSomeMicros", "MemoryPressureFullMicros",
		"MemoryUsageBytes", "MemoryWorkingSetBytes")); diff != "" {
		t.Errorf("Reader vs containerd/cgroups cgroup1 (-want +got):\n%s", diff)
	}
	fuzz := int64(64*os.Getpagesize()) * int64(runtime.NumCPU())
	for _, f := range []struct {
		name      string
		want, got uint64
	}{
		{"memory usage", want.MemoryUsageBytes, got.MemoryUsageBytes},
		{"working set", want.MemoryWorkingSetBytes, got.MemoryWorkingSetBytes},
	} {
		if d := int64(f.got) - int64(f.want); d > fuzz || d < -fuzz {
			t.Errorf("%s: Reader %d, containerd/cgroups %d: differ by %d bytes, more than the kernel's charge batches (%d)", f.name, f.got, f.want, d, fuzz)
		}
	}
	if got.CPUUsageNanos == 0 || got.MemoryRSSBytes < 32<<20 {
		t.Errorf("Workload not visible: %+v", got)
	}
}

// BenchmarkKernelRead reads one container cgroup's counters with the
// Reader (files kept open, pread) and, as the baseline, with
// containerd/cgroups/v3's cgroup1 Stat.
func BenchmarkKernelRead(b *testing.B) {
	tr := cgtest.NewTree(b)
	rel := "kubepods/burstable/pod1b4e28ba-2fa1-11d2-883f-0016d3cca427/" + ctrID
	tr.Mkdir(rel)
	b.Run("reader-pread", func(b *testing.B) {
		r, err := Open(hostLayout, tr.Path(rel))
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		for i := 0; i < b.N; i++ {
			if _, err := r.Read(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reader-pread-cpu-memory", func(b *testing.B) {
		// What the agent reads: CPU time and working set.
		r, err := OpenFields(hostLayout, tr.Path(rel), FieldCPU|FieldMemory)
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		for i := 0; i < b.N; i++ {
			if _, err := r.Read(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("containerd-cgroup1", func(b *testing.B) {
		cg, err := cgroup1.Load(cgroup1.StaticPath(tr.Path(rel)))
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
			if _, err := cg.Stat(cgroup1.IgnoreNotExist); err != nil {
				b.Fatal(err)
			}
		}
	})
}
