package main

import (
	"context"

	"k8s.io/klog/v2"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/profiler"
	"github.com/foresight-dev/foresight/pkg/profiler/ebpf"
)

// loadBPF loads what the kernel supports and reports the rest; the agent
// keeps running without eBPF when nothing loads.
func loadBPF(ctx context.Context, enabled, kernelStats bool, cgroupV2Root string) bpfState {
	logger := klog.FromContext(ctx)
	s := bpfState{close: func() {}}
	features := []string{ebpf.FeatureNetwork, ebpf.FeatureBlockIO, ebpf.FeatureSched}
	if !enabled {
		for _, f := range features {
			s.samplers = append(s.samplers, foresightv1alpha1.Sampler{Name: f, Message: "disabled by --ebpf=false"})
		}
		return s
	}
	p, err := ebpf.Load(ebpf.Options{CgroupDir: cgroupV2Root, KernelStats: kernelStats})
	if err != nil {
		logger.Error(err, "No eBPF program could be loaded; continuing with cgroup samplers only")
		for _, f := range features {
			s.samplers = append(s.samplers, foresightv1alpha1.Sampler{Name: f, Message: err.Error()})
		}
		return s
	}
	s.metrics.Features = map[string]bool{}
	for _, st := range p.Status() {
		sm := foresightv1alpha1.Sampler{Name: st.Feature, Active: st.Active}
		if st.Err != nil {
			sm.Message = st.Err.Error()
			logger.Info("eBPF feature not attached", "feature", st.Feature, "err", st.Err)
		}
		s.samplers = append(s.samplers, sm)
		s.metrics.Features[st.Feature] = st.Active
	}
	s.counters = p
	// Run-queue delay per container: the agent runs the task iterator
	// every --sched-interval (it needs the host PID namespace; without it
	// the feature is inactive and this returns nothing).
	s.sched = profiler.EBPFSched(p)
	s.metrics.Programs = func() []profiler.ProgramStat {
		var out []profiler.ProgramStat
		for _, ps := range p.ProgramStats() {
			out = append(out, profiler.ProgramStat(ps))
		}
		return out
	}
	s.close = func() {
		if err := p.Close(); err != nil {
			logger.Error(err, "Unloading eBPF programs failed")
		}
	}
	return s
}
