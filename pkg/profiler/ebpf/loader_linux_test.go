package ebpf

import (
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/foresight-dev/foresight/pkg/profiler/internal/cgtest"
)

func TestMain(m *testing.M) {
	cgtest.MaybeRunHelper()
	os.Exit(m.Run())
}

const rel = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b4e28ba_2fa1_11d2_883f_0016d3cca427.slice/cri-containerd-4c1a0b2e9d8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b.scope"

func load(t *testing.T, tr *cgtest.Tree) *Programs {
	t.Helper()
	p, err := Load(Options{CgroupDir: filepath.Join(cgtest.UnifiedRoot, tr.Prefix), KernelStats: true})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

func requireActive(t *testing.T, p *Programs, feature string) {
	t.Helper()
	for _, s := range p.Status() {
		if s.Feature == feature && !s.Active {
			t.Fatalf("%s did not load on this kernel: %v", feature, s.Err)
		}
	}
}

func logCost(t *testing.T, p *Programs) {
	for _, s := range p.ProgramStats() {
		if s.RunCount > 0 {
			t.Logf("%s: %d runs, %.0f ns per run", s.Program, s.RunCount, float64(s.RunNanos)/float64(s.RunCount))
		}
	}
}

// TestKernelNetwork sends UDP datagrams on loopback from a process in a
// container cgroup and expects exact egress packet and byte counts (IPv4
// header 20 + UDP header 8 + payload per datagram).
func TestKernelNetwork(t *testing.T) {
	tr := cgtest.NewTree(t)
	tr.Mkdir(rel)
	p := load(t, tr)
	requireActive(t, p, FeatureNetwork)

	rc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	const count, size = 500, 1000
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := rc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	h := tr.Start(rel, "udp", rc.LocalAddr().String(), strconv.Itoa(count), strconv.Itoa(size))
	if got := h.Step(t); got != "sent" {
		t.Fatalf("Helper said %q", got)
	}
	stats, err := p.Network()
	if err != nil {
		t.Fatal(err)
	}
	got := stats[tr.CgroupID(rel)]
	if got.TxPackets != count || got.TxBytes != count*(size+28) {
		t.Errorf("Egress = %d packets, %d bytes; want %d packets, %d bytes", got.TxPackets, got.TxBytes, count, count*(size+28))
	}
	if got.RxPackets != 0 {
		t.Errorf("Ingress = %d packets, want 0 (nothing was sent to the container)", got.RxPackets)
	}
	logCost(t, p)
}

// TestKernelBlockIO writes with O_DIRECT to a loop device from a process
// in a container cgroup and expects the exact number of bytes written.
func TestKernelBlockIO(t *testing.T) {
	if _, err := exec.LookPath("losetup"); err != nil {
		t.Skip("kernel test: losetup not installed")
	}
	tr := cgtest.NewTree(t)
	tr.Mkdir(rel)
	p := load(t, tr)
	requireActive(t, p, FeatureBlockIO)

	backing := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(backing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(backing, 32<<20); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", "--direct-io=on", backing).Output()
	if err != nil {
		t.Fatalf("losetup: %v", err)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v: %s", dev, err, out)
		}
	})
	const count, size = 64, 64 << 10
	h := tr.Start(rel, "dio", dev, strconv.Itoa(count), strconv.Itoa(size))
	if got := h.Step(t); got != "written" {
		t.Fatalf("Helper said %q", got)
	}
	stats, err := p.BlockIO()
	if err != nil {
		t.Fatal(err)
	}
	got := stats[tr.CgroupID(rel)]
	if got.WriteBytes != count*size {
		t.Errorf("Written = %d bytes, want %d", got.WriteBytes, count*size)
	}
	t.Logf("Block I/O of the container: %+v", got)
	logCost(t, p)
}

// TestKernelSched burns CPU in a container cgroup and compares the
// scheduler counters with the v2 tree's cpu.stat.
func TestKernelSched(t *testing.T) {
	tr := cgtest.NewTree(t)
	tr.Mkdir(rel)
	p := load(t, tr)
	requireActive(t, p, FeatureSched)

	h := tr.Start(rel, "burn")
	h.Step(t)
	time.Sleep(time.Second)
	h.Stop(t)
	stats, err := p.Sched()
	if err != nil {
		t.Fatal(err)
	}
	got := float64(stats[tr.CgroupID(rel)].CpuNs)
	b, err := os.ReadFile(filepath.Join(cgtest.UnifiedRoot, tr.Prefix, rel, "cpu.stat"))
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			want = n * 1000
		}
	}
	if want == 0 || math.Abs(got-want)/want > 0.02 {
		t.Errorf("CPU from the scheduler counters = %.0f ns, cpu.stat says %.0f ns", got, want)
	} else {
		t.Logf("CPU from the scheduler counters = %.0f ns, cpu.stat %.0f ns (off by %.3f%%)", got, want, 100*math.Abs(got-want)/want)
	}
	t.Logf("Run-queue delay %d ns over %d arrivals on a CPU", stats[tr.CgroupID(rel)].RunqDelayNs, stats[tr.CgroupID(rel)].Switches)
	logCost(t, p)
}

