package ebpf

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// The features the agent probes, named as NodeProfile samplers.
const (
	FeatureNetwork = "ebpf-cgroup-skb"
	FeatureBlockIO = "ebpf-block-bio-queue"
	// FeatureSched keeps its name, published in NodeProfiles, although
	// no program runs on sched_switch any more (a task iterator and
	// sched_process_exit/free do the accounting). It needs the host PID
	// namespace.
	FeatureSched = "ebpf-sched-switch"
)

// NetCounters are a cgroup's network counters; bytes are IP packet lengths
// (headers included) as seen by cgroup_skb.
type NetCounters = agentNetCounters

// BlockCounters are a cgroup's block I/O counters, from block_bio_queue.
type BlockCounters = agentBlkCounters

// SchedCounters are a cgroup's on-CPU time, run-queue delay and number of
// times its tasks arrived on a CPU: the kernel's own per-task counters
// (se.sum_exec_runtime, sched_info.run_delay, sched_info.pcount), charged
// to the task's cgroup by a task iterator at every scrape and by
// sched_process_exit and sched_process_free when a task ends. No program
// runs on sched_switch.
type SchedCounters = agentSchedCounters

// Status says whether one feature runs.
type Status struct {
	Feature string
	Active  bool
	// Err says why an inactive feature could not load or attach.
	Err error
}

// ProgramStat is the kernel's run-time accounting of one program
// (meaningful only while Options.KernelStats is on).
type ProgramStat struct {
	Program  string
	RunCount uint64
	RunNanos uint64
}

// Options configure Load.
type Options struct {
	// CgroupDir is the cgroup v2 directory the cgroup_skb programs attach
	// to; descendants inherit them. Normally the v2 tree's root.
	CgroupDir string
	// KernelStats turns on the kernel's BPF run-time statistics
	// (BPF_STATS_RUN_TIME) while the programs are loaded; it costs two
	// clock reads per program run.
	KernelStats bool
	// Disable lists features not to load.
	Disable []string
}

// Programs are the loaded and attached programs.
type Programs struct {
	status []Status
	net    netObjects
	blk    blkObjects
	sched  schedObjects
	// schedIter runs charge_tasks each time it is opened and read.
	schedIter *link.Iter
	closers   []io.Closer
}

type netObjects struct {
	Ingress *ebpf.Program `ebpf:"count_ingress"`
	Egress  *ebpf.Program `ebpf:"count_egress"`
	Stats   *ebpf.Map     `ebpf:"net_stats"`
}

type blkObjects struct {
	Prog  *ebpf.Program `ebpf:"bio_queue"`
	Stats *ebpf.Map     `ebpf:"blk_stats"`
}

type schedObjects struct {
	Exit  *ebpf.Program `ebpf:"task_exit"`
	Free  *ebpf.Program `ebpf:"task_free"`
	Iter  *ebpf.Program `ebpf:"charge_tasks"`
	Stats *ebpf.Map     `ebpf:"sched_stats"`
	Tasks *ebpf.Map     `ebpf:"task_charged"`
}

