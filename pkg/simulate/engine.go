package simulate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/component-base/metrics/legacyregistry"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/consolidate"
	"github.com/foresight-dev/foresight/pkg/demand"
	"github.com/foresight-dev/foresight/pkg/rightsize"
)

// Config is a replay: a trace, where in it to replay, the cluster, and the
// policies to compare.
type Config struct {
	Trace *Trace
	// Start is the first replayed sample: what comes before is history the
	// agent learns from (it measured the workloads then, nothing was
	// scheduled). Workloads alive at Start arrive at Start.
	Start int
	// Steps is the number of replayed samples; 0 replays to the end.
	Steps int
	// Pools of the cluster; the first variable pool is autoscaled.
	Pools      []PoolSpec
	Autoscaler AutoscalerOptions
	Agent      AgentOptions
	// Resize tunes the controller's in-place resizing of running pods,
	// for the policies that resize.
	Resize ResizeOptions
	// Consolidate tunes the controller's emptying of lightly used
	// autoscaled nodes, for the policies that consolidate.
	Consolidate ConsolidateOptions
	Policies    []Policy
	// RetryEvery is how often pending pods are retried (with fresh
	// profiles) when nothing in the cluster changed; they are always
	// retried after a change (a node added or removed, a pod gone).
	// Default 30 minutes.
	RetryEvery time.Duration
	// Progress, when set, receives a progress bar.
	Progress io.Writer
}

// AutoscalerOptions tune the model of the cluster autoscaler that sizes
// the variable pool.
type AutoscalerOptions struct {
	// ProvisionSteps is how many steps after being asked for a node takes
	// pods (at least 1, the default); it is paid for from the next step.
	ProvisionSteps int
	// ScaleDownAfter is how long a variable node must have held no pod to
	// be removed (default 10 minutes, the cluster autoscaler's).
	ScaleDownAfter time.Duration
}

// Validate checks a configuration.
func (c *Config) Validate() error {
	if c.Trace == nil {
		return errors.New("no trace")
	}
	if err := c.Trace.Normalize(); err != nil {
		return err
	}
	if c.Start < 0 || c.Start >= c.Trace.Steps {
		return fmt.Errorf("replay start %d is outside the trace's %d samples", c.Start, c.Trace.Steps)
	}
	if c.Steps < 0 || c.Start+c.Steps > c.Trace.Steps {
		return fmt.Errorf("replaying %d samples from %d goes past the trace's %d", c.Steps, c.Start, c.Trace.Steps)
	}
	if len(c.Pools) == 0 {
		return errors.New("no pools")
	}
	names := map[string]bool{}
	for _, p := range c.Pools {
		if names[p.Name] {
			return fmt.Errorf("pool %q named twice", p.Name)
		}
		names[p.Name] = true
		if p.CPU <= 0 || p.Memory <= 0 || p.Nodes < 0 || p.PricePerNodeHour < 0 {
			return fmt.Errorf("pool %s: node size and counts must be positive", p.Name)
		}
	}
	if len(c.Policies) == 0 {
		return errors.New("no policies")
	}
	return c.Resize.validate()
}

// end is the first sample after the replay.
func (c *Config) end() int {
	if c.Steps == 0 {
		return c.Trace.Steps
	}
	return c.Start + c.Steps
}

// boundsShape is the node size bounds are computed for: the autoscaled
// pool's, else the first pool's.
func (c *Config) boundsShape() (int64, int64) {
	for _, p := range c.Pools {
		if p.autoscaled() {
			return p.CPU, p.Memory
		}
	}
	return c.Pools[0].CPU, c.Pools[0].Memory
}

// Run replays the trace once per policy on the backend and returns the
// outcomes side by side with the bounds.
func Run(ctx context.Context, b Backend, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	started := time.Now()
	s := prepare(cfg.Trace)
	end := cfg.end()
	nodeCPU, nodeMem := cfg.boundsShape()
	res := &Result{
		Trace: TraceInfo{Pods: len(cfg.Trace.Pods), Step: cfg.Trace.Step, Start: cfg.Trace.Time(cfg.Start), End: cfg.Trace.Time(end), LearnFrom: cfg.Trace.Start},
		Pools: cfg.Pools, Bounds: computeBounds(s, cfg.Start, end, nodeCPU, nodeMem),
	}
	bar := newProgress(cfg.Progress, len(cfg.Policies)*(end-cfg.Start))
	defer bar.finish()
	for k := range cfg.Policies {
		out, err := runPolicy(ctx, b, &cfg, s, cfg.Policies[k], bar, res.Bounds.OracleNodes)
		if err != nil {
			return res, fmt.Errorf("policy %s: %w", cfg.Policies[k].Name, err)
		}
		res.Outcomes = append(res.Outcomes, *out)
	}
	res.Wall = time.Since(started)
	return res, nil
}

