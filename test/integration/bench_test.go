package integration

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"

	"github.com/foresight-dev/foresight/pkg/simulate"
	"github.com/foresight-dev/foresight/test/framework"
)

// defaultProfileConfig is kube-scheduler's default profile under the name
// the benchmark's pods ask for, the baseline the Foresight profile is
// compared with.
const defaultProfileConfig = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: foresight-scheduler
`

// benchSize reads the benchmark's size from the environment, so that `make
// bench-scheduler` runs the full size and a quick check can run a small one.
func benchSize(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkSchedulingThroughput creates nodes and pods on an in-process
// API server and measures how fast kube-scheduler's default profile and the
// Foresight profile bind them, in the same run (in the manner of upstream
// scheduler_perf): pods/s from the first creation to the last binding, and
// per-plugin latency percentiles from the scheduler's own
// plugin_execution_duration_seconds histogram (sampled by kube-scheduler
// on 10% of cycles). Sizes: FORESIGHT_BENCH_NODES (default 5000),
// FORESIGHT_BENCH_PODS (default 10000).
func BenchmarkSchedulingThroughput(b *testing.B) {
	nodes, pods := benchSize("FORESIGHT_BENCH_NODES", 5000), benchSize("FORESIGHT_BENCH_PODS", 10000)
	// Two runs of one profile differ by up to a third on the two-core VM
	// (its speed drifts over minutes; docs/benchmarks/scheduler.md, eighth
	// session): the profiles run in pairs, FORESIGHT_BENCH_ROUNDS times
	// (default 4), and the median of the pairs' ratios is the result.
	// The order alternates (default first in odd rounds, Foresight first
	// in even ones), so that whatever the first run of a pair leaves to
	// the second (heap, goroutines winding down) is charged to both
	// profiles alike; an even number of rounds balances it.
	rounds := benchSize("FORESIGHT_BENCH_ROUNDS", 4)
	type benchProfile struct {
		name   string
		config string // shipped configuration name, or raw YAML
		raw    bool
	}
	defaultProfile := benchProfile{name: "default", config: defaultProfileConfig, raw: true}
	foresightProfile := benchProfile{name: "foresight", config: "foresight-scheduler.yaml"}
	var ratios []float64
	for round := range rounds {
		rates := map[string]float64{}
		order := []benchProfile{defaultProfile, foresightProfile}
		if round%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, profile := range order {
			b.Run(fmt.Sprintf("round%d/%s/%dnodes-%dpods", round+1, profile.name, nodes, pods), func(b *testing.B) {
				for range b.N {
					label := fmt.Sprintf("round%d-%s", round+1, profile.name)
					rate, latencies := runThroughput(b, label, profile.config, profile.raw, nodes, pods)
					rates[profile.name] = rate
					b.ReportMetric(rate, "pods/s")
					for _, l := range latencies {
						b.Logf("%-22s %-10s p50=%8.1fµs p99=%8.1fµs samples=%d", l.plugin, l.point, l.p50*1e6, l.p99*1e6, l.count)
					}
				}
			})
		}
		if rates["default"] > 0 && rates["foresight"] > 0 {
			ratios = append(ratios, rates["foresight"]/rates["default"])
			b.Logf("round %d (%s first): Foresight/default = %.1f/%.1f pods/s = %.3f", round+1, order[0].name, rates["foresight"], rates["default"], ratios[len(ratios)-1])
		}
	}
	if len(ratios) > 0 {
		sorted := slices.Clone(ratios)
		slices.Sort(sorted)
		n := len(sorted)
		median := (sorted[(n-1)/2] + sorted[n/2]) / 2
		b.Logf("ratio of pods/s, Foresight/default, over %d rounds: median %.3f (all: %.3f)", n, median, ratios)
	}
}

func runThroughput(b *testing.B, label, config string, raw bool, nodes, pods int) (float64, []pluginLatency) {
	// kube-scheduler runs at -v=2 in production; the testing logger's
	// default (5) would measure log formatting, mostly of other lines than
	// the scheduler's: FORESIGHT_BENCH_V overrides it.
	logger := ktesting.NewLogger(b, ktesting.NewConfig(ktesting.Verbosity(benchSize("FORESIGHT_BENCH_V", 2))))
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logger))
	b.Cleanup(cancel)
	cp := framework.StartControlPlane(b)
	if err := cp.InstallCRDs(ctx); err != nil {
		b.Fatal(err)
	}
	perPool := nodes / 3
	// The dedicated pool carries the taint that keeps other pods off it
	// under every profile, as in the simulator (simulate.DedicatedTaint)
	// and as a cluster with a dedicated pool is run: both profiles then
	// solve the same problem. FORESIGHT_BENCH_UNTAINTED=1 leaves it off
	// (the setup of the benchmark's first four sessions), where the
	// default profile places pods on the dedicated nodes too.
	var dedicatedTaints []v1.Taint
	if os.Getenv("FORESIGHT_BENCH_UNTAINTED") != "1" {
		dedicatedTaints = []v1.Taint{{Key: simulate.DedicatedTaint, Value: "true", Effect: v1.TaintEffectNoSchedule}}
	}
	for i, p := range []framework.PoolSpec{
		{Name: "fixed", Tier: "fixed", Nodes: perPool, CPU: "16", Memory: "64Gi"},
		{Name: "variable", Tier: "variable", Nodes: perPool, CPU: "16", Memory: "64Gi"},
		{Name: "dedicated", Tier: "dedicated", Nodes: nodes - 2*perPool, CPU: "16", Memory: "64Gi", Taints: dedicatedTaints},
	} {
		if err := createPoolParallel(ctx, cp, p); err != nil {
			b.Fatalf("pool %d: %v", i, err)
		}
	}
	var sched *framework.Scheduler
	var err error
	if raw {
		sched, err = cp.StartSchedulerWithConfig(ctx, b, "default-profile.yaml", []byte(config))
	} else {
		sched, err = cp.StartScheduler(ctx, b, config)
	}
	if err != nil {
		b.Fatal(err)
	}
	before := gatherPluginHistograms(b)

	// Bindings are counted from a pod informer (as upstream scheduler_perf
	// does): polling with List costs the API server more the longer a
	// profile takes, which would charge the slower profile twice.
	var bound atomic.Int64
	factory := informers.NewSharedInformerFactoryWithOptions(cp.Kube, 0, informers.WithNamespace("default"))
	if _, err := factory.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if p, ok := obj.(*v1.Pod); ok && p.Spec.NodeName != "" {
				bound.Add(1)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*v1.Pod)
			n, ok2 := newObj.(*v1.Pod)
			if ok1 && ok2 && o.Spec.NodeName == "" && n.Spec.NodeName != "" {
				bound.Add(1)
			}
		},
	}); err != nil {
		b.Fatal(err)
	}
	informerCtx, stopInformer := context.WithCancel(ctx)
	defer stopInformer()
	factory.Start(informerCtx.Done())
	factory.WaitForCacheSync(informerCtx.Done())

	gcBefore := readGCMetrics()
	stopProfile := startBenchCPUProfile(b, label)
	b.ResetTimer()
	start := time.Now()
	classes := []string{"critical", "standard", "batch", "best-effort"}
	if err := createParallel(ctx, pods, func(ctx context.Context, i int) error {
		ns := "default"
		p := pod(ns, fmt.Sprintf("p-%d", i), classes[i%len(classes)], "100m", "256Mi")
		if classes[i%len(classes)] == "critical" {
			delete(p.Annotations, "foresight.dev/sla-class") // no TenantPolicy grants critical here
		}
		_, err := cp.Kube.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Minute, true, func(context.Context) (bool, error) {
		return bound.Load() >= int64(pods), nil
	})
	elapsed := time.Since(start)
	b.StopTimer()
	stopProfile()
	if err != nil {
		b.Fatalf("Waiting for %d pods to be bound: %v", pods, err)
	}
	gcAfter := readGCMetrics()
	b.Logf("process while binding: CPU %.1fs (GC %.1fs), %d GC cycles, live heap after %.0f MiB",
		gcAfter.cpu-gcBefore.cpu, gcAfter.gcCPU-gcBefore.gcCPU, gcAfter.cycles-gcBefore.cycles, gcAfter.liveHeap/(1<<20))
	latencies := pluginLatencies(before, gatherPluginHistograms(b))
	if !raw && os.Getenv("FORESIGHT_BENCH_SKIP_CATCHUP") != "1" {
		logPartitionCatchUp(ctx, b)
	}
	logSchedulerCounters(b)
	sched.Stop()
	return float64(pods) / elapsed.Seconds(), latencies
}

