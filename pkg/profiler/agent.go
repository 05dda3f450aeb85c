package profiler

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/profiler/cgroups"
	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
	"github.com/foresight-dev/foresight/pkg/profiler/profile"
	"github.com/foresight-dev/foresight/pkg/profiler/store"
)

// BPFCounters are the per-cgroup counters of the eBPF programs, keyed by
// cgroup v2 ID. pkg/profiler/ebpf provides them on Linux.
type BPFCounters interface {
	// NetworkBytes and BlockBytes return cumulative bytes per cgroup; nil
	// when the feature does not run.
	NetworkBytes() (map[uint64]uint64, error)
	BlockBytes() (map[uint64]uint64, error)
	// Forget drops a cgroup's counters.
	Forget(id uint64)
}

// SchedCounters are a cgroup's cumulative scheduler counters: the on-CPU
// time, run-queue delay and CPU arrivals of its tasks (the kernel's
// se.sum_exec_runtime, sched_info.run_delay and sched_info.pcount), as the
// eBPF task iterator and exit hooks charge them (pkg/profiler/ebpf).
type SchedCounters struct {
	CPUNanos           uint64
	RunQueueDelayNanos uint64
	// Arrivals counts the times a task of the cgroup was put on a CPU.
	Arrivals uint64
}

// SchedSource charges every task's scheduler counters to its cgroup and
// returns them by cgroup v2 ID; a nil map when the feature does not run.
type SchedSource func() (map[uint64]SchedCounters, error)

// PodGetter returns the pod with a UID from the node's informer cache.
type PodGetter func(uid types.UID) (*corev1.Pod, bool)

// Config configures an Agent.
type Config struct {
	NodeName string
	Layout   discovery.Layout
	// Prefix is a cgroup below which the kubelet layout lives ("" on a
	// node; tests use their own parent cgroup).
	Prefix string
	// Interval between samples.
	Interval time.Duration
	// Window of the published statistics.
	Window time.Duration
	// DiscoverEvery is how often the cgroup tree is walked for new
	// containers (default 10 s); a container that goes away is noticed at
	// its next sample.
	DiscoverEvery time.Duration
	// FlushEvery is how often profiles are written to the store.
	FlushEvery time.Duration
	// Store persists profiles; nil keeps them in memory only.
	Store *store.Store
	// BPF supplies network and block I/O counters; nil disables them.
	BPF BPFCounters
	// Sched supplies the per-cgroup scheduler counters; nil disables them.
	Sched SchedSource
	// SchedEvery is how often Sched is read (at most once per sample;
	// every sample when 0). Its cost grows with the node's tasks, not its
	// containers; the counters are cumulative, so a slower cadence loses
	// nothing but freshness.
	SchedEvery time.Duration
	// Samplers are reported in the NodeProfile (eBPF features probed by the
	// caller).
	Samplers []foresightv1alpha1.Sampler
	// Pods resolves pod metadata; nil publishes UIDs only.
	Pods PodGetter
	// PublishContainers adds per-container detail to the NodeProfile.
	PublishContainers bool
	// Forecaster supplies the pods' short-term forecasts; nil publishes
	// none.
	Forecaster *Forecaster
}

type tracked struct {
	c        discovery.Container
	key      string
	reader   *cgroups.Reader
	cgroupID uint64
	prev     cgroups.Sample
	prevNet  uint64
	prevBlk  uint64
	havePrev bool
	// prof is the container's profile; shared when the container is its
	// pod's only one, prof is then the pod's profile (a pod of one
	// container has the same samples as its container: one profile serves
	// both, half the memory and disk).
	prof   *profile.Profile
	shared bool
	last   [profile.NumResources]float64
	// fresh is true when last is a sample of the current tick, not yet
	// added to the profile.
	fresh bool
	// sched holds the cgroup's scheduler counters once the task iterator
	// has charged any of its tasks (haveSched).
	sched     SchedCounters
	haveSched bool
	// seen is the tick that last found the container.
	seen uint64
}

// podTick is one pod's sum of its containers' usage in a tick.
type podTick struct {
	sum  [profile.NumResources]float64
	time time.Time
}