// decisionDelay is how long after a step's start, when the agent publishes
// what it measured until then, the step's admissions and scheduling
// decisions happen: a forecast's point for the step that is starting is
// already in the past for them, as it is in a cluster where the scheduler
// reads what the agent published a moment earlier.
const decisionDelay = time.Second

// simNode is a node of a run.
type simNode struct {
	name    string
	pool    int
	ready   int  // first step it takes pods
	created bool // exists in the backend
	removed bool
	// billedFrom is the first step paid for, billedTo the first no longer
	// paid for (-1 while the node lives).
	billedFrom, billedTo int
	// empty counts the consecutive steps it held no pod.
	empty int
	// cordoned is set while the node is unschedulable (being emptied);
	// after a drain was undone, it is not drained before step keepUntil.
	cordoned  bool
	keepUntil int
	loads     []podLoad
}

func (n *simNode) billedAt(t int) bool {
	return t >= n.billedFrom && (n.billedTo < 0 || t < n.billedTo)
}

// simPod is one pod of a run.
type simPod struct {
	tr      int // workload index in the trace
	name    string
	rank    int
	req     [2]int64 // as admitted: millicores, bytes
	arrived int
	bound   int // step of the first binding, -1 before
	node    int // index in nodes, -1 while pending
	// pod is the pod as created, with its requests as last resized.
	pod *v1.Pod
	// migrated is set on the new pod of a workload whose previous pod was
	// moved: while it is pending, the workload is down.
	migrated bool
	// restart and ahead are what the pod would be re-created with if
	// evicted and its predicted requests over the consolidation horizon,
	// as computed at step plannedAt (-1: never).
	restart, ahead [2]int64
	plannedAt      int
	// deferred is set while the pod's growth, which its node could not
	// hold, was deferred at the controller's last visit (GrowthDeferOnce).
	deferred bool
}

