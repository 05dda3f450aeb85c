package profiler

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/klog/v2/ktesting"

	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
	"github.com/foresight-dev/foresight/pkg/profiler/ebpf"
	"github.com/foresight-dev/foresight/pkg/profiler/internal/cgtest"
)

func cpuTime() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkKernelAgent measures one sampling round (discovery, cgroup
// reads, eBPF map reads, profile updates) over n simulated containers: real
// cgroups in the kubelet layout. At a 1 s interval, the CPU time of one
// round is the agent's CPU share of one core. It also reports the heap the
// profiles of n containers hold once their rings are full.
func BenchmarkKernelAgent(b *testing.B) {
	for _, n := range []int{100, 250} {
		b.Run(fmt.Sprintf("containers=%d", n), func(b *testing.B) {
			_, ctx := ktesting.NewTestContext(b)
			tr := cgtest.NewTree(b)
			for i := 0; i < n; i++ {
				uid := fmt.Sprintf("%08x-0000-0000-0000-%012x", i, i)
				id := fmt.Sprintf("%064x", i)
				qos := []string{"", "burstable", "besteffort"}[i%3]
				var rel string
				if i%2 == 0 {
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
			a, err := New(Config{Layout: discovery.Layout{Mode: discovery.ModeHybrid, Root: cgtest.Root}, Prefix: tr.Prefix, BPF: progs})
			if err != nil {
				b.Fatal(err)
			}
			if err := a.Tick(ctx); err != nil {
				b.Fatal(err)
			}
			if got := len(a.Containers()); got != n {
				b.Fatalf("Agent found %d containers, want %d", got, n)
			}
			// Fill every ring slot so the heap is at its bound.
			now := time.Now()
			for _, t := range a.ctrs {
				for s := 0; s < 7*24*12; s++ {
					t.prof.Add(now.Add(-time.Duration(s)*5*time.Minute), [4]float64{0.5, 1 << 30, 1e6, 1e6})
				}
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap := float64(ms.HeapInuse) / (1 << 20)
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
			b.ReportMetric(100*cpu.Seconds()/float64(b.N), "%core@1s")
			b.ReportMetric(heap, "heap-MiB")
		})
	}
}
