package cgtest

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Root is the host's cgroup mount root.
const Root = "/sys/fs/cgroup"

// V1Hierarchies are the v1 hierarchies test cgroups are made in.
var V1Hierarchies = []string{"cpu", "cpuacct", "memory", "blkio"}

// UnifiedRoot is the v2 tree of this hybrid host.
const UnifiedRoot = Root + "/unified"

// RequireHybridRoot skips t unless it runs as root on a host whose cgroup
// layout has the v1 hierarchies and the v2 tree the tests need.
func RequireHybridRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("kernel test: needs root to create cgroups")
	}
	for _, h := range V1Hierarchies {
		if _, err := os.Stat(filepath.Join(Root, h, "cgroup.procs")); err != nil {
			t.Skipf("kernel test: cgroup v1 hierarchy %s not mounted: %v", h, err)
		}
	}
	if _, err := os.Stat(filepath.Join(UnifiedRoot, "cgroup.controllers")); err != nil {
		t.Skipf("kernel test: no cgroup v2 tree at %s: %v", UnifiedRoot, err)
	}
}

// Tree is a set of test cgroups below a unique prefix, in every v1
// hierarchy of V1Hierarchies and in the v2 tree.
type Tree struct {
	t      testing.TB
	Prefix string
}

// NewTree makes the prefix cgroup foresight-test-<random> and removes it,
// with everything made below it, when t ends.
func NewTree(t testing.TB) *Tree {
	t.Helper()
	RequireHybridRoot(t)
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	tr := &Tree{t: t, Prefix: "foresight-test-" + hex.EncodeToString(b)}
	t.Cleanup(func() {
		for _, r := range tr.roots() {
			if err := removeTree(filepath.Join(r, tr.Prefix)); err != nil {
				t.Errorf("Removing test cgroups: %v", err)
			}
		}
	})
	tr.Mkdir("")
	return tr
}

func (tr *Tree) roots() []string {
	var out []string
	for _, h := range V1Hierarchies {
		out = append(out, filepath.Join(Root, h))
	}
	return append(out, UnifiedRoot)
}

// Mkdir makes rel (relative to the prefix) in every hierarchy.
func (tr *Tree) Mkdir(rel string) {
	tr.t.Helper()
	for _, r := range tr.roots() {
		if err := os.MkdirAll(filepath.Join(r, tr.Prefix, rel), 0o755); err != nil {
			tr.t.Fatalf("Making test cgroup: %v", err)
		}
	}
}

// Path is rel's path relative to a hierarchy root, starting with a slash.
func (tr *Tree) Path(rel string) string { return "/" + tr.Prefix + "/" + strings.Trim(rel, "/") }

// removeTree removes a cgroup directory and its children bottom-up; a
// cgroup still holding processes is retried briefly (exits are
// asynchronous).
func removeTree(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		var rerr error
		for try := 0; try < 50; try++ {
			if rerr = unix.Rmdir(dirs[i]); rerr == nil || errors.Is(rerr, unix.ENOENT) {
				rerr = nil
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if rerr != nil {
			return fmt.Errorf("rmdir %s: %w", dirs[i], rerr)
		}
	}
	return nil
}

// CgroupID is the v2 cgroup ID (the directory's inode) of rel.
func (tr *Tree) CgroupID(rel string) uint64 {
	tr.t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(UnifiedRoot, tr.Prefix, rel), &st); err != nil {
		tr.t.Fatal(err)
	}
	return st.Ino
}