// Agent samples every container of the node.
type Agent struct {
	cfg     Config
	mu      sync.Mutex
	ctrs    map[string]*tracked         // by container key
	pods    map[string]*profile.Profile // by "pod/" + UID
	loaded  map[string]*profile.Profile // restored from the store, not yet matched
	stats   Stats
	lastErr error
	// found is the latest discovery, walked at lastWalk, and foundKeys
	// their keys.
	found     []discovery.Container
	foundKeys []string
	lastWalk  time.Time
	// lastSched is when the scheduler counters were last read.
	lastSched time.Time
	// Scratch maps of Tick, kept to spare allocations: livePods counts the
	// live containers of each pod.
	podTicks map[string]podTick
	livePods map[string]int
}

// Stats are the agent's own counters.
type Stats struct {
	Samples      uint64
	SampleErrors uint64
	Ticks        uint64
	Dropped      uint64
	LastTick     time.Time
}

const podKeyPrefix = "pod/"

// New returns an Agent, restoring stored profiles.
func New(cfg Config) (*Agent, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Window <= 0 {
		cfg.Window = 24 * time.Hour
	}
	if cfg.DiscoverEvery <= 0 {
		cfg.DiscoverEvery = 10 * time.Second
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = time.Minute
	}
	a := &Agent{cfg: cfg, ctrs: map[string]*tracked{}, pods: map[string]*profile.Profile{}, loaded: map[string]*profile.Profile{}}
	if cfg.Store != nil {
		ps, err := cfg.Store.LoadAll()
		if ps == nil && err != nil {
			return nil, fmt.Errorf("restoring profiles: %w", err)
		}
		a.loaded = ps
		a.lastErr = err // undecodable records are skipped, not fatal
	}
	return a, nil
}