// startBenchCPUProfile writes a CPU profile of the whole process while the
// pods are created and bound, when FORESIGHT_BENCH_CPUPROFILE names a
// directory: one file per round and profile (DIR/round1-default.pprof),
// so that the two can be compared with `go tool pprof -diff_base`. Node
// creation and start-up stay out of it. A heap profile taken when the
// last pod is bound goes beside it (DIR/round1-default.heap.pprof).
func startBenchCPUProfile(b *testing.B, name string) (stop func()) {
	dir := os.Getenv("FORESIGHT_BENCH_CPUPROFILE")
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, name+".pprof"))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
		h, err := os.Create(filepath.Join(dir, name+".heap.pprof"))
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		if err := pprof.Lookup("heap").WriteTo(h, 0); err != nil {
			b.Error(err)
		}
		if err := h.Close(); err != nil {
			b.Error(err)
		}
	}
}

// gcMetrics are the process's CPU and GC figures from runtime/metrics:
// etcd, the API server, the scheduler and the clients share one process,
// so whatever one of them allocates makes the others' GC work too.
type gcMetrics struct {
	cpu, gcCPU, liveHeap float64
	cycles               uint64
}

func readGCMetrics() gcMetrics {
	samples := []metrics.Sample{
		{Name: "/cpu/classes/total:cpu-seconds"},
		{Name: "/cpu/classes/gc/total:cpu-seconds"},
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/gc/heap/live:bytes"},
		{Name: "/cpu/classes/idle:cpu-seconds"},
	}
	metrics.Read(samples)
	var m gcMetrics
	// CPU used: what GOMAXPROCS made available less what stayed idle.
	if samples[0].Value.Kind() == metrics.KindFloat64 && samples[4].Value.Kind() == metrics.KindFloat64 {
		m.cpu = samples[0].Value.Float64() - samples[4].Value.Float64()
	}
	if samples[1].Value.Kind() == metrics.KindFloat64 {
		m.gcCPU = samples[1].Value.Float64()
	}
	if samples[2].Value.Kind() == metrics.KindUint64 {
		m.cycles = samples[2].Value.Uint64()
	}
	if samples[3].Value.Kind() == metrics.KindUint64 {
		m.liveHeap = float64(samples[3].Value.Uint64())
	}
	return m
}