// runPolicy replays the trace under one policy.
func runPolicy(ctx context.Context, b Backend, cfg *Config, s *series, p Policy, bar *progress, oracle []int) (*Outcome, error) {
	started := time.Now()
	tr := cfg.Trace
	start, end := cfg.Start, cfg.end()
	stepHours := tr.Step.Hours()
	provision := max(1, cfg.Autoscaler.ProvisionSteps)
	scaleDown := cfg.Autoscaler.ScaleDownAfter
	if scaleDown <= 0 {
		scaleDown = 10 * time.Minute
	}
	scaleDownSteps := max(1, int(math.Ceil(float64(scaleDown)/float64(tr.Step))))
	retryEvery := cfg.RetryEvery
	if retryEvery <= 0 {
		retryEvery = 30 * time.Minute
	}
	retrySteps := max(1, int(math.Round(float64(retryEvery)/float64(tr.Step))))
	lastRetry := start
	resize := cfg.Resize.withDefaults()
	resizeSteps := max(1, int(math.Round(float64(resize.Every)/float64(tr.Step))))
	consolidateOpts := cfg.Consolidate.withDefaults()
	consolidateSteps := max(1, int(math.Round(float64(consolidateOpts.Every)/float64(tr.Step))))
	backoffSteps := max(1, int(math.Round(float64(consolidateOpts.Backoff)/float64(tr.Step))))

	var clock atomic.Int64
	clock.Store(tr.Time(start).Add(decisionDelay).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }

	var nodes []*simNode
	nodeIndex := map[string]int{}
	nextID := make([]int, len(cfg.Pools))
	newNode := func(pool, ready, billedFrom int) *simNode {
		n := &simNode{name: fmt.Sprintf("%s-%d", cfg.Pools[pool].Name, nextID[pool]), pool: pool, ready: ready, billedFrom: billedFrom, billedTo: -1}
		nextID[pool]++
		nodeIndex[n.name] = len(nodes)
		nodes = append(nodes, n)
		return n
	}
	spec := RunSpec{Policy: p, TenantPolicy: TenantPolicyObject(p.Rightsizing), Now: now}
	for i, ps := range cfg.Pools {
		spec.Pools = append(spec.Pools, PoolObject(ps))
		for range ps.Nodes {
			n := newNode(i, start, start)
			n.created = true
			spec.Nodes = append(spec.Nodes, NodeObject(ps, n.name))
		}
	}
	ag, err := newAgent(s, p.Agent, cfg.Agent)
	if err != nil {
		return nil, err
	}
	arrivals := map[int][]int{}
	for i := range tr.Pods {
		f := s.first[i]
		if f < start && s.last[i] >= start {
			f = start
		}
		if f >= start && f < end {
			arrivals[f] = append(arrivals[f], i)
		}
	}
	predictionsBefore := gatherPredictions()
	if err := b.Start(ctx, spec); err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = b.Stop(context.WithoutCancel(ctx))
		}
	}()

	out := &Outcome{Policy: p, NodeHours: make([]float64, len(cfg.Pools)), Cost: make([]float64, len(cfg.Pools))}
	var all, live []*simPod
	instances := make([]int, len(tr.Pods))
	var cpuHist, memHist utilHist
	var total tally
	var latencies, decisions []float64
	var cumCost float64
	var cumViolations int64

	apply := func(placements map[string]string, t int) {
		for _, sp := range live {
			name, ok := placements[sp.name]
			if !ok {
				continue
			}
			if name == "" {
				sp.node = -1
				continue
			}
			idx, known := nodeIndex[name]
			if !known {
				continue
			}
			if sp.bound < 0 {
				sp.bound = t
				latencies = append(latencies, float64(t-sp.arrived)*tr.Step.Minutes())
			}
			sp.node = idx
		}
	}
	publish := func(t int, idx []int) error {
		if p.Agent == AgentOff || len(idx) == 0 {
			return nil
		}
		var wps []*foresightv1alpha1.WorkloadProfile
		for _, i := range idx {
			if st := ag.Status(i, t); st != nil {
				wps = append(wps, ProfileObject(tr.Pods[i].Workload, st))
			}
		}
		if len(wps) == 0 {
			return nil
		}
		return b.PublishProfiles(ctx, wps)
	}

	// admitted returns workload i's next pod at step t as the webhook
	// admits it, and whether the webhook rightsized it.
	admitted := func(i, t int) (*v1.Pod, bool, error) {
		pod := PodObject(&tr.Pods[i], instances[i])
		if !p.Rightsizing {
			return pod, false, nil
		}
		opts := rightsize.DefaultOptions(now())
		if p.Resize {
			opts = resize.admission(now())
		}
		d := rightsize.Decide(pod, &spec.TenantPolicy.Spec, ag.Status(i, t), opts)
		if !d.Changed {
			return pod, false, nil
		}
		if err := rightsize.Apply(pod, d); err != nil {
			return nil, false, fmt.Errorf("rightsizing pod %s: %w", pod.Name, err)
		}
		return pod, true, nil
	}
	// admit creates workload i's next pod at step t, rightsized as the
	// webhook would admit it, and schedules it.
	admit := func(i, t int) (*simPod, error) {
		pt := &tr.Pods[i]
		pod, rightsized, err := admitted(i, t)
		if err != nil {
			return nil, err
		}
		instances[i]++
		out.OriginalCPU += pt.CPURequest
		out.OriginalMemory += pt.MemoryRequest
		if rightsized {
			out.Rightsized++
		}
		req := podRequests(pod)
		out.RequestedCPU += req[0]
		out.RequestedMemory += req[1]
		sp := &simPod{tr: i, name: pod.Name, rank: annotations.Rank(pt.Class), req: req, arrived: t, bound: -1, node: -1, pod: pod, plannedAt: -1}
		all, live = append(all, sp), append(live, sp)
		if err := b.CreatePod(ctx, pod); err != nil {
			return nil, err
		}
		w := time.Now()
		placements, err := b.Schedule(ctx, nil)
		if err != nil {
			return nil, err
		}
		decisions = append(decisions, float64(time.Since(w).Microseconds())/1000)
		apply(placements, t)
		return sp, nil
	}

	// tryDrain runs the pods a drain would evict, re-created as the
	// webhook admits them now (with their profiles published first, as
	// the restart below does), through the scheduler as if their node
	// were cordoned, before anything is evicted: a drain goes ahead only
	// when every pod would find room through the scheduler's own filters,
	// partition room included.
	dryRun, _ := b.(DryRunner)
	tryDrain := func(c *consolidation, t int) (bool, error) {
		idx := make([]int, len(c.moves))
		for k, m := range c.moves {
			idx[k] = m.tr
		}
		if err := publish(t, idx); err != nil {
			return false, err
		}
		pods := make([]*v1.Pod, len(c.moves))
		for k, m := range c.moves {
			pod, _, err := admitted(m.tr, t)
			if err != nil {
				return false, err
			}
			pods[k] = pod
		}
		_, failed, reason, err := dryRun.TryPlace(ctx, pods, nodes[c.node].name)
		if err != nil {
			return false, fmt.Errorf("dry run of the drain of node %s: %w", nodes[c.node].name, err)
		}
		if failed < 0 {
			return true, nil
		}
		out.DrainsRefused++
		if out.DrainRefusals == nil {
			out.DrainRefusals = map[string]int{}
		}
		for r := range schedulingReasons(reason) {
			out.DrainRefusals[r]++
		}
		return false, nil
	}

	for t := start; t < end; t++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		clock.Store(tr.Time(t).Add(decisionDelay).UnixNano())
		// Nodes asked for earlier take pods from now on.
		var add []*v1.Node
		for _, n := range nodes {
			if !n.created && !n.removed && n.ready == t {
				n.created = true
				add = append(add, NodeObject(cfg.Pools[n.pool], n.name))
			}
		}
		if len(add) > 0 {
			if err := b.AddNodes(ctx, add); err != nil {
				return nil, err
			}
		}
		// Pods whose workload's trace ended leave.
		var gone []string
		kept := live[:0]
		for _, sp := range live {
			if s.last[sp.tr] < t {
				gone = append(gone, sp.name)
				continue
			}
			kept = append(kept, sp)
		}
		live = kept
		if len(gone) > 0 {
			if err := b.DeletePods(ctx, gone); err != nil {
				return nil, err
			}
		}
		// Variable nodes empty long enough are given back.
		held := make([]int, len(nodes))
		for _, sp := range live {
			if sp.node >= 0 {
				held[sp.node]++
			}
		}
		var remove []string
		for k, n := range nodes {
			if cfg.Pools[n.pool].autoscaled() && n.created && !n.removed && held[k] == 0 && n.empty >= scaleDownSteps {
				n.removed, n.billedTo = true, t
				remove = append(remove, n.name)
			}
		}
		if len(remove) > 0 {
			if err := b.RemoveNodes(ctx, remove); err != nil {
				return nil, err
			}
		}
		// The controller resizes running pods in place.
		var migrated []*simPod
		resized := 0
		if p.Resize && t > start && (t-start)%resizeSteps == 0 {
			var err error
			var plan *ConsolidateOptions
			if p.Consolidate {
				plan = &consolidateOpts
			}
			if resized, migrated, err = resizePods(ctx, b, cfg, resize, plan, ag, spec, nodes, live, t, now(), out); err != nil {
				return nil, err
			}
			if len(migrated) > 0 {
				var names []string
				live, names = withoutPods(live, migrated)
				if err := b.DeletePods(ctx, names); err != nil {
					return nil, err
				}
			}
		}
		// The controller empties a lightly used variable node: it cordons
		// it and evicts its pods, which their ReplicaSets re-create below.
		// Not while pods wait for room, nor in a pass that migrated pods
		// for their growth: the cluster is short of room then.
		var drained *consolidation
		var evicted []*simPod
		if p.Consolidate && t > start && (t-start)%consolidateSteps == 0 {
			var reason string
			switch {
			case len(migrated) > 0:
				reason = passSkippedMigrated
			case slices.ContainsFunc(live, func(sp *simPod) bool { return sp.node < 0 }):
				reason = passSkippedPending
			default:
				// Up to dryRunAttempts plans a pass: a plan the dry run
				// refuses keeps its node for the rest of the pass, so that
				// the next plan takes another. Nothing was disrupted, so
				// there is no backoff: the next pass may try it again, as
				// the cluster autoscaler re-checks a node its scale-down
				// simulation found unremovable.
				refused := false
				for range dryRunAttempts {
					var r consolidate.Reason
					r, drained = planConsolidation(cfg, consolidateOpts, nodes, live, t)
					reason = string(r)
					if drained == nil && refused {
						reason = passRefusedDryRun
					}
					if drained == nil || dryRun == nil {
						break
					}
					ok, err := tryDrain(drained, t)
					if err != nil {
						return nil, err
					}
					if ok {
						break
					}
					nodes[drained.node].keepUntil = max(nodes[drained.node].keepUntil, t+1)
					drained, reason, refused = nil, passRefusedDryRun, true
				}
			}
			if out.ConsolidationPasses == nil {
				out.ConsolidationPasses = map[string]int{}
			}
			out.ConsolidationPasses[reason]++
			if drained != nil {
				n := nodes[drained.node]
				if err := b.CordonNodes(ctx, []string{n.name}, true); err != nil {
					return nil, err
				}
				n.cordoned = true
				evicted = drained.moves
				var names []string
				live, names = withoutPods(live, evicted)
				if err := b.EvictPods(ctx, names); err != nil {
					return nil, err
				}
				out.Consolidations++
				out.ConsolidationMoves += len(evicted)
			}
		}
		// Pending pods are retried, with fresh profiles, after any change
		// and every RetryEvery: retrying an unchanged cluster gives the
		// same answer, up to the profiles' drift.
		var pending []string
		var pendingIdx []int
		if len(add)+len(gone)+len(remove)+resized+len(migrated)+len(evicted) > 0 || t-lastRetry >= retrySteps {
			lastRetry = t
			for _, sp := range live {
				if sp.node < 0 {
					pending = append(pending, sp.name)
					pendingIdx = append(pendingIdx, sp.tr)
				}
			}
		}
		if err := publish(t, append(pendingIdx, arrivals[t]...)); err != nil {
			return nil, err
		}
		if len(pending) > 0 {
			placements, err := b.Schedule(ctx, pending)
			if err != nil {
				return nil, err
			}
			apply(placements, t)
		}
		// A migrated or evicted pod's workload restarts as a new pod,
		// admitted and scheduled anew.
		var restarted []*simPod
		var restarting []int
		moved := append(slices.Clip(migrated), evicted...)
		for _, old := range moved {
			restarting = append(restarting, old.tr)
		}
		if err := publish(t, restarting); err != nil {
			return nil, err
		}
		for _, old := range moved {
			sp, err := admit(old.tr, t)
			if err != nil {
				return nil, err
			}
			sp.migrated = true
			restarted = append(restarted, sp)
		}
		// A drain whose pods did not all find room is undone, as the
		// cluster autoscaler undoes a failed scale-down: the node is
		// uncordoned and the waiting pods may go back to it.
		if drained != nil {
			var waiting []string
			for _, sp := range restarted[len(migrated):] {
				if sp.node < 0 {
					waiting = append(waiting, sp.name)
				}
			}
			if len(waiting) > 0 {
				// Why the scheduler found no room, before the node is
				// uncordoned: the drain's failure.
				if e, ok := b.(Explainer); ok {
					if out.ConsolidationFailures == nil {
						out.ConsolidationFailures, out.ConsolidationFailureNodes = map[string]int{}, map[string]int{}
					}
					for _, msg := range e.PendingReasons(ctx, waiting) {
						for r, n := range schedulingReasons(msg) {
							out.ConsolidationFailures[r]++
							out.ConsolidationFailureNodes[r] += n
						}
					}
				}
				n := nodes[drained.node]
				if err := b.CordonNodes(ctx, []string{n.name}, false); err != nil {
					return nil, err
				}
				n.cordoned, n.keepUntil = false, t+backoffSteps
				out.ConsolidationsUndone++
				placements, err := b.Schedule(ctx, waiting)
				if err != nil {
					return nil, err
				}
				apply(placements, t)
			}
		}
		// Arrivals, one at a time in trace order, admitted as the webhook
		// would admit them.
		for _, i := range arrivals[t] {
			if _, err := admit(i, t); err != nil {
				return nil, err
			}
		}
		// The autoscaler asks for nodes for what is still pending.
		var waiting [][2]int64
		for _, sp := range live {
			if sp.node < 0 {
				waiting = append(waiting, sp.req)
			}
		}
		out.PendingPodHours += float64(len(waiting)) * stepHours
		if len(waiting) > 0 {
			for pi := range cfg.Pools {
				ps := &cfg.Pools[pi]
				if !ps.autoscaled() {
					continue
				}
				// Nodes on their way and empty ones count as room already:
				// a pod that an empty node did not take does not get more.
				holding := make([]bool, len(nodes))
				for _, sp := range live {
					if sp.node >= 0 {
						holding[sp.node] = true
					}
				}
				current, upcoming, empty := 0, 0, 0
				for k, n := range nodes {
					if n.pool == pi && !n.removed {
						if n.created {
							current++
							if !holding[k] {
								empty++
							}
						} else {
							upcoming++
						}
					}
				}
				need := min(binsFor(waiting, ps.CPU, ps.Memory)-upcoming-empty, ps.MaxNodes-current-upcoming)
				for range max(need, 0) {
					newNode(pi, t+provision, t+1)
				}
				break
			}
		}
		// What the step did to the pods and what it cost.
		for _, n := range nodes {
			n.loads = n.loads[:0]
		}
		for _, sp := range live {
			if sp.node >= 0 {
				n := nodes[sp.node]
				n.loads = append(n.loads, podLoad{cpu: s.cpu[sp.tr][t], mem: s.mem[sp.tr][t], rank: sp.rank})
			}
		}
		row := Sample{Time: tr.Time(t), Nodes: make([]int, len(cfg.Pools)), OracleNodes: oracle[t-start]}
		var st tally
		for _, n := range nodes {
			if n.billedAt(t) {
				row.Nodes[n.pool]++
			}
			if !n.created || n.removed {
				continue
			}
			ps := &cfg.Pools[n.pool]
			for _, l := range n.loads {
				row.CPUDemand += l.cpu / 1000
				row.MemoryDemand += l.mem / (1 << 30)
			}
			cpu, mem := accountNode(float64(ps.CPU), float64(ps.Memory), n.loads, &st)
			cpuHist.add(cpu, float64(ps.CPU))
			memHist.add(mem, float64(ps.Memory))
			row.CPUCapacity += float64(ps.CPU) / 1000
			row.MemoryCapacity += float64(ps.Memory) / (1 << 30)
			if len(n.loads) == 0 {
				n.empty++
			} else {
				n.empty = 0
			}
		}
		for pi, c := range row.Nodes {
			out.NodeHours[pi] += float64(c) * stepHours
			out.Cost[pi] += float64(c) * stepHours * cfg.Pools[pi].PricePerNodeHour
			row.CostPerHour += float64(c) * cfg.Pools[pi].PricePerNodeHour
		}
		cumCost += row.CostPerHour * stepHours
		row.Cost = cumCost
		// A migration costs its workload the step of the restart, and
		// every step its new pod waits for a node.
		for _, sp := range restarted {
			if sp.node >= 0 {
				st.Violated[sp.rank]++
			}
		}
		for _, sp := range live {
			if sp.node < 0 && sp.migrated {
				st.Intervals[sp.rank]++
				st.Violated[sp.rank]++
			}
		}
		total.add(&st)
		cumViolations += st.Violated.Total()
		row.Violations, row.Throttled, row.OOMKills = st.Violated, st.Throttled, st.OOMKills
		row.CumulativeViolations = cumViolations
		row.Pending = len(waiting)
		row.Bound = len(live) - len(waiting)
		out.Series = append(out.Series, row)
		bar.add(1, p.Name, t-start+1, end-start)
	}
	if e, ok := b.(Explainer); ok {
		var names []string
		for _, sp := range live {
			if sp.bound < 0 {
				names = append(names, sp.name)
			}
		}
		if len(names) > 0 {
			out.UnplacedReasons = e.PendingReasons(ctx, names)
		}
	}
	stopped = true
	if err := b.Stop(ctx); err != nil {
		return nil, err
	}
	for pi := range cfg.Pools {
		out.TotalNodeHours += out.NodeHours[pi]
		out.TotalCost += out.Cost[pi]
	}
	out.CPUUtil = UtilStats{Mean: cpuHist.mean(), P95: cpuHist.quantile(0.95)}
	out.MemoryUtil = UtilStats{Mean: memHist.mean(), P95: memHist.quantile(0.95)}
	out.Intervals, out.Violated, out.Throttled, out.OOMKills = total.Intervals, total.Violated, total.Throttled, total.OOMKills
	out.Pods = len(all)
	for _, sp := range all {
		if sp.bound < 0 {
			out.Unplaced++
		}
	}
	out.LatencyMinutes = quantiles(latencies)
	out.DecisionMillis = quantiles(decisions)
	out.Predictions = diffPredictions(predictionsBefore, gatherPredictions())
	out.ForecastFailures = ag.forecastFailures
	out.Wall = time.Since(started)
	return out, nil
}