// Proc is a helper process running in a test cgroup.
type Proc struct {
	Cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// Start runs the test binary as a helper (see MaybeRunHelper) with args in
// cgroup rel: it is born in the v2 cgroup (CLONE_INTO_CGROUP) and moved
// into the v1 cgroups before it is told to start working. It is killed and
// reaped when t ends.
func (tr *Tree) Start(rel string, args ...string) *Proc {
	tr.t.Helper()
	dir, err := os.Open(filepath.Join(UnifiedRoot, tr.Prefix, rel))
	if err != nil {
		tr.t.Fatal(err)
	}
	defer dir.Close()
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.Env = append(os.Environ(), helperEnv+"=1", "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dir.Fd()), Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		tr.t.Fatal(err)
	}
	outR, err := cmd.StdoutPipe()
	if err != nil {
		tr.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tr.t.Fatalf("Starting helper: %v", err)
	}
	p := &Proc{Cmd: cmd, in: in, out: bufio.NewReader(outR)}
	tr.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for _, h := range V1Hierarchies {
		f := filepath.Join(Root, h, tr.Prefix, rel, "cgroup.procs")
		if err := os.WriteFile(f, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
			tr.t.Fatalf("Moving helper into %s: %v", f, err)
		}
	}
	return p
}

// Step tells the helper to do its next step and waits for its reply line.
func (p *Proc) Step(t testing.TB) string {
	t.Helper()
	if _, err := io.WriteString(p.in, "go\n"); err != nil {
		t.Fatalf("Writing to helper: %v", err)
	}
	line, err := p.out.ReadString('\n')
	if err != nil {
		t.Fatalf("Reading from helper: %v", err)
	}
	return strings.TrimSpace(line)
}

// Read waits for the helper's next reply line without sending a step.
func (p *Proc) Read(t testing.TB) string {
	line, err := p.out.ReadString('\n')
	if err != nil {
		t.Errorf("Reading from helper: %v", err)
	}
	return strings.TrimSpace(line)
}

// Stop kills the helper and returns its CPU time (user + system).
func (p *Proc) Stop(t testing.TB) time.Duration {
	t.Helper()
	_ = p.Cmd.Process.Kill()
	_ = p.Cmd.Wait()
	return p.Cmd.ProcessState.UserTime() + p.Cmd.ProcessState.SystemTime()
}

const helperEnv = "FORESIGHT_CGTEST_HELPER"

// MaybeRunHelper runs the helper workload and exits when the process is a
// helper started by Start; call it first in TestMain. Workloads:
//
//	burn                         wait for a step, then spin until killed
//	alloc <MiB>                  step: reply; step: map and touch MiB, reply; then block
//	udp <addr> <count> <size>    step: send count datagrams of size bytes, reply
//	dio <file> <count> <size>    step: write count blocks of size with O_DIRECT, reply
//	udprecv <count>              step: bind 127.0.0.1:0, reply its address; then reply "received" after count datagrams
//	tcp <addr> <bytes>           step: connect, send bytes, close, reply
func MaybeRunHelper() {
	if os.Getenv(helperEnv) == "" {
		return
	}
	if err := runHelper(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

func runHelper(args []string) error {
	in := bufio.NewReader(os.Stdin)
	wait := func() error { _, err := in.ReadString('\n'); return err }
	reply := func(s string) { fmt.Println(s) }
	if len(args) == 0 {
		return errors.New("no workload")
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	switch args[0] {
	case "burn":
		if err := wait(); err != nil {
			return err
		}
		reply("burning")
		x := uint64(1)
		for {
			x = x*6364136223846793005 + 1442695040888963407
		}
	case "alloc":
		if err := wait(); err != nil {
			return err
		}
		reply("ready")
		if err := wait(); err != nil {
			return err
		}
		n := atoi(args[1]) << 20
		mem, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
		if err != nil {
			return err
		}
		for i := 0; i < n; i += 4096 {
			mem[i] = 1
		}
		reply("allocated")
		_ = wait() // block until killed
		return nil
	case "udp":
		if err := wait(); err != nil {
			return err
		}
		c, err := net.Dial("udp", args[1])
		if err != nil {
			return err
		}
		buf := make([]byte, atoi(args[3]))
		for i := 0; i < atoi(args[2]); i++ {
			if _, err := c.Write(buf); err != nil {
				return err
			}
		}
		c.Close()
		reply("sent")
		_ = wait()
		return nil
	case "udprecv":
		if err := wait(); err != nil {
			return err
		}
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		reply(c.LocalAddr().String())
		buf := make([]byte, 65536)
		for i := 0; i < atoi(args[1]); i++ {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return err
			}
		}
		reply("received")
		_ = wait()
		return nil
	case "tcp":
		if err := wait(); err != nil {
			return err
		}
		c, err := net.Dial("tcp", args[1])
		if err != nil {
			return err
		}
		buf := make([]byte, 1<<16)
		for left := atoi(args[2]); left > 0; {
			n := min(left, len(buf))
			if _, err := c.Write(buf[:n]); err != nil {
				return err
			}
			left -= n
		}
		if err := c.Close(); err != nil {
			return err
		}
		reply("sent")
		_ = wait()
		return nil
	case "dio":
		if err := wait(); err != nil {
			return err
		}
		f, err := os.OpenFile(args[1], os.O_WRONLY|unix.O_DIRECT, 0)
		if err != nil {
			return err
		}
		size := atoi(args[3])
		mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
		if err != nil {
			return err
		}
		for i := 0; i < atoi(args[2]); i++ {
			if _, err := f.WriteAt(mem, int64(i*size)); err != nil {
				return err
			}
		}
		f.Close()
		reply("written")
		_ = wait()
		return nil
	}
	return fmt.Errorf("unknown workload %q", args[0])
}

// Schedstat is the sum of the kernel's own scheduler counters of some
// processes' threads, from /proc/<pid>/task/<tid>/schedstat.
type Schedstat struct {
	// CPUNanos is se.sum_exec_runtime, RunDelayNanos sched_info.run_delay,
	// Arrivals sched_info.pcount.
	CPUNanos, RunDelayNanos, Arrivals uint64
}

// ReadSchedstat sums /proc/<pid>/task/*/schedstat over every thread of
// pids.
func ReadSchedstat(t testing.TB, pids ...int) Schedstat {
	t.Helper()
	var sum Schedstat
	for _, pid := range pids {
		files, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
		if err != nil || len(files) == 0 {
			t.Fatalf("No threads of %d: %v", pid, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var exec, delay, pcount uint64
			if _, err := fmt.Sscan(string(b), &exec, &delay, &pcount); err != nil {
				t.Fatalf("Parsing %s: %v", f, err)
			}
			sum.CPUNanos += exec
			sum.RunDelayNanos += delay
			sum.Arrivals += pcount
		}
	}
	return sum
}

// StopAll sends SIGSTOP to processes and waits until each of their threads
// is stopped, so that their scheduler counters no longer move.
func StopAll(t testing.TB, pids ...int) {
	t.Helper()
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
		for _, f := range files {
			for {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				// The state follows the command name in parentheses.
				if i := strings.LastIndexByte(string(b), ')'); i > 0 && len(b) > i+2 && (b[i+2] == 'T' || b[i+2] == 't') {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s did not stop: %s", f, b)
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
}

// Remove removes rel (relative to the prefix, without children) from every
// hierarchy, as the kubelet does when a container ends; its processes must
// have been stopped and reaped.
func (tr *Tree) Remove(rel string) {
	tr.t.Helper()
	for _, r := range tr.roots() {
		if err := removeTree(filepath.Join(r, tr.Prefix, rel)); err != nil {
			tr.t.Fatalf("Removing test cgroup: %v", err)
		}
	}
}