// Tick discovers containers, samples each once and updates the profiles.
func (a *Agent) Tick(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	var err error
	if a.lastWalk.IsZero() || time.Since(a.lastWalk) >= a.cfg.DiscoverEvery {
		found, err := discovery.Walk(a.cfg.Layout.WalkRoot(), a.cfg.Prefix)
		if err != nil {
			return err
		}
		a.found, a.lastWalk = found, time.Now()
		a.foundKeys = a.foundKeys[:0]
		for _, c := range found {
			a.foundKeys = append(a.foundKeys, c.Key())
		}
	}
	found := a.found
	var net, blk map[uint64]uint64
	if a.cfg.BPF != nil {
		if net, err = a.cfg.BPF.NetworkBytes(); err != nil {
			logger.V(2).Info("Reading network counters failed", "err", err)
		}
		if blk, err = a.cfg.BPF.BlockBytes(); err != nil {
			logger.V(2).Info("Reading block I/O counters failed", "err", err)
		}
	}
	var sched map[uint64]SchedCounters
	// Half an interval of slack, so that jitter of the ticks does not skip
	// every other read when SchedEvery equals Interval.
	if a.cfg.Sched != nil && (a.lastSched.IsZero() || time.Since(a.lastSched)+a.cfg.Interval/2 >= a.cfg.SchedEvery) {
		// One run of the task iterator: 0.1–0.4 ms for ~120 tasks
		// (docs/benchmarks/agent.md); tasks that end in between are
		// charged by the exit hooks, so nothing is lost at any cadence.
		a.lastSched = time.Now()
		if sched, err = a.cfg.Sched(); err != nil {
			logger.V(2).Info("Reading scheduler counters failed", "err", err)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stats.Ticks++
	if a.podTicks == nil {
		a.podTicks, a.livePods = map[string]podTick{}, map[string]int{}
	}
	podTicks := a.podTicks
	clear(podTicks)
	var gone []string
	for i, c := range found {
		key := a.foundKeys[i]
		t := a.ctrs[key]
		if t == nil {
			// The profiles take CPU time and working set only: the other
			// counters would cost four more file reads per sample.
			r, err := cgroups.OpenFields(a.cfg.Layout, c.Path, cgroups.FieldCPU|cgroups.FieldMemory)
			if err != nil {
				if errors.Is(err, cgroups.ErrGone) {
					continue
				}
				a.stats.SampleErrors++
				logger.V(2).Info("Opening cgroup failed", "path", c.Path, "err", err)
				continue
			}
			// Its profile is chosen below, once the pod's containers are
			// known.
			t = &tracked{c: c, key: key, reader: r}
			if v2 := a.cfg.Layout.V2Root(); v2 != "" {
				if id, err := cgroupID(filepath.Join(v2, c.Path)); err == nil {
					t.cgroupID = id
				}
			}
			a.ctrs[key] = t
			logger.V(4).Info("Container appeared", "pod", c.PodUID, "container", c.ID)
		}
		t.seen = a.stats.Ticks
		s, err := t.reader.Read()
		if err != nil {
			if errors.Is(err, cgroups.ErrGone) {
				t.seen = 0
				continue
			}
			a.stats.SampleErrors++
			continue
		}
		a.stats.Samples++
		if sc, ok := sched[t.cgroupID]; ok && t.cgroupID != 0 {
			t.sched, t.haveSched = sc, true
		}
		n, b := net[t.cgroupID], blk[t.cgroupID]
		if t.havePrev {
			dt := s.Time.Sub(t.prev.Time).Seconds()
			var v [profile.NumResources]float64
			v[profile.CPU] = cgroups.CPUCores(t.prev, s)
			v[profile.Memory] = float64(s.MemoryWorkingSetBytes)
			if dt > 0 && n >= t.prevNet {
				v[profile.Network] = float64(n-t.prevNet) / dt
			}
			if dt > 0 && b >= t.prevBlk {
				v[profile.DiskIO] = float64(b-t.prevBlk) / dt
			}
			t.last, t.fresh = v, true
			pt := podTicks[c.PodUID]
			for i := range v {
				pt.sum[i] += v[i]
			}
			pt.time = s.Time
			podTicks[c.PodUID] = pt
		}
		t.prev, t.prevNet, t.prevBlk, t.havePrev = s, n, b, true
	}
	for key, t := range a.ctrs {
		if t.seen != a.stats.Ticks {
			if !t.shared {
				gone = append(gone, key)
			}
			if a.cfg.BPF != nil && t.cgroupID != 0 {
				a.cfg.BPF.Forget(t.cgroupID)
			}
			_ = t.reader.Close()
			delete(a.ctrs, key)
			logger.V(4).Info("Container disappeared", "pod", t.c.PodUID, "container", t.c.ID)
		}
	}
	livePods := a.livePods
	clear(livePods)
	for _, t := range a.ctrs {
		livePods[t.c.PodUID]++
	}
	gone = a.assignProfiles(gone)
	for _, t := range a.ctrs {
		if t.fresh {
			t.prof.Add(t.prev.Time, t.last)
			t.fresh = false
		}
	}
	for uid, pt := range podTicks {
		if livePods[uid] == 1 {
			continue // the pod's profile is its container's, fed above
		}
		a.pods[podKeyPrefix+uid].Add(pt.time, pt.sum)
	}
	for key := range a.pods {
		if livePods[strings.TrimPrefix(key, podKeyPrefix)] == 0 {
			gone = append(gone, key)
			delete(a.pods, key)
		}
	}
	// Profiles restored from disk whose container did not come back by the
	// first complete discovery are of containers that ended while the agent
	// was down.
	if a.stats.Ticks == 1 {
		for key := range a.loaded {
			if strings.HasPrefix(key, podKeyPrefix) && livePods[strings.TrimPrefix(key, podKeyPrefix)] > 0 {
				continue
			}
			gone = append(gone, key)
			delete(a.loaded, key)
		}
	}
	a.stats.Dropped += uint64(len(gone))
	a.stats.LastTick = time.Now()
	if len(gone) > 0 && a.cfg.Store != nil {
		if err := a.cfg.Store.Delete(gone...); err != nil {
			return fmt.Errorf("dropping profiles of gone containers: %w", err)
		}
	}
	return nil
}

// assignProfiles gives every live pod a profile (restored or new) and
// every live container its profile: its pod's when it is the pod's only
// container, its own otherwise. A container that becomes one of several
// keeps a copy of the history it shared; one left alone in its pod drops
// its own profile (its samples are in the pod's) and shares the pod's. It
// returns gone with the keys of the dropped profiles appended.
func (a *Agent) assignProfiles(gone []string) []string {
	for _, t := range a.ctrs {
		uid := t.c.PodUID
		key := podKeyPrefix + uid
		pp := a.pods[key]
		if pp == nil {
			if pp = a.loaded[key]; pp != nil {
				delete(a.loaded, key)
			} else {
				pp = profile.New(key)
				pp.PodUID = uid
			}
			a.pods[key] = pp
		}
		switch {
		case a.livePods[uid] == 1 && !t.shared:
			if t.prof != nil {
				gone = append(gone, t.key)
			}
			if _, ok := a.loaded[t.key]; ok {
				delete(a.loaded, t.key)
				gone = append(gone, t.key)
			}
			t.prof, t.shared = pp, true
		case a.livePods[uid] > 1 && t.shared:
			t.prof, t.shared = pp.Clone(t.key), false
		case t.prof == nil:
			if p, ok := a.loaded[t.key]; ok {
				t.prof = p
				delete(a.loaded, t.key)
			} else {
				t.prof = profile.New(t.key)
			}
		}
	}
	return gone
}

// Flush writes every live profile to the store.
func (a *Agent) Flush() error {
	if a.cfg.Store == nil {
		return nil
	}
	a.mu.Lock()
	ps := make([]*profile.Profile, 0, len(a.ctrs)+len(a.pods))
	for _, t := range a.ctrs {
		if !t.shared {
			ps = append(ps, t.prof)
		}
	}
	for _, p := range a.pods {
		ps = append(ps, p)
	}
	a.mu.Unlock()
	// Encoding happens under the store's transaction, outside the agent's
	// lock; profiles are only mutated by Tick, which Run does not run
	// concurrently with Flush.
	return a.cfg.Store.Save(ps...)
}

// Run samples on every interval and flushes on FlushEvery until ctx ends,
// then flushes once more.
func (a *Agent) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	tick := time.NewTicker(a.cfg.Interval)
	defer tick.Stop()
	lastFlush := time.Now()
	for {
		if err := a.Tick(ctx); err != nil {
			logger.Error(err, "Sampling failed")
		}
		if time.Since(lastFlush) >= a.cfg.FlushEvery {
			if err := a.Flush(); err != nil {
				logger.Error(err, "Writing profiles failed")
			}
			lastFlush = time.Now()
		}
		select {
		case <-ctx.Done():
			return a.Flush()
		case <-tick.C:
		}
	}
}

// Stats returns the agent's own counters.
func (a *Agent) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

// ContainerUsage is the latest per-second usage of one live container.
type ContainerUsage struct {
	Container discovery.Container
	// Usage per resource (cores, bytes, bytes/s, bytes/s).
	Usage [profile.NumResources]float64
	// Sched are the container cgroup's scheduler counters when HasSched.
	Sched    SchedCounters
	HasSched bool
}

// Containers lists the live containers with their latest usage.
func (a *Agent) Containers() []ContainerUsage {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]ContainerUsage, 0, len(a.ctrs))
	for _, t := range a.ctrs {
		out = append(out, ContainerUsage{Container: t.c, Usage: t.last, Sched: t.sched, HasSched: t.haveSched})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Container.Path < out[j].Container.Path })
	return out
}

