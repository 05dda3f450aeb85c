package ebpf

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/foresight-dev/foresight/pkg/profiler/internal/cgtest"
)

// BenchmarkKernelProgramCost runs a CPU burner for b.N × 100 ms with every
// program attached and the kernel's BPF statistics on, beside an empty
// sched_switch program (the baseline), and reports the kernel-measured
// nanoseconds per run of each.
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

	h := tr.Start(rel, "burn")
	h.Step(b)
	b.ResetTimer()
	time.Sleep(time.Duration(b.N) * 100 * time.Millisecond)
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
}