// logPartitionCatchUp (skipped with FORESIGHT_BENCH_SKIP_CATCHUP=1: at
// the default pace it takes minutes) reports the Partition writes made while pods were
// being bound and those still queued then (the writer is paced by
// PartitionWriteQPS, so a burst leaves some behind), and how long after
// the last binding the writes stopped: the time the Partition objects lag
// behind the scheduler after a burst like this one.
func logPartitionCatchUp(ctx context.Context, b *testing.B) {
	during := partitionWrites(b)
	bound := time.Now()
	last, lastChange := during, bound
	// Quiet for longer than a status write waits (statusDelay) and the
	// write debounce: the writer is done.
	for time.Since(lastChange) < 10*time.Second && ctx.Err() == nil {
		time.Sleep(250 * time.Millisecond)
		if n := partitionWrites(b); n != last {
			last, lastChange = n, time.Now()
		}
	}
	b.Logf("Partition writes: %.0f while binding, %.0f after; the last %.1fs after the last binding", during, last-during, lastChange.Sub(bound).Seconds())
}

// partitionWrites is the number of Partition writes the scheduler made.
func partitionWrites(b *testing.B) float64 {
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() == "foresight_scheduler_partition_writes_total" {
			for _, m := range f.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// createPoolParallel creates a pool's nodes with parallel workers: one at
// a time, 5,000 nodes take minutes.
func createPoolParallel(ctx context.Context, cp *framework.ControlPlane, p framework.PoolSpec) error {
	n := p.Nodes
	p.Nodes = 0
	if _, _, err := cp.CreatePool(ctx, p); err != nil {
		return err
	}
	return createParallel(ctx, n, func(ctx context.Context, i int) error {
		_, err := cp.CreateNode(ctx, fmt.Sprintf("%s-%d", p.Name, i), map[string]string{framework.PoolLabel: p.Name}, p.CPU, p.Memory, p.Taints...)
		return err
	})
}

func createParallel(ctx context.Context, n int, create func(context.Context, int) error) error {
	const workers = 32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := create(ctx, i); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

type histogram struct {
	bounds []float64 // upper bounds
	counts []uint64  // cumulative
}

type pluginLatency struct {
	plugin, point string
	p50, p99      float64
	count         uint64
}

// gatherPluginHistograms reads scheduler_plugin_execution_duration_seconds
// per plugin and extension point (all statuses added up).
func gatherPluginHistograms(b *testing.B) map[[2]string]histogram {
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		b.Fatal(err)
	}
	out := map[[2]string]histogram{}
	for _, f := range families {
		if f.GetName() != "scheduler_plugin_execution_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			key := [2]string{label(m, "plugin"), label(m, "extension_point")}
			h := out[key]
			buckets := m.GetHistogram().GetBucket()
			for i, bk := range buckets {
				if len(h.bounds) <= i {
					h.bounds = append(h.bounds, bk.GetUpperBound())
					h.counts = append(h.counts, 0)
				}
				h.counts[i] += bk.GetCumulativeCount()
			}
			// The +Inf bucket is the sample count.
			if len(h.bounds) == len(buckets) {
				h.bounds = append(h.bounds, math.Inf(1))
				h.counts = append(h.counts, 0)
			}
			h.counts[len(buckets)] += m.GetHistogram().GetSampleCount()
			out[key] = h
		}
	}
	return out
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// pluginLatencies returns the p50 and p99 of each plugin and extension
// point between two readings, interpolating linearly within buckets.
func pluginLatencies(before, after map[[2]string]histogram) []pluginLatency {
	var out []pluginLatency
	for key, a := range after {
		counts := make([]uint64, len(a.counts))
		copy(counts, a.counts)
		if bh, ok := before[key]; ok {
			for i := range counts {
				if i < len(bh.counts) {
					counts[i] -= bh.counts[i]
				}
			}
		}
		total := counts[len(counts)-1]
		switch key[1] {
		case "Filter", "Score", "PreFilter", "Reserve":
		default:
			continue
		}
		if total == 0 {
			continue
		}
		out = append(out, pluginLatency{plugin: key[0], point: key[1], p50: quantile(a.bounds, counts, 0.5), p99: quantile(a.bounds, counts, 0.99), count: total})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].point != out[j].point {
			return out[i].point < out[j].point
		}
		return out[i].plugin < out[j].plugin
	})
	return out
}