// Load loads and attaches each feature on its own, so that one the kernel
// refuses does not stop the others. It fails only when nothing could be
// loaded at all; Status tells what runs.
func Load(opts Options) (*Programs, error) {
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("removing the memlock limit: %w", err)
	}
	spec, err := loadAgent()
	if err != nil {
		return nil, fmt.Errorf("reading the embedded eBPF objects: %w", err)
	}
	p := &Programs{}
	if opts.KernelStats {
		c, err := ebpf.EnableStats(unix.BPF_STATS_RUN_TIME)
		if err != nil {
			return nil, fmt.Errorf("enabling BPF run-time statistics: %w", err)
		}
		p.closers = append(p.closers, c)
	}
	disabled := map[string]bool{}
	for _, d := range opts.Disable {
		disabled[d] = true
	}
	try := func(feature string, f func() error) {
		if disabled[feature] {
			p.status = append(p.status, Status{Feature: feature, Err: errors.New("disabled")})
			return
		}
		err := f()
		p.status = append(p.status, Status{Feature: feature, Active: err == nil, Err: err})
	}
	try(FeatureNetwork, func() error {
		if err := spec.LoadAndAssign(&p.net, nil); err != nil {
			return fmt.Errorf("loading: %w", err)
		}
		p.closers = append(p.closers, p.net.Ingress, p.net.Egress, p.net.Stats)
		if opts.CgroupDir == "" {
			return errors.New("no cgroup v2 directory to attach to")
		}
		for _, a := range []struct {
			prog *ebpf.Program
			typ  ebpf.AttachType
		}{{p.net.Ingress, ebpf.AttachCGroupInetIngress}, {p.net.Egress, ebpf.AttachCGroupInetEgress}} {
			l, err := link.AttachCgroup(link.CgroupOptions{Path: opts.CgroupDir, Attach: a.typ, Program: a.prog})
			if err != nil {
				return fmt.Errorf("attaching to %s: %w", opts.CgroupDir, err)
			}
			p.closers = append(p.closers, l)
		}
		return nil
	})
	try(FeatureBlockIO, func() error {
		if err := spec.LoadAndAssign(&p.blk, nil); err != nil {
			return fmt.Errorf("loading: %w", err)
		}
		p.closers = append(p.closers, p.blk.Prog, p.blk.Stats)
		l, err := link.AttachTracing(link.TracingOptions{Program: p.blk.Prog})
		if err != nil {
			return fmt.Errorf("attaching: %w", err)
		}
		p.closers = append(p.closers, l)
		return nil
	})
	try(FeatureSched, func() error {
		if err := spec.LoadAndAssign(&p.sched, nil); err != nil {
			return fmt.Errorf("loading: %w", err)
		}
		p.closers = append(p.closers, p.sched.Exit, p.sched.Free, p.sched.Iter, p.sched.Stats, p.sched.Tasks)
		if err := requireHostPIDNamespace(); err != nil {
			return err
		}
		it, err := link.AttachIter(link.IterOptions{Program: p.sched.Iter})
		if err != nil {
			return fmt.Errorf("attaching the task iterator: %w", err)
		}
		p.closers = append(p.closers, it)
		p.schedIter = it
		for _, prog := range []*ebpf.Program{p.sched.Exit, p.sched.Free} {
			l, err := link.AttachTracing(link.TracingOptions{Program: prog})
			if err != nil {
				return fmt.Errorf("attaching %s: %w", prog, err)
			}
			p.closers = append(p.closers, l)
		}
		return nil
	})
	for _, s := range p.status {
		if s.Active {
			return p, nil
		}
	}
	errs := []error{}
	for _, s := range p.status {
		errs = append(errs, fmt.Errorf("%s: %w", s.Feature, s.Err))
	}
	_ = p.Close()
	return nil, fmt.Errorf("no eBPF feature could be loaded: %w", errors.Join(errs...))
}

// initPIDNamespace is the inode of the initial PID namespace
// (PROC_PID_INIT_INO), the same on every kernel.
const initPIDNamespace = 0xEFFFFFFC

// requireHostPIDNamespace fails unless the agent sees every task: a task
// iterator walks the PID namespace of the process that reads it, so in a
// pod without hostPID it would see the pod's own tasks only.
func requireHostPIDNamespace() error {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/pid", &st); err != nil {
		return fmt.Errorf("reading the PID namespace: %w", err)
	}
	if st.Ino != initPIDNamespace {
		return errors.New("the task iterator needs the host PID namespace (hostPID: true)")
	}
	return nil
}

// Status lists every feature and whether it runs.
func (p *Programs) Status() []Status { return append([]Status(nil), p.status...) }

func (p *Programs) active(feature string) bool {
	for _, s := range p.status {
		if s.Feature == feature {
			return s.Active
		}
	}
	return false
}

