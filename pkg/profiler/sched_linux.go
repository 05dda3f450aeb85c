package profiler

import "github.com/foresight-dev/foresight/pkg/profiler/ebpf"

// EBPFSched returns the scheduler counters of loaded eBPF programs as a
// SchedSource: each call runs the task iterator once.
func EBPFSched(p *ebpf.Programs) SchedSource {
	return func() (map[uint64]SchedCounters, error) {
		m, err := p.Sched()
		if m == nil || err != nil {
			return nil, err
		}
		out := make(map[uint64]SchedCounters, len(m))
		for id, c := range m {
			out[id] = SchedCounters{CPUNanos: c.CpuNs, RunQueueDelayNanos: c.RunqDelayNs, Arrivals: c.Switches}
		}
		return out, nil
	}
}