func quantile(bounds []float64, cumulative []uint64, q float64) float64 {
	total := float64(cumulative[len(cumulative)-1])
	rank := q * total
	lower, prev := 0.0, 0.0
	for i, c := range cumulative {
		if float64(c) >= rank {
			upper := bounds[i]
			if math.IsInf(upper, 1) {
				return lower
			}
			inBucket := float64(c) - prev
			if inBucket == 0 {
				return upper
			}
			return lower + (upper-lower)*(rank-prev)/inBucket
		}
		lower, prev = bounds[i], float64(c)
	}
	return lower
}

// logSchedulerCounters logs kube-scheduler's counters of scheduling
// attempts and opportunistic batching, cumulative over the process: they
// tell whether a slower profile ran more cycles.
func logSchedulerCounters(b *testing.B) {
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range families {
		name := f.GetName()
		if name == "scheduler_framework_extension_point_duration_seconds" || name == "scheduler_scheduling_attempt_duration_seconds" || name == "scheduler_scheduling_algorithm_duration_seconds" {
			for _, m := range f.GetMetric() {
				if h := m.GetHistogram(); h != nil && h.GetSampleCount() > 0 {
					b.Logf("histogram %s{%s,%s} count=%d mean=%.1fµs", name, label(m, "extension_point"), label(m, "result"), h.GetSampleCount(), h.GetSampleSum()/float64(h.GetSampleCount())*1e6)
				}
			}
			continue
		}
		if name == "apiserver_request_total" {
			// What each profile asks of the API server, by verb and
			// resource (both profiles' requests add up in one process).
			perKind := map[string]float64{}
			for _, m := range f.GetMetric() {
				perKind[label(m, "verb")+" "+label(m, "resource")+"/"+label(m, "subresource")] += m.GetCounter().GetValue()
			}
			kinds := make([]string, 0, len(perKind))
			for k := range perKind {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			for _, k := range kinds {
				if perKind[k] >= 100 {
					b.Logf("apiserver requests %-40s %.0f", k, perKind[k])
				}
			}
			continue
		}
		if name != "scheduler_schedule_attempts_total" && !strings.Contains(name, "batch") && !strings.HasPrefix(name, "foresight_scheduler_") {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			if c := m.GetCounter(); c != nil {
				b.Logf("counter %s{%s} = %.0f", name, strings.Join(labels, ","), c.GetValue())
			}
		}
	}
}