// Close detaches and unloads everything, in reverse order.
func (p *Programs) Close() error {
	var errs []error
	for i := len(p.closers) - 1; i >= 0; i-- {
		if err := p.closers[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	p.closers = nil
	return errors.Join(errs...)
}

// batchSize is how many entries one batch lookup reads; larger than any
// hash bucket, which a batch must hold whole.
const batchSize = 256

// sumPerCPU reads a per-CPU map into per-key sums, batchSize entries per
// system call (two per entry with a plain iteration).
func sumPerCPU[V any](m *ebpf.Map, add func(sum *V, v V)) (map[uint64]V, error) {
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, err
	}
	out := map[uint64]V{}
	keys := make([]uint64, batchSize)
	vals := make([]V, batchSize*ncpu)
	var cursor ebpf.MapBatchCursor
	for {
		n, err := m.BatchLookup(&cursor, keys, vals, nil)
		for i := 0; i < n; i++ {
			var s V
			for _, v := range vals[i*ncpu : (i+1)*ncpu] {
				add(&s, v)
			}
			out[keys[i]] = s
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return out, nil
		}
		if errors.Is(err, ebpf.ErrNotSupported) {
			return iteratePerCPU(m, add)
		}
		if err != nil {
			return nil, fmt.Errorf("reading map %s: %w", m.String(), err)
		}
	}
}

// iteratePerCPU is sumPerCPU for kernels without batch lookups.
func iteratePerCPU[V any](m *ebpf.Map, add func(sum *V, v V)) (map[uint64]V, error) {
	out := map[uint64]V{}
	var (
		key  uint64
		vals []V
	)
	it := m.Iterate()
	for it.Next(&key, &vals) {
		var s V
		for _, v := range vals {
			add(&s, v)
		}
		out[key] = s
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("reading map %s: %w", m.String(), err)
	}
	return out, nil
}

// Network returns the network counters of every cgroup seen, by cgroup v2
// ID; nil when the feature is inactive.
func (p *Programs) Network() (map[uint64]NetCounters, error) {
	if !p.active(FeatureNetwork) {
		return nil, nil
	}
	return sumPerCPU(p.net.Stats, func(s *NetCounters, v NetCounters) {
		s.RxBytes += v.RxBytes
		s.RxPackets += v.RxPackets
		s.TxBytes += v.TxBytes
		s.TxPackets += v.TxPackets
	})
}

// BlockIO returns the block I/O counters by cgroup v2 ID.
func (p *Programs) BlockIO() (map[uint64]BlockCounters, error) {
	if !p.active(FeatureBlockIO) {
		return nil, nil
	}
	return sumPerCPU(p.blk.Stats, func(s *BlockCounters, v BlockCounters) {
		s.ReadBytes += v.ReadBytes
		s.WriteBytes += v.WriteBytes
		s.ReadIos += v.ReadIos
		s.WriteIos += v.WriteIos
	})
}

// Sched charges every live task's counters to its cgroup (one run of the
// task iterator) and returns the scheduler counters by cgroup v2 ID.
// Counters start when a task is first charged, with its whole history.
func (p *Programs) Sched() (map[uint64]SchedCounters, error) {
	if !p.active(FeatureSched) {
		return nil, nil
	}
	if err := p.chargeTasks(); err != nil {
		return nil, err
	}
	out := map[uint64]SchedCounters{}
	var (
		key uint64
		val SchedCounters
	)
	it := p.sched.Stats.Iterate()
	for it.Next(&key, &val) {
		out[key] = val
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("reading map %s: %w", p.sched.Stats.String(), err)
	}
	return out, nil
}

// chargeTasks runs charge_tasks over every task; it writes nothing to the
// stream, so one read reaches the end.
func (p *Programs) chargeTasks() error {
	r, err := p.schedIter.Open()
	if err != nil {
		return fmt.Errorf("opening the task iterator: %w", err)
	}
	defer r.Close()
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("running the task iterator: %w", err)
	}
	return nil
}

// Forget drops a cgroup's counters from every map (a container is gone).
func (p *Programs) Forget(id uint64) {
	for _, m := range []*ebpf.Map{p.net.Stats, p.blk.Stats, p.sched.Stats} {
		if m != nil {
			_ = m.Delete(id) // ErrKeyNotExist when the cgroup had no traffic
		}
	}
}

// ProgramStats returns the kernel's run count and run time per program.
func (p *Programs) ProgramStats() []ProgramStat {
	var out []ProgramStat
	for _, e := range []struct {
		name string
		prog *ebpf.Program
	}{{"count_ingress", p.net.Ingress}, {"count_egress", p.net.Egress}, {"bio_queue", p.blk.Prog}, {"task_exit", p.sched.Exit}, {"task_free", p.sched.Free}, {"charge_tasks", p.sched.Iter}} {
		if e.prog == nil {
			continue
		}
		st, err := e.prog.Stats()
		if err != nil {
			continue
		}
		out = append(out, ProgramStat{Program: e.name, RunCount: st.RunCount, RunNanos: uint64(st.Runtime.Nanoseconds())})
	}
	return out
}

// CgroupID returns the cgroup v2 ID of a directory in the v2 tree (its
// inode number), the key of every map.
func CgroupID(dir string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("cgroup %s: %w", dir, err)
		}
		return 0, err
	}
	return st.Ino, nil
}

// NetworkBytes returns received plus transmitted bytes per cgroup v2 ID.
func (p *Programs) NetworkBytes() (map[uint64]uint64, error) {
	m, err := p.Network()
	if m == nil || err != nil {
		return nil, err
	}
	out := make(map[uint64]uint64, len(m))
	for k, v := range m {
		out[k] = v.RxBytes + v.TxBytes
	}
	return out, nil
}

// BlockBytes returns read plus written bytes per cgroup v2 ID.
func (p *Programs) BlockBytes() (map[uint64]uint64, error) {
	m, err := p.BlockIO()
	if m == nil || err != nil {
		return nil, err
	}
	out := make(map[uint64]uint64, len(m))
	for k, v := range m {
		out[k] = v.ReadBytes + v.WriteBytes
	}
	return out, nil
}
