package cgroups

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
	"github.com/foresight-dev/foresight/pkg/profiler/internal/cgtest"
)

func TestMain(m *testing.M) {
	cgtest.MaybeRunHelper()
	os.Exit(m.Run())
}

const (
	podUID = "1b4e28ba_2fa1_11d2_883f_0016d3cca427"
	ctrID  = "4c1a0b2e9d8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b"
)

var hostLayout = discovery.Layout{Mode: discovery.ModeHybrid, Root: cgtest.Root}

func within(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if want == 0 || math.Abs(got-want)/want > tol {
		t.Errorf("%s = %.0f, want %.0f within %.1f%% (off by %.2f%%)", what, got, want, tol*100, 100*math.Abs(got-want)/want)
	} else {
		t.Logf("%s = %.0f, reference %.0f (off by %.3f%%)", what, got, want, 100*math.Abs(got-want)/want)
	}
}

func v2CPUNanos(t *testing.T, tr *cgtest.Tree, rel string) float64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cgtest.UnifiedRoot, tr.Prefix, rel, "cpu.stat"))
	if err != nil {
		t.Fatal(err)
	}
	var v [1]uint64
	scanKV(b, []string{"usage_usec"}, v[:])
	return float64(v[0]) * 1000
}

// TestKernelCPU runs a CPU burner in a container cgroup (systemd layout,
// burstable) and compares the reader's CPU time with the burner's own
// rusage and with the v2 tree's independent cpu.stat accounting.
func TestKernelCPU(t *testing.T) {
	tr := cgtest.NewTree(t)
	rel := "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUID + ".slice/cri-containerd-" + ctrID + ".scope"
	tr.Mkdir(rel)
	p := tr.Start(rel, "burn")
	r, err := Open(hostLayout, tr.Path(rel))
	if err != nil {
		t.Fatal(err)
	}
	p.Step(t)
	time.Sleep(2 * time.Second) // long enough that the helper's start-up before it joined the v1 cgroups (a few ms) stays far below 2%
	cpu := p.Stop(t)
	s, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	within(t, "CPU time vs rusage (ns)", float64(s.CPUUsageNanos), float64(cpu.Nanoseconds()), 0.02)
	within(t, "CPU time vs v2 cpu.stat (ns)", float64(s.CPUUsageNanos), v2CPUNanos(t, tr, rel), 0.02)
	if !s.HasPSI {
		t.Errorf("No PSI read on a kernel with PSI")
	}
}

// TestKernelThrottling puts a 20% CFS quota on a burner's container and
// checks the throttling counters and the CPU rate.
func TestKernelThrottling(t *testing.T) {
	tr := cgtest.NewTree(t)
	rel := "kubepods/burstable/pod1b4e28ba-2fa1-11d2-883f-0016d3cca427/" + ctrID
	tr.Mkdir(rel)
	if err := os.WriteFile(filepath.Join(cgtest.Root, "cpu", tr.Prefix, rel, "cpu.cfs_quota_us"), []byte("20000"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := tr.Start(rel, "burn")
	r, err := Open(hostLayout, tr.Path(rel))
	if err != nil {
		t.Fatal(err)
	}
	p.Step(t)
	s0, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	s1, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if s1.CPUThrottledPeriods <= s0.CPUThrottledPeriods || s1.CPUThrottledNanos <= s0.CPUThrottledNanos {
		t.Errorf("Throttling counters did not grow: %+v then %+v", s0, s1)
	}
	// The quota caps the burner at 0.2 cores; on a loaded machine it may
	// get less (seen: 0.143 at load 5.7), never more.
	if c := CPUCores(s0, s1); c < 0.05 || c > 0.25 {
		t.Errorf("CPU under a 0.2-core quota = %.3f cores", c)
	}
}

// TestKernelMemory maps and touches a known amount of anonymous memory in
// a container cgroup and checks the change of working set and RSS.
func TestKernelMemory(t *testing.T) {
	const mib = 128
	tr := cgtest.NewTree(t)
	rel := "kubepods.slice/kubepods-pod" + podUID + ".slice/crio-" + ctrID + ".scope"
	tr.Mkdir(rel)
	p := tr.Start(rel, "alloc", strconv.Itoa(mib))
	r, err := Open(hostLayout, tr.Path(rel))
	if err != nil {
		t.Fatal(err)
	}
	p.Step(t)
	s0, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Step(t); got != "allocated" {
		t.Fatalf("Helper said %q", got)
	}
	s1, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	within(t, "working set growth (bytes)", float64(s1.MemoryWorkingSetBytes)-float64(s0.MemoryWorkingSetBytes), mib<<20, 0.02)
	within(t, "RSS growth (bytes)", float64(s1.MemoryRSSBytes)-float64(s0.MemoryRSSBytes), mib<<20, 0.02)
}

// TestKernelGone removes a container's cgroups and expects ErrGone.
func TestKernelGone(t *testing.T) {
	tr := cgtest.NewTree(t)
	rel := "kubepods/besteffort/pod1b4e28ba-2fa1-11d2-883f-0016d3cca427/" + ctrID
	tr.Mkdir(rel)
	r, err := Open(hostLayout, tr.Path(rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	for _, h := range append(cgtest.V1Hierarchies, "unified") {
		if err := os.Remove(filepath.Join(cgtest.Root, h, tr.Prefix, rel)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Read(); !errors.Is(err, ErrGone) {
		t.Errorf("Read after removal = %v, want ErrGone", err)
	}
	if _, err := Open(hostLayout, tr.Path(rel)); !errors.Is(err, ErrGone) {
		t.Errorf("Open after removal = %v, want ErrGone", err)
	}
}

func TestParse(t *testing.T) {
	t.Run("kv", func(t *testing.T) {
		got := []uint64{0, 0, 0, 99}
		scanKV([]byte("usage_usec 12\nuser_usec 7\nbogus\nname x\nnr_periods 3\nnr_throttled -1\n"), []string{"usage_usec", "nr_periods", "name", "missing"}, got)
		if diff := cmp.Diff([]uint64{12, 3, 0, 99}, got); diff != "" {
			t.Errorf("scanKV (-want +got):\n%s", diff)
		}
	})
	t.Run("uint", func(t *testing.T) {
		for _, tc := range []struct {
			in   string
			want uint64
			ok   bool
		}{{"0\n", 0, true}, {" 123456789\n", 123456789, true}, {"18446744073709551615", math.MaxUint64, true},
			{"18446744073709551616", 0, false}, {"", 0, false}, {"max\n", 0, false}, {"-1", 0, false}, {"1 2", 0, false}} {
			if got, ok := parseUint([]byte(tc.in)); got != tc.want || ok != tc.ok {
				t.Errorf("parseUint(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		}
	})
	t.Run("psi", func(t *testing.T) {
		got, ok := parsePSI([]byte("some avg10=0.00 avg60=0.00 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=56\n"))
		if !ok || got != [2]uint64{1234, 56} {
			t.Errorf("parsePSI = %v, %v", got, ok)
		}
		if _, ok := parsePSI([]byte(strings.Repeat("x", 10))); ok {
			t.Errorf("parsePSI of junk succeeded")
		}
	})
	t.Run("working set", func(t *testing.T) {
		if got := WorkingSet(100, 30); got != 70 {
			t.Errorf("WorkingSet(100, 30) = %d", got)
		}
		if got := WorkingSet(10, 30); got != 0 {
			t.Errorf("WorkingSet(10, 30) = %d", got)
		}
	})
}