// resizePods is the controller's visit of the running pods at step t:
// rightsize.DecideResize on each bound pod with what the agent publishes
// of its workload; when the controller also consolidates (plan), the
// same profile gives each pod's planned requests for the pass
// (plannedRequests). Shrinks are applied first, then growths in pod order,
// each if the node's allocatable still holds the requests of its pods (as
// a kubelet admits a resize; it would defer one that does not fit);
// a pod whose growth does not fit is returned for migration, or, where
// o.Growth defers its class, only if another node holds it now (roomFor),
// its resize otherwise left for the next visit; under GrowthDeferOnce,
// only if its growth was deferred at the previous visit already. The
// resizes go to the backend in one call; it returns their number.
func resizePods(ctx context.Context, b Backend, cfg *Config, o ResizeOptions, plan *ConsolidateOptions, ag *agent, spec RunSpec,
	nodes []*simNode, live []*simPod, t int, now time.Time, out *Outcome) (int, []*simPod, error) {
	type change struct {
		sp   *simPod
		next *v1.Pod
		req  [2]int64
		rs   PodResize
	}
	var shrinks, grows []change
	used := make([][2]int64, len(nodes))
	original := make([][2]int64, len(nodes))
	statuses := make(map[*simPod]*foresightv1alpha1.WorkloadProfileStatus, len(live))
	for _, sp := range live {
		if sp.node < 0 {
			continue
		}
		used[sp.node][0] += sp.req[0]
		used[sp.node][1] += sp.req[1]
		original[sp.node][0] += cfg.Trace.Pods[sp.tr].CPURequest
		original[sp.node][1] += cfg.Trace.Pods[sp.tr].MemoryRequest
		status := ag.ResizeStatus(sp.tr, t)
		statuses[sp] = status
		if plan != nil {
			var err error
			sp.restart, sp.ahead, err = plannedRequests(cfg.Trace, sp.tr, &spec.TenantPolicy.Spec, status, o.admission(now), plan.Horizon)
			if err != nil {
				return 0, nil, err
			}
			sp.plannedAt = t
		}
	}
	decisions, err := decideResizes(ctx, b, o, spec, nodes, live, statuses, now, out)
	if err != nil {
		return 0, nil, err
	}
	for _, sp := range live {
		d, ok := decisions[sp]
		if !ok || !d.Changed {
			continue
		}
		_, annotated := sp.pod.Annotations[annotations.OriginalRequests]
		next, err := rightsize.Resize(sp.pod, d)
		if err != nil {
			return 0, nil, fmt.Errorf("resizing pod %s: %w", sp.name, err)
		}
		if d.Pooled {
			out.ResizesPooled++
		}
		c := change{sp: sp, next: next, req: podRequests(next), rs: PodResize{Pod: next, Annotate: !annotated}}
		if d.Grows {
			grows = append(grows, c)
		} else {
			shrinks = append(shrinks, c)
		}
	}
	// A pod's growth deferred at the previous visit (GrowthDeferOnce)
	// counts only while it still has a growth that does not fit.
	growing := make(map[*simPod]bool, len(grows))
	for _, c := range grows {
		growing[c.sp] = true
	}
	for _, sp := range live {
		if !growing[sp] {
			sp.deferred = false
		}
	}
	var apply []change
	for _, c := range shrinks {
		n := c.sp.node
		used[n][0] += c.req[0] - c.sp.req[0]
		used[n][1] += c.req[1] - c.sp.req[1]
		apply = append(apply, c)
		out.ResizesDown++
	}
	var migrate []*simPod
	for _, c := range grows {
		n := c.sp.node
		ps := &cfg.Pools[nodes[n].pool]
		cpu, mem := used[n][0]+c.req[0]-c.sp.req[0], used[n][1]+c.req[1]-c.sp.req[1]
		if cpu > ps.CPU || mem > ps.Memory {
			if o.Growth == GrowthDeferOnce && !c.sp.deferred {
				// Deferred at this visit, migrated at the next if it
				// still does not fit.
				c.sp.deferred = true
				out.ResizesDeferred++
				continue
			}
			if o.Growth.defers(cfg.Trace.Pods[c.sp.tr].Class) {
				k := roomFor(cfg, nodes, used, original, n, c.req, &cfg.Trace.Pods[c.sp.tr])
				if k < 0 {
					out.ResizesDeferred++
					continue
				}
				// The pod moves: the room is taken for it (the next
				// growth does not count on it too) and freed on its node.
				pt := &cfg.Trace.Pods[c.sp.tr]
				used[k][0] += c.req[0]
				used[k][1] += c.req[1]
				original[k][0] += pt.CPURequest
				original[k][1] += pt.MemoryRequest
				used[n][0] -= c.sp.req[0]
				used[n][1] -= c.sp.req[1]
				original[n][0] -= pt.CPURequest
				original[n][1] -= pt.MemoryRequest
			}
			migrate = append(migrate, c.sp)
			out.Migrations++
			continue
		}
		used[n] = [2]int64{cpu, mem}
		apply = append(apply, c)
		c.sp.deferred = false
		out.ResizesUp++
	}
	if len(apply) == 0 {
		return 0, migrate, nil
	}
	resizes := make([]PodResize, len(apply))
	for k, c := range apply {
		resizes[k] = c.rs
	}
	if err := b.ResizePods(ctx, resizes); err != nil {
		return 0, nil, err
	}
	for _, c := range apply {
		c.sp.pod, c.sp.req = c.next, c.req
	}
	return len(apply), migrate, nil
}

