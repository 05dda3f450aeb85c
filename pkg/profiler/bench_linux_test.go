package profiler

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/klog/v2/ktesting"

	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
	"github.com/foresight-dev/foresight/pkg/profiler/ebpf"
	"github.com/foresight-dev/foresight/pkg/profiler/internal/cgtest"
	"github.com/foresight-dev/foresight/pkg/profiler/profile"
)

func cpuTime() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fillProfile gives a profile the history of a container of the given age
// (up to five weeks: every slot of every ring filled), with values spread
// over about 60 histogram buckets per resource (a constant would fill one).
func fillProfile(p *profile.Profile, now time.Time, age time.Duration, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	add := func(t time.Time) {
		p.Add(t, [profile.NumResources]float64{0.1 + 1.9*rng.Float64(), (100 + 1900*rng.Float64()) * (1 << 20), 1e6 * rng.Float64(), 1e6 * rng.Float64()})
	}
	t := now.Add(-age)
	for ; t.Before(now.Add(-24 * time.Hour)); t = t.Add(5 * time.Minute) {
		add(t)
	}
	for ; t.Before(now.Add(-time.Hour)); t = t.Add(time.Minute) {
		add(t)
	}
	for ; t.Before(now); t = t.Add(10 * time.Second) {
		add(t)
	}
}

// rssMiB is the resident set of the process, from /proc/self/status.
func rssMiB() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(string(v)), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkKernelAgent measures one sampling round (discovery, cgroup
// reads, eBPF map reads including one run of the scheduler task iterator,
// profile updates) over n simulated containers: real cgroups in the
// kubelet layout, one container per pod (the pod shares its container's
// profile), and at 100 containers also two per pod (the worst case since
// then: a pod profile beside every two container profiles). At a 1 s
// interval, the CPU time of one round is the agent's CPU share of one
// core. It also reports the Go heap in use and the process's resident set
// once every container and pod profile holds a day or five weeks (the
// bound) of history.
func BenchmarkKernelAgent(b *testing.B) {
	ages := []struct {
		name string
		d    time.Duration
	}{{"1d", 24 * time.Hour}, {"5w", profile.LongHistory}}
	for _, n := range []int{100, 250} {
		for _, age := range ages {
			b.Run(fmt.Sprintf("containers=%d/age=%s", n, age.name), func(b *testing.B) { benchAgent(b, n, 1, age.d) })
		}
	}
	b.Run("containers=100/per-pod=2/age=5w", func(b *testing.B) { benchAgent(b, 100, 2, profile.LongHistory) })
}

func benchAgent(b *testing.B, n, perPod int, age time.Duration) {
	_, ctx := ktesting.NewTestContext(b)
	tr := cgtest.NewTree(b)
	for i := 0; i < n; i++ {
		pod := i / perPod
		uid := fmt.Sprintf("%08x-0000-0000-0000-%012x", pod, pod)
		id := fmt.Sprintf("%064x", i)
		qos := []string{"", "burstable", "besteffort"}[pod%3]
		var rel string
		if pod%2 == 0 {
			slice := "kubepods.slice/kubepods-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice"
			if qos != "" {
				slice = "kubepods.slice/kubepods-" + qos + ".slice/kubepods-" + qos + "-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice"
			}
			rel = slice + "/cri-containerd-" + id + ".scope"
		} else {
			rel = filepath.Join("kubepods", qos, "pod"+uid, id)
		}
		tr.Mkdir(rel)
	}
	progs, err := ebpf.Load(ebpf.Options{CgroupDir: filepath.Join(cgtest.UnifiedRoot, tr.Prefix)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = progs.Close() })
	a, err := New(Config{Layout: discovery.Layout{Mode: discovery.ModeHybrid, Root: cgtest.Root}, Prefix: tr.Prefix, BPF: progs, Sched: EBPFSched(progs)})
	if err != nil {
		b.Fatal(err)
	}
	// Pod profiles are made at the second round (the first has no
	// previous sample to take a rate from).
	for range 2 {
		if err := a.Tick(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if got := len(a.Containers()); got != n || len(a.pods) != n/perPod {
		b.Fatalf("Agent has %d containers and %d pods, want %d and %d", got, len(a.pods), n, n/perPod)
	}
	// The history of containers and pods of that age, once per profile (a
	// pod of one container shares its container's).
	now := time.Now().Add(-time.Minute)
	seed := uint64(0)
	filled := map[*profile.Profile]bool{}
	for _, t := range a.ctrs {
		filled[t.prof] = false
	}
	for _, p := range a.pods {
		filled[p] = false
	}
	want := n + n/perPod
	if perPod == 1 {
		want = n
	}
	if len(filled) != want {
		b.Fatalf("Agent has %d profiles for %d containers in pods of %d", len(filled), n, perPod)
	}
	for p := range filled {
		seed++
		fillProfile(p, now, age, seed)
	}
	// FreeOSMemory collects and returns free pages, so that the resident
	// set is that of this run, not of the runs before it.
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap, rss := float64(ms.HeapInuse)/(1<<20), rssMiB()
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if i%10 == 0 {
			// At a 1 s interval the tree is walked every 10th round.
			a.lastWalk = time.Time{}
		}
		if err := a.Tick(ctx); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime() - c0
	b.StopTimer()
	// The scheduler counters' share of the round: one run of the task
	// iterator and one read of its map (wall time).
	sched := EBPFSched(progs)
	const schedRuns = 20
	s0 := time.Now()
	for range schedRuns {
		if _, err := sched(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(s0).Microseconds())/schedRuns, "sched-µs")
	b.ReportMetric(100*cpu.Seconds()/float64(b.N), "%core@1s")
	b.ReportMetric(heap, "heap-MiB")
	b.ReportMetric(rss, "rss-MiB")
	b.ReportMetric(float64(len(filled)), "profiles")
}