// Profile returns a copy of the summary of a container or pod profile key,
// for tests and debugging.
func (a *Agent) Profile(key string) (*profile.Profile, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.ctrs[key]; ok {
		return t.prof, true
	}
	p, ok := a.pods[key]
	return p, ok
}

func quantity(r profile.Resource, v float64) *resource.Quantity {
	switch r {
	case profile.CPU:
		return resource.NewMilliQuantity(int64(v*1000+0.5), resource.DecimalSI)
	case profile.Memory:
		return resource.NewQuantity(int64(v+0.5), resource.BinarySI)
	}
	return resource.NewQuantity(int64(v+0.5), resource.DecimalSI)
}

func usageStatistics(p *profile.Profile, now time.Time, window time.Duration) foresightv1alpha1.UsageStatistics {
	return UsageStatistics(p.Summary(now, window), window, p.Samples)
}

// UsageStatistics writes a profile summary over window as the agent
// publishes it: CPU in cores, memory in binary units, disk and network in
// bytes per second. The simulator's agent publishes through it too.
func UsageStatistics(sum [profile.NumResources]profile.Stats, window time.Duration, samples int64) foresightv1alpha1.UsageStatistics {
	u := foresightv1alpha1.UsageStatistics{Window: &metav1.Duration{Duration: window}, Samples: samples}
	for r := profile.Resource(0); r < profile.NumResources; r++ {
		s := sum[r]
		rs := &foresightv1alpha1.ResourceStatistics{
			Current: quantity(r, s.Current), Mean: quantity(r, s.Mean), Peak: quantity(r, s.Peak),
			P50: quantity(r, s.P50), P90: quantity(r, s.P90), P95: quantity(r, s.P95), P99: quantity(r, s.P99),
		}
		switch r {
		case profile.CPU:
			u.CPU = rs
		case profile.Memory:
			u.Memory = rs
		case profile.DiskIO:
			u.DiskIO = rs
		case profile.Network:
			u.Network = rs
		}
	}
	return u
}