// decideResizes is the controller's decision for every bound pod: with
// o.Target TargetPooled, rightsize.DecidePartitionResize on the members of
// each partition, as the Partition objects name them (read through the
// backend, as the controller reads them: a member counts where the object
// places it on the pod's node), and rightsize.DecideResize for a pod found
// in no partition; otherwise rightsize.DecideResize on each pod.
func decideResizes(ctx context.Context, b Backend, o ResizeOptions, spec RunSpec, nodes []*simNode, live []*simPod,
	statuses map[*simPod]*foresightv1alpha1.WorkloadProfileStatus, now time.Time, out *Outcome) (map[*simPod]rightsize.Decision, error) {
	opts := o.decide(now)
	policy := &spec.TenantPolicy.Spec
	decisions := make(map[*simPod]rightsize.Decision, len(live))
	groups := map[string][]*simPod{}
	if o.Target == TargetPooled {
		pr, ok := b.(PartitionReader)
		if !ok {
			return nil, fmt.Errorf("resize target %s needs a backend that lists partitions", o.Target)
		}
		parts, err := pr.Partitions(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading partitions: %w", err)
		}
		// The partition each pod is a member of on its node.
		type place struct{ partition, node string }
		member := map[string]place{}
		for i := range parts {
			p := &parts[i]
			for _, m := range p.Spec.Members {
				if m.Namespace == Namespace {
					member[m.Name] = place{partition: p.Name, node: p.Spec.NodeName}
				}
			}
		}
		for _, sp := range live {
			if sp.node < 0 {
				continue
			}
			if pl, ok := member[sp.name]; ok && pl.node == nodes[sp.node].name {
				groups[pl.partition] = append(groups[pl.partition], sp)
				continue
			}
			out.ResizesUnpartitioned++
		}
		for _, name := range slices.Sorted(maps.Keys(groups)) {
			g := groups[name]
			members := make([]rightsize.ResizeMember, len(g))
			for k, sp := range g {
				members[k] = rightsize.ResizeMember{Pod: sp.pod, Profile: statuses[sp]}
			}
			ds, err := rightsize.DecidePartitionResize(members, policy, opts)
			if err != nil {
				return nil, fmt.Errorf("partition %s: %w", name, err)
			}
			for k, sp := range g {
				decisions[sp] = ds[k]
			}
		}
	}
	for _, sp := range live {
		if _, done := decisions[sp]; done || sp.node < 0 {
			continue
		}
		decisions[sp] = rightsize.DecideResize(sp.pod, policy, statuses[sp], opts)
	}
	return decisions, nil
}

