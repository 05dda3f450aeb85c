package profiler

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/foresight-dev/foresight/pkg/profiler/profile"
)

// ProgramStat is the kernel's accounting of one eBPF program.
type ProgramStat struct {
	Program  string
	RunCount uint64
	RunNanos uint64
}

// MetricsSources are what the collector reads at scrape time besides the
// agent.
type MetricsSources struct {
	// Features maps each eBPF feature to whether it is attached.
	Features map[string]bool
	// Programs returns per-program kernel statistics; nil if unavailable.
	Programs func() []ProgramStat
}

type collector struct {
	a   *Agent
	src MetricsSources

	usage, runqDelay, arrivals, samples, errors, ticks, dropped, containers, attached, runs, runtime *prometheus.Desc
}

const ns = "foresight_agent"

// NewRegistry returns a registry with the agent's metrics (read from the
// agent at scrape time, so gone containers vanish with them), the process
// and Go runtime collectors, all under foresight_agent_.
func NewRegistry(a *Agent, src MetricsSources) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&collector{
		a: a, src: src,
		usage: prometheus.NewDesc(ns+"_container_usage", "Latest usage of a container: cpu in cores, memory working set in bytes, disk_io and network in bytes per second.",
			[]string{"pod_uid", "container_id", "resource"}, nil),
		runqDelay: prometheus.NewDesc(ns+"_container_run_queue_delay_seconds_total",
			"Time the container's tasks waited on a CPU run queue (the kernel's sched_info.run_delay, charged per cgroup by the eBPF task iterator).",
			[]string{"pod_uid", "container_id"}, nil),
		arrivals: prometheus.NewDesc(ns+"_container_cpu_arrivals_total",
			"Times a task of the container was put on a CPU (the kernel's sched_info.pcount); the run-queue delay over this is the mean wait.",
			[]string{"pod_uid", "container_id"}, nil),
		samples:    prometheus.NewDesc(ns+"_samples_total", "Container cgroup samples taken.", nil, nil),
		errors:     prometheus.NewDesc(ns+"_sample_errors_total", "Container samples that failed.", nil, nil),
		ticks:      prometheus.NewDesc(ns+"_ticks_total", "Sampling rounds.", nil, nil),
		dropped:    prometheus.NewDesc(ns+"_dropped_profiles_total", "Profiles dropped because their container or pod went away.", nil, nil),
		containers: prometheus.NewDesc(ns+"_containers", "Containers tracked.", nil, nil),
		attached:   prometheus.NewDesc(ns+"_ebpf_feature_attached", "1 if the eBPF feature is attached, 0 if the kernel refused it.", []string{"feature"}, nil),
		runs:       prometheus.NewDesc(ns+"_ebpf_program_runs_total", "Runs of an eBPF program (kernel BPF statistics).", []string{"program"}, nil),
		runtime:    prometheus.NewDesc(ns+"_ebpf_program_run_seconds_total", "Time spent in an eBPF program (kernel BPF statistics).", []string{"program"}, nil),
	})
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: ns}))
	prometheus.WrapRegistererWithPrefix(ns+"_", reg).MustRegister(collectors.NewGoCollector())
	return reg
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.usage, c.runqDelay, c.arrivals, c.samples, c.errors, c.ticks, c.dropped, c.containers, c.attached, c.runs, c.runtime} {
		ch <- d
	}
}

var resourceLabels = [profile.NumResources]string{"cpu", "memory", "disk_io", "network"}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctrs := c.a.Containers()
	for _, cu := range ctrs {
		for r, v := range cu.Usage {
			ch <- prometheus.MustNewConstMetric(c.usage, prometheus.GaugeValue, v, cu.Container.PodUID, cu.Container.ID, resourceLabels[r])
		}
		if cu.HasSched {
			ch <- prometheus.MustNewConstMetric(c.runqDelay, prometheus.CounterValue, float64(cu.Sched.RunQueueDelayNanos)/1e9, cu.Container.PodUID, cu.Container.ID)
			ch <- prometheus.MustNewConstMetric(c.arrivals, prometheus.CounterValue, float64(cu.Sched.Arrivals), cu.Container.PodUID, cu.Container.ID)
		}
	}
	st := c.a.Stats()
	ch <- prometheus.MustNewConstMetric(c.samples, prometheus.CounterValue, float64(st.Samples))
	ch <- prometheus.MustNewConstMetric(c.errors, prometheus.CounterValue, float64(st.SampleErrors))
	ch <- prometheus.MustNewConstMetric(c.ticks, prometheus.CounterValue, float64(st.Ticks))
	ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(st.Dropped))
	ch <- prometheus.MustNewConstMetric(c.containers, prometheus.GaugeValue, float64(len(ctrs)))
	for f, ok := range c.src.Features {
		v := 0.0
		if ok {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.attached, prometheus.GaugeValue, v, f)
	}
	if c.src.Programs != nil {
		for _, p := range c.src.Programs() {
			ch <- prometheus.MustNewConstMetric(c.runs, prometheus.CounterValue, float64(p.RunCount), p.Program)
			ch <- prometheus.MustNewConstMetric(c.runtime, prometheus.CounterValue, float64(p.RunNanos)/1e9, p.Program)
		}
	}
}