// MaxPublishedPods is the NodeProfile's limit on pods.
const MaxPublishedPods = 1000

// Status builds the NodeProfile status from the live profiles.
func (a *Agent) Status(now time.Time, agentVersion string) foresightv1alpha1.NodeProfileStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := foresightv1alpha1.NodeProfileStatus{
		LastUpdated:    &metav1.Time{Time: now},
		SampleInterval: &metav1.Duration{Duration: a.cfg.Interval},
		AgentVersion:   agentVersion,
		CgroupMode:     string(a.cfg.Layout.Mode),
		Samplers:       append([]foresightv1alpha1.Sampler{{Name: "cgroup", Active: true}}, a.cfg.Samplers...),
	}
	byPod := map[string][]*tracked{}
	for _, t := range a.ctrs {
		byPod[t.c.PodUID] = append(byPod[t.c.PodUID], t)
	}
	uids := make([]string, 0, len(a.pods))
	for key := range a.pods {
		uids = append(uids, strings.TrimPrefix(key, podKeyPrefix))
	}
	sort.Strings(uids)
	if len(uids) > MaxPublishedPods {
		uids = uids[:MaxPublishedPods]
	}
	for _, uid := range uids {
		pu := foresightv1alpha1.PodUsage{UID: types.UID(uid), Usage: usageStatistics(a.pods[podKeyPrefix+uid], now, a.cfg.Window)}
		a.podExtras(&pu, podKeyPrefix+uid)
		names := map[string]string{}
		if a.cfg.Pods != nil {
			if pod, ok := a.cfg.Pods(types.UID(uid)); ok {
				pu.Namespace, pu.Name = pod.Namespace, pod.Name
				if ref := metav1.GetControllerOf(pod); ref != nil {
					pu.Workload = &foresightv1alpha1.WorkloadReference{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name}
				}
				for _, cs := range append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
					if _, id, ok := strings.Cut(cs.ContainerID, "://"); ok {
						names[id] = cs.Name
					}
				}
			}
		}
		if a.cfg.PublishContainers {
			for _, t := range byPod[uid] {
				name := names[t.c.ID]
				if name == "" {
					name = t.c.ID[:12]
				}
				pu.Containers = append(pu.Containers, foresightv1alpha1.ContainerUsage{Name: name, Usage: usageStatistics(t.prof, now, a.cfg.Window)})
			}
			sort.Slice(pu.Containers, func(i, j int) bool { return pu.Containers[i].Name < pu.Containers[j].Name })
		}
		st.Pods = append(st.Pods, pu)
	}
	cond := metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Sampling", LastTransitionTime: metav1.Time{Time: now},
		Message: fmt.Sprintf("%d containers sampled", len(a.ctrs))}
	st.Conditions = append(st.Conditions, cond)
	degraded := metav1.Condition{Type: "Degraded", Status: metav1.ConditionFalse, Reason: "AllSamplersActive", LastTransitionTime: metav1.Time{Time: now}}
	for _, s := range st.Samplers {
		if !s.Active {
			degraded.Status, degraded.Reason, degraded.Message = metav1.ConditionTrue, "SamplerInactive", s.Name+": "+s.Message
			break
		}
	}
	st.Conditions = append(st.Conditions, degraded)
	return st
}