// roomFor returns a schedulable node other than from that holds a pod of
// workload pt at requests req next to the requests (used) and original
// requests (original) of its pods, within its pool's overcommit bound;
// dedicated nodes only for critical pods. -1 when none does.
func roomFor(cfg *Config, nodes []*simNode, used, original [][2]int64, from int, req [2]int64, pt *PodTrace) int {
	for k, n := range nodes {
		if k == from || !n.created || n.removed || n.cordoned {
			continue
		}
		ps := &cfg.Pools[n.pool]
		if ps.Tier == foresightv1alpha1.PoolTierDedicated && pt.Class != foresightv1alpha1.SLAClassCritical {
			continue
		}
		if used[k][0]+req[0] > ps.CPU || used[k][1]+req[1] > ps.Memory {
			continue
		}
		if r := int64(ps.MaxOvercommitPercent); ps.Tier != foresightv1alpha1.PoolTierDedicated && r > 0 &&
			(original[k][0]+pt.CPURequest > ps.CPU*r/100 || original[k][1]+pt.MemoryRequest > ps.Memory*r/100) {
			continue
		}
		return k
	}
	return -1
}

// podRequests is a pod's CPU (millicores) and memory (bytes) requests.
func podRequests(pod *v1.Pod) [2]int64 {
	var r [2]int64
	for _, c := range pod.Spec.Containers {
		r[0] += demand.QuantityIn(c.Resources.Requests[v1.ResourceCPU], demand.CPU)
		r[1] += demand.QuantityIn(c.Resources.Requests[v1.ResourceMemory], demand.Memory)
	}
	return r
}