// TestKernelNetworkIngress sends UDP datagrams from the test process to a
// receiver in a container cgroup and expects exact ingress counts.
func TestKernelNetworkIngress(t *testing.T) {
	tr := cgtest.NewTree(t)
	tr.Mkdir(rel)
	p := load(t, tr)
	requireActive(t, p, FeatureNetwork)
	const count, size = 200, 700
	h := tr.Start(rel, "udprecv", strconv.Itoa(count))
	addr := h.Step(t)
	c, err := net.Dial("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	buf := make([]byte, size)
	done := make(chan string, 1)
	go func() { done <- h.Read(t) }()
	for i := 0; i < count; i++ {
		if _, err := c.Write(buf); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Microsecond) // stay under the receive buffer
	}
	select {
	case got := <-done:
		if got != "received" {
			t.Fatalf("Helper said %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Helper did not receive every datagram")
	}
	stats, err := p.Network()
	if err != nil {
		t.Fatal(err)
	}
	got := stats[tr.CgroupID(rel)]
	if got.RxPackets != count || got.RxBytes != count*(size+28) {
		t.Errorf("Ingress = %d packets, %d bytes; want %d packets, %d bytes", got.RxPackets, got.RxBytes, count, count*(size+28))
	}
}

// TestKernelNetworkTCP sends a known TCP payload from a container cgroup
// and expects the egress bytes (payload plus IP/TCP headers of few large
// loopback segments and the handshake) within 2% of the payload.
func TestKernelNetworkTCP(t *testing.T) {
	tr := cgtest.NewTree(t)
	tr.Mkdir(rel)
	p := load(t, tr)
	requireActive(t, p, FeatureNetwork)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	const payload = 8 << 20
	recv := make(chan int64, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			recv <- -1
			return
		}
		defer conn.Close()
		n, _ := io.Copy(io.Discard, conn)
		recv <- n
	}()
	h := tr.Start(rel, "tcp", ln.Addr().String(), strconv.Itoa(payload))
	if got := h.Step(t); got != "sent" {
		t.Fatalf("Helper said %q", got)
	}
	if n := <-recv; n != payload {
		t.Fatalf("Received %d bytes, want %d", n, payload)
	}
	stats, err := p.Network()
	if err != nil {
		t.Fatal(err)
	}
	got := float64(stats[tr.CgroupID(rel)].TxBytes)
	if math.Abs(got-payload)/payload > 0.02 {
		t.Errorf("TCP egress = %.0f bytes for a %d-byte payload, want within 2%%", got, payload)
	} else {
		t.Logf("TCP egress = %.0f bytes for a %d-byte payload (+%.3f%%)", got, payload, 100*(got-payload)/payload)
	}
}

// schedstat sums the kernel's own per-thread counters of processes
// (cgtest.ReadSchedstat) as the program's counters.
func schedstat(t *testing.T, pids ...int) SchedCounters {
	t.Helper()
	s := cgtest.ReadSchedstat(t, pids...)
	return SchedCounters{CpuNs: s.CPUNanos, RunqDelayNs: s.RunDelayNanos, Switches: s.Arrivals}
}

// TestKernelSchedRunQueue runs three CPU burners in one container cgroup
// on a two-CPU machine, so that they wait on run queues, and compares the
// cgroup's counters with the kernel's own accounting of those processes:
// exactly while they are stopped, and after one of them was killed
// between two scrapes (its last part is charged at exit, nothing is lost).
func TestKernelSchedRunQueue(t *testing.T) {
	tr := cgtest.NewTree(t)
	tr.Mkdir(rel)
	p := load(t, tr)
	requireActive(t, p, FeatureSched)
	id := tr.CgroupID(rel)

	var procs []*cgtest.Proc
	var pids []int
	for i := 0; i < 3; i++ {
		h := tr.Start(rel, "burn")
		h.Step(t)
		procs = append(procs, h)
		pids = append(pids, h.Cmd.Process.Pid)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := p.Sched(); err != nil { // a scrape while they run
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	cgtest.StopAll(t, pids...)
	want := schedstat(t, pids...)
	stats, err := p.Sched()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, stats[id]); diff != "" {
		t.Errorf("Counters of stopped processes differ from /proc/<pid>/task/*/schedstat (-want +got):\n%s", diff)
	}
	if want.RunqDelayNs == 0 {
		t.Errorf("No run-queue delay with three burners on %d CPUs", runtime.NumCPU())
	}
	t.Logf("Stopped: CPU %d ns, run-queue delay %d ns, %d arrivals", want.CpuNs, want.RunqDelayNs, want.Switches)

	// The first burner dies between scrapes: its time since the last one
	// is charged by sched_switch at its last switch.
	if err := syscall.Kill(pids[0], syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	cgtest.StopAll(t, pids[0])
	before := schedstat(t, pids...)
	procs[0].Stop(t)
	usage := cpuStatNanos(t, tr)
	// The last of the exit (after sched_process_exit) is charged when the
	// task is freed, one RCU grace period after it was reaped: wait for
	// it, then the CPU time equals cpu.stat's (which is in µs).
	var got SchedCounters
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		stats, err = p.Sched()
		if err != nil {
			t.Fatal(err)
		}
		got = stats[id]
		if got.CpuNs/1000 >= uint64(usage)/1000 || time.Now().After(deadline) {
			break
		}
	}
	if got.CpuNs/1000 != uint64(usage)/1000 {
		t.Errorf("After an exit, CPU = %d ns, cpu.stat says %.0f ns", got.CpuNs, usage)
	}
	if got.RunqDelayNs < before.RunqDelayNs || got.Switches < before.Switches {
		t.Errorf("After an exit, counters = %+v, less than the kernel's %+v before it", got, before)
	}
	t.Logf("After an exit: %+v; the kernel's before it %+v; cpu.stat %.0f ns", got, before, usage)
	logCost(t, p)
}

func cpuStatNanos(t *testing.T, tr *cgtest.Tree) float64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cgtest.UnifiedRoot, tr.Prefix, rel, "cpu.stat"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n * 1000
		}
	}
	t.Fatal("No usage_usec in cpu.stat")
	return 0
}
