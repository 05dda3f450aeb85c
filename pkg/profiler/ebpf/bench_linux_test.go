package ebpf

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/foresight-dev/foresight/pkg/profiler/internal/cgtest"
)

// BenchmarkKernelProgramCost runs a CPU burner in a container cgroup for
// b.N × 100 ms with every program attached and the kernel's BPF statistics
// on, starts a short-lived process and scrapes the scheduler counters
// (Sched) every 100 ms, and reports the kernel-measured nanoseconds per run
// of each program. Scheduler accounting attaches nothing to sched_switch;
// an empty sched_switch program runs beside the others as the baseline of
// what any program there would cost. It also reports the wall time of one
// scrape of the scheduler counters and how many tasks the iterator visited
// in it.
func BenchmarkKernelProgramCost(b *testing.B) {
	tr := cgtest.NewTree(b)
	tr.Mkdir(rel)
	p, err := Load(Options{CgroupDir: filepath.Join(cgtest.UnifiedRoot, tr.Prefix), KernelStats: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close() })
	spec, err := loadAgent()
	if err != nil {
		b.Fatal(err)
	}
	var empty struct {
		Prog *ebpf.Program `ebpf:"sched_switch_empty"`
	}
	if err := spec.LoadAndAssign(&empty, nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = empty.Prog.Close() })
	l, err := link.AttachTracing(link.TracingOptions{Program: empty.Prog})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close() })
	if _, err := p.Sched(); err != nil { // the first charge of every task
		b.Fatal(err)
	}
	iterRuns := func() uint64 {
		for _, s := range p.ProgramStats() {
			if s.Program == "charge_tasks" {
				return s.RunCount
			}
		}
		return 0
	}

	h := tr.Start(rel, "burn")
	h.Step(b)
	runs0 := iterRuns()
	var scrape time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		time.Sleep(100 * time.Millisecond)
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if _, err := p.Sched(); err != nil {
			b.Fatal(err)
		}
		scrape += time.Since(t0)
	}
	b.StopTimer()
	h.Stop(b)
	stats := p.ProgramStats()
	if st, err := empty.Prog.Stats(); err == nil {
		stats = append(stats, ProgramStat{Program: "sched_switch_empty", RunCount: st.RunCount, RunNanos: uint64(st.Runtime.Nanoseconds())})
	}
	for _, s := range stats {
		if s.RunCount > 0 {
			b.ReportMetric(float64(s.RunNanos)/float64(s.RunCount), "ns/run:"+s.Program)
		}
	}
	b.ReportMetric(float64(scrape.Nanoseconds())/float64(b.N), "ns/scrape")
	b.ReportMetric(float64(iterRuns()-runs0)/float64(b.N), "tasks/scrape")
}

// BenchmarkKernelMapRead reads the per-CPU network counters of n cgroups,
// as the agent does every sampling round, with batch lookups and, as the
// baseline, with a plain iteration (two system calls per entry).
func BenchmarkKernelMapRead(b *testing.B) {
	tr := cgtest.NewTree(b)
	p, err := Load(Options{CgroupDir: filepath.Join(cgtest.UnifiedRoot, tr.Prefix), Disable: []string{FeatureBlockIO, FeatureSched}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close() })
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		b.Fatal(err)
	}
	const n = 250
	vals := make([]NetCounters, ncpu)
	for i := range vals {
		vals[i] = NetCounters{RxBytes: 1000, RxPackets: 1, TxBytes: 2000, TxPackets: 2}
	}
	for id := uint64(1); id <= n; id++ {
		if err := p.net.Stats.Put(id<<20, vals); err != nil {
			b.Fatal(err)
		}
	}
	add := func(s *NetCounters, v NetCounters) { s.RxBytes += v.RxBytes }
	for _, bc := range []struct {
		name string
		read func(*ebpf.Map, func(*NetCounters, NetCounters)) (map[uint64]NetCounters, error)
	}{{"batch", sumPerCPU[NetCounters]}, {"iterate", iteratePerCPU[NetCounters]}} {
		b.Run(bc.name+"/cgroups=250", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				m, err := bc.read(p.net.Stats, add)
				if err != nil {
					b.Fatal(err)
				}
				if len(m) != n || m[1<<20].RxBytes != uint64(1000*ncpu) {
					b.Fatalf("Read %d entries, %+v", len(m), m[1<<20])
				}
			}
		})
	}
}