// quantiles summarises values.
func quantiles(v []float64) Quantiles {
	if len(v) == 0 {
		return Quantiles{}
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	at := func(q float64) float64 { return s[min(len(s)-1, int(math.Ceil(q*float64(len(s))))-1)] }
	var sum float64
	for _, x := range s {
		sum += x
	}
	return Quantiles{N: len(s), Mean: sum / float64(len(s)), P50: at(0.5), P95: at(0.95), Max: s[len(s)-1]}
}

// predictionsMetric is the Foresight plugin's count of predictions by
// source and fallback.
const predictionsMetric = "foresight_scheduler_predictions_total"

// gatherPredictions reads the plugin's prediction counts, keyed
// "source" or "source/fallback".
func gatherPredictions() map[string]float64 {
	out := map[string]float64{}
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		return out
	}
	for _, f := range families {
		if f.GetName() != predictionsMetric {
			continue
		}
		for _, m := range f.GetMetric() {
			var source, fallback string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "source":
					source = l.GetValue()
				case "fallback":
					fallback = l.GetValue()
				}
			}
			key := source
			if fallback != "" {
				key += "/" + fallback
			}
			out[key] += m.GetCounter().GetValue()
		}
	}
	return out
}

func diffPredictions(before, after map[string]float64) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := int(math.Round(v - before[k])); d > 0 {
			out[k] = d
		}
	}
	return out
}

// withoutPods removes gone from live (in place) and returns what is left
// and the names of the pods removed.
func withoutPods(live, gone []*simPod) ([]*simPod, []string) {
	names := make([]string, 0, len(gone))
	for _, sp := range gone {
		names = append(names, sp.name)
	}
	kept := live[:0]
	for _, sp := range live {
		if !slices.Contains(gone, sp) {
			kept = append(kept, sp)
		}
	}
	return kept, names
}
