package simulate

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2/ktesting"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// firstFitBackend stands in for the control plane in unit tests of the
// replay's bookkeeping: it binds each pending pod, in creation order, to
// the first node (in creation order) whose allocatable holds its requests
// and whose taints it tolerates.
type firstFitBackend struct {
	nodes     []*v1.Node
	pods      []*v1.Pod
	bound     map[string]string
	published int
	starts    int
	resized   int
	evicted   int
	cordons   []string
	// pin keeps a workload's pods (label app) to one node.
	pin map[string]string
	// explain, when set, is the scheduler's message about every pending
	// pod (PendingReasons).
	explain string
}

func (f *firstFitBackend) Start(_ context.Context, run RunSpec) error {
	f.nodes, f.pods, f.bound = append([]*v1.Node(nil), run.Nodes...), nil, map[string]string{}
	f.starts++
	return nil
}

func (f *firstFitBackend) AddNodes(_ context.Context, nodes []*v1.Node) error {
	f.nodes = append(f.nodes, nodes...)
	return nil
}

func (f *firstFitBackend) RemoveNodes(_ context.Context, names []string) error {
	for _, name := range names {
		for _, n := range f.bound {
			if n == name {
				return fmt.Errorf("node %s is not empty", name)
			}
		}
		for i, n := range f.nodes {
			if n.Name == name {
				f.nodes = append(f.nodes[:i], f.nodes[i+1:]...)
				break
			}
		}
	}
	return nil
}

func (f *firstFitBackend) PublishProfiles(_ context.Context, p []*foresightv1alpha1.WorkloadProfile) error {
	f.published += len(p)
	return nil
}

func (f *firstFitBackend) CreatePod(_ context.Context, pod *v1.Pod) error {
	f.pods = append(f.pods, pod)
	return nil
}

func (f *firstFitBackend) DeletePods(_ context.Context, names []string) error {
	for _, name := range names {
		delete(f.bound, name)
		for i, p := range f.pods {
			if p.Name == name {
				f.pods = append(f.pods[:i], f.pods[i+1:]...)
				break
			}
		}
	}
	return nil
}

func (f *firstFitBackend) EvictPods(ctx context.Context, names []string) error {
	f.evicted += len(names)
	return f.DeletePods(ctx, names)
}

func (f *firstFitBackend) CordonNodes(_ context.Context, names []string, unschedulable bool) error {
	for _, name := range names {
		for _, n := range f.nodes {
			if n.Name == name {
				n.Spec.Unschedulable = unschedulable
				f.cordons = append(f.cordons, fmt.Sprintf("%s=%t", name, unschedulable))
			}
		}
	}
	return nil
}

// dryRunFirstFit is a firstFitBackend that dry-runs drains: TryPlace
// places the pods first-fit, as Schedule would, on the nodes less exclude.
type dryRunFirstFit struct {
	*firstFitBackend
	tries int
}

func (f *dryRunFirstFit) TryPlace(_ context.Context, pods []*v1.Pod, exclude string) ([]string, int, string, error) {
	f.tries++
	used := f.used()
	out := make([]string, len(pods))
	for i, p := range pods {
		r := podRequests(p)
		for _, n := range f.nodes {
			if n.Name == exclude || n.Spec.Unschedulable || len(n.Spec.Taints) > 0 && len(p.Spec.Tolerations) == 0 {
				continue
			}
			if pin, ok := f.pin[p.Labels["app"]]; ok && pin != n.Name {
				continue
			}
			u := used[n.Name]
			if u[0]+r[0] <= n.Status.Allocatable.Cpu().MilliValue() && u[1]+r[1] <= n.Status.Allocatable.Memory().Value() {
				out[i] = n.Name
				used[n.Name] = [2]int64{u[0] + r[0], u[1] + r[1]}
				break
			}
		}
		if out[i] == "" {
			return out, i, f.explain, nil
		}
	}
	return out, -1, "", nil
}

// used sums the requests of the bound pods per node.
func (f *firstFitBackend) used() map[string][2]int64 {
	used := map[string][2]int64{}
	for _, p := range f.pods {
		if n := f.bound[p.Name]; n != "" {
			r := podRequests(p)
			u := used[n]
			used[n] = [2]int64{u[0] + r[0], u[1] + r[1]}
		}
	}
	return used
}

func (f *firstFitBackend) Schedule(context.Context, []string) (map[string]string, error) {
	used := f.used()
	for _, p := range f.pods {
		if f.bound[p.Name] != "" {
			continue
		}
		r := podRequests(p)
		for _, n := range f.nodes {
			if n.Spec.Unschedulable || len(n.Spec.Taints) > 0 && len(p.Spec.Tolerations) == 0 {
				continue
			}
			if pin, ok := f.pin[p.Labels["app"]]; ok && pin != n.Name {
				continue
			}
			u := used[n.Name]
			if u[0]+r[0] <= n.Status.Allocatable.Cpu().MilliValue() && u[1]+r[1] <= n.Status.Allocatable.Memory().Value() {
				f.bound[p.Name] = n.Name
				used[n.Name] = [2]int64{u[0] + r[0], u[1] + r[1]}
				break
			}
		}
	}
	out := map[string]string{}
	for _, p := range f.pods {
		out[p.Name] = f.bound[p.Name]
	}
	return out, nil
}

func (f *firstFitBackend) ResizePods(_ context.Context, resizes []PodResize) error {
	for _, rs := range resizes {
		for i, p := range f.pods {
			if p.Name == rs.Pod.Name {
				f.pods[i] = rs.Pod.DeepCopy()
			}
		}
	}
	f.resized += len(resizes)
	return nil
}

func (f *firstFitBackend) Stop(context.Context) error { return nil }

// PendingReasons implements Explainer: explain for every named pod not
// bound, nil without it.
func (f *firstFitBackend) PendingReasons(_ context.Context, names []string) map[string]string {
	if f.explain == "" {
		return nil
	}
	out := map[string]string{}
	for _, n := range names {
		if f.bound[n] == "" {
			out[n] = f.explain
		}
	}
	return out
}

const gi = float64(1 << 30)

// constant returns n samples of v, NaN outside [from, to].
func constant(n int, v float64, from, to int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = v
		if i < from || i > to {
			x[i] = math.NaN()
		}
	}
	return x
}

// scenario is three workloads over two hours on a fixed node and an
// autoscaled variable pool:
//   - a (critical, 1 CPU/1Gi requested) uses 0.5 CPU and 1Gi;
//   - b (standard, 2 CPU/2Gi) uses 1.5 CPU and 1Gi, but 4 CPU at step 5 and
//     7.5Gi at step 7;
//   - c (batch, 2 CPU/2Gi) uses 3 CPU and 1Gi for its first hour only.
func scenario() *Trace {
	const n = 24
	b := constant(n, 1500, 0, n-1)
	b[5] = 4000
	bm := constant(n, gi, 0, n-1)
	bm[7] = 7.5 * gi
	return &Trace{
		Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Step: 5 * time.Minute, Steps: n,
		Pods: []PodTrace{
			{Name: "a", Class: foresightv1alpha1.SLAClassCritical, CPURequest: 1000, MemoryRequest: 1 << 30, CPU: constant(n, 500, 0, n-1), Memory: constant(n, gi, 0, n-1)},
			{Name: "b", Class: foresightv1alpha1.SLAClassStandard, CPURequest: 2000, MemoryRequest: 2 << 30, CPU: b, Memory: bm},
			{Name: "c", Class: foresightv1alpha1.SLAClassBatch, CPURequest: 2000, MemoryRequest: 2 << 30, CPU: constant(n, 3000, 0, 11), Memory: constant(n, gi, 0, 11)},
		},
	}
}

func scenarioPools() []PoolSpec {
	return []PoolSpec{
		{Name: "fixed", Tier: foresightv1alpha1.PoolTierFixed, Nodes: 1, CPU: 4000, Memory: 8 << 30, PricePerNodeHour: 1},
		{Name: "variable", Tier: foresightv1alpha1.PoolTierVariable, Nodes: 0, MaxNodes: 2, CPU: 4000, Memory: 8 << 30, PricePerNodeHour: 2},
	}
}

func TestRunBookkeeping(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f := &firstFitBackend{}
	res, err := Run(ctx, f, Config{
		Trace: scenario(), Pools: scenarioPools(),
		Policies: []Policy{{Name: "requests", Agent: AgentOff}},
	})
	if err != nil {
		t.Fatal(err)
	}
	o := res.Outcomes[0]
	// c does not fit the fixed node next to a and b: the autoscaler asks
	// for a variable node at step 0, paid from step 1, which takes c at
	// step 1. c leaves after step 11; its node is empty at steps 12 and 13
	// (10 minutes) and removed at step 14: paid for steps 1–13.
	if diff := cmp.Diff([]float64{2, 13.0 / 12}, o.NodeHours, cmpFloat); diff != "" {
		t.Errorf("node-hours per pool (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(2+2*13.0/12, o.TotalCost, cmpFloat); diff != "" {
		t.Errorf("cost (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Quantiles{N: 3, Mean: 5.0 / 3, P50: 0, P95: 5, Max: 5}, o.LatencyMinutes, cmpFloat); diff != "" {
		t.Errorf("scheduling latency (-want +got):\n%s", diff)
	}
	if o.Pods != 3 || o.Unplaced != 0 || o.PendingPodHours != 5.0/60 {
		t.Errorf("pods %d, unplaced %d, pending %v pod-h; want 3, 0, 1/12", o.Pods, o.Unplaced, o.PendingPodHours)
	}
	// Step 5: a and b need 4.5 CPU of 4: both throttled. Step 7: 8.5Gi
	// of 8Gi: b, the lower class, is killed.
	var want tally
	want.Intervals = ClassCounts{0, 11, 24, 24} // best-effort, batch, standard, critical
	want.Throttled = ClassCounts{0, 0, 1, 1}
	want.OOMKills = ClassCounts{0, 0, 1, 0}
	want.Violated = ClassCounts{0, 0, 2, 1}
	got := tally{Intervals: o.Intervals, Throttled: o.Throttled, OOMKills: o.OOMKills, Violated: o.Violated}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	if s := o.Series[5]; s.Throttled.Of(foresightv1alpha1.SLAClassCritical) != 1 || s.Nodes[1] != 1 || s.Bound != 3 {
		t.Errorf("step 5: %+v", s)
	}
	if s := o.Series[0]; s.Pending != 1 || s.Nodes[1] != 0 {
		t.Errorf("step 0: want 1 pending pod and no variable node paid yet, got %+v", s)
	}

	b := res.Bounds
	// Steps 0–11 need 5 CPU (7.5 at step 5; 9.5Gi at step 7): 2 nodes;
	// steps 12–23 need 2 CPU: 1 node.
	if b.StaticNodes != 2 || b.SumOfPeaksNodes != 2 {
		t.Errorf("static %d, sum of peaks %d nodes; want 2, 2", b.StaticNodes, b.SumOfPeaksNodes)
	}
	if diff := cmp.Diff(3.0, b.OracleNodeHours, cmpFloat); diff != "" {
		t.Errorf("oracle node-hours (-want +got):\n%s", diff)
	}
	if b.SumPeakCPU != 7500 || b.PeakCPU != 7500 || b.PeakMemory != 9.5*gi {
		t.Errorf("peaks: sum of CPU peaks %v, aggregate CPU %v, memory %v", b.SumPeakCPU, b.PeakCPU, b.PeakMemory)
	}
}

// TestRunConsolidation: on a 4-core fixed node, x (3 cores requested)
// runs for the first hour and y (2 cores) for four; y does not fit next to
// x and gets a variable node, ready at step 1. Once x is gone (step 12)
// the fixed node could hold y, and a consolidating controller moves it
// at its first hourly pass after the node is an hour old (step 24): y is
// evicted, re-created on the fixed node (the variable one is cordoned),
// and the empty variable node is removed 10 minutes later (step 26).
func TestRunConsolidation(t *testing.T) {
	const n = 48
	tr := &Trace{
		Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Step: 5 * time.Minute, Steps: n,
		Pods: []PodTrace{
			{Name: "x", Class: foresightv1alpha1.SLAClassBatch, CPURequest: 3000, MemoryRequest: 1 << 30, CPU: constant(n, 1000, 0, 11), Memory: constant(n, gi, 0, 11)},
			{Name: "y", Class: foresightv1alpha1.SLAClassStandard, CPURequest: 2000, MemoryRequest: 1 << 30, CPU: constant(n, 1000, 0, n-1), Memory: constant(n, gi, 0, n-1)},
		},
	}
	for _, tc := range []struct {
		name             string
		consolidate      bool
		variableSteps    float64
		consolidations   int
		evicted          int
		cordons          []string
		violatedStandard int64
		pin              map[string]string
		undone           int
		pods             int
		// passes at steps 12 (the node is 55 minutes old), 24 and 36
		// (the node is gone, or kept after the undone drain).
		passes   map[string]int
		explain  string
		failures map[string]int
		// failureNodes: the nodes giving each reason.
		failureNodes map[string]int
		// dryRun: the backend dry-runs drains, tries times in all, and
		// refuses those in refusals.
		dryRun         bool
		tries, refused int
		refusals       map[string]int
	}{
		{name: "without consolidation the variable node stays", variableSteps: 47, pods: 2},
		{name: "consolidation empties it", consolidate: true, variableSteps: 25, consolidations: 1, evicted: 1,
			cordons: []string{"variable-0=true"}, violatedStandard: 1, pods: 3, passes: map[string]int{"no-candidate": 2, "emptied": 1}},
		// The scheduler disagrees with the plan (y may only run on
		// variable-0): the drain at step 24 is undone, y goes back, and
		// the node is not tried again for 6 hours.
		{name: "a drain whose pod finds no room is undone", consolidate: true, pin: map[string]string{"y": "variable-0"},
			variableSteps: 47, consolidations: 1, evicted: 1, undone: 1,
			cordons: []string{"variable-0=true", "variable-0=false"}, violatedStandard: 1, pods: 3,
			passes:       map[string]int{"no-candidate": 2, "emptied": 1},
			explain:      "0/2 nodes are available: 1 node(s) were unschedulable, 1 node(s) didn't match Pod's node affinity/selector. preemption: not tried.",
			failures:     map[string]int{"node(s) were unschedulable": 1, "node(s) didn't match Pod's node affinity/selector": 1},
			failureNodes: map[string]int{"node(s) were unschedulable": 1, "node(s) didn't match Pod's node affinity/selector": 1}},
		// With a dry run the same drain is refused before anything is
		// evicted: y never moves. Nothing was disrupted, so the next pass
		// tries the node again (and is refused again).
		{name: "a drain the dry run refuses evicts nothing", consolidate: true, pin: map[string]string{"y": "variable-0"}, dryRun: true, tries: 2, refused: 2,
			variableSteps: 47, pods: 2,
			passes:   map[string]int{"no-candidate": 1, passRefusedDryRun: 2},
			explain:  "0/2 nodes are available: 1 node(s) were unschedulable, 1 node(s) didn't match Pod's node affinity/selector.",
			refusals: map[string]int{"node(s) were unschedulable": 2, "node(s) didn't match Pod's node affinity/selector": 2}},
		{name: "a drain the dry run accepts goes ahead", consolidate: true, dryRun: true, tries: 1, variableSteps: 25, consolidations: 1, evicted: 1,
			cordons: []string{"variable-0=true"}, violatedStandard: 1, pods: 3, passes: map[string]int{"no-candidate": 2, "emptied": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			f := &firstFitBackend{pin: tc.pin, explain: tc.explain}
			var b Backend = f
			dr := &dryRunFirstFit{firstFitBackend: f}
			if tc.dryRun {
				b = dr
			}
			res, err := Run(ctx, b, Config{
				Trace: tr, Pools: scenarioPools(),
				Policies: []Policy{{Name: "requests", Agent: AgentOff, Consolidate: tc.consolidate}},
			})
			if err != nil {
				t.Fatal(err)
			}
			o := res.Outcomes[0]
			if diff := cmp.Diff([]float64{4, tc.variableSteps / 12}, o.NodeHours, cmpFloat); diff != "" {
				t.Errorf("node-hours per pool (-want +got):\n%s", diff)
			}
			if o.Consolidations != tc.consolidations || o.ConsolidationMoves != tc.evicted || o.ConsolidationsUndone != tc.undone || f.evicted != tc.evicted {
				t.Errorf("consolidations %d, moves %d, undone %d, evicted %d; want %d, %d, %d, %d",
					o.Consolidations, o.ConsolidationMoves, o.ConsolidationsUndone, f.evicted, tc.consolidations, tc.evicted, tc.undone, tc.evicted)
			}
			if diff := cmp.Diff(tc.cordons, f.cordons); diff != "" {
				t.Errorf("cordons (-want +got):\n%s", diff)
			}
			if got := o.Violated.Of(foresightv1alpha1.SLAClassStandard); got != tc.violatedStandard {
				t.Errorf("standard violated intervals %d, want %d (the restart)", got, tc.violatedStandard)
			}
			if o.Unplaced != 0 || o.Pods != tc.pods {
				t.Errorf("pods %d, unplaced %d; want %d, 0", o.Pods, o.Unplaced, tc.pods)
			}
			if diff := cmp.Diff(tc.passes, o.ConsolidationPasses); diff != "" {
				t.Errorf("consolidation passes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.failures, o.ConsolidationFailures); diff != "" {
				t.Errorf("why drains failed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.failureNodes, o.ConsolidationFailureNodes); diff != "" {
				t.Errorf("nodes giving each reason (-want +got):\n%s", diff)
			}
			if dr.tries != tc.tries || o.DrainsRefused != tc.refused {
				t.Errorf("dry runs %d, refused %d; want %d, %d", dr.tries, o.DrainsRefused, tc.tries, tc.refused)
			}
			if diff := cmp.Diff(tc.refusals, o.DrainRefusals); diff != "" {
				t.Errorf("why dry runs refused drains (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpFloat = cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })

func TestAccountNode(t *testing.T) {
	for _, tc := range []struct {
		name           string
		loads          []podLoad
		want           tally
		wantCPU, wantM float64
	}{{
		name:  "fits",
		loads: []podLoad{{cpu: 1, mem: 1, rank: 3}, {cpu: 2, mem: 2, rank: 0}},
		want:  tally{Intervals: ClassCounts{1, 0, 0, 1}}, wantCPU: 3, wantM: 3,
	}, {
		name:    "cpu over capacity throttles every pod",
		loads:   []podLoad{{cpu: 6, mem: 1, rank: 3}, {cpu: 6, mem: 1, rank: 1}},
		want:    tally{Intervals: ClassCounts{0, 1, 0, 1}, Throttled: ClassCounts{0, 1, 0, 1}, Violated: ClassCounts{0, 1, 0, 1}},
		wantCPU: 10, wantM: 2,
	}, {
		name:  "memory over capacity kills the lowest class, largest first, until the rest fit",
		loads: []podLoad{{cpu: 1, mem: 5, rank: 3}, {cpu: 1, mem: 3, rank: 1}, {cpu: 1, mem: 4, rank: 1}, {cpu: 1, mem: 2, rank: 2}},
		// 14 of 10: the batch pod with 4 goes (10 left, fits).
		want:    tally{Intervals: ClassCounts{0, 2, 1, 1}, OOMKills: ClassCounts{0, 1, 0, 0}, Violated: ClassCounts{0, 1, 0, 0}},
		wantCPU: 4, wantM: 10,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var got tally
			cpu, mem := accountNode(10, 10, tc.loads, &got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("tally (-want +got):\n%s", diff)
			}
			if cpu != tc.wantCPU || mem != tc.wantM {
				t.Errorf("delivered %v CPU, %v memory; want %v, %v", cpu, mem, tc.wantCPU, tc.wantM)
			}
		})
	}
}

func TestBinsFor(t *testing.T) {
	for _, tc := range []struct {
		name string
		reqs [][2]int64
		want int
	}{
		{"none", nil, 0},
		{"first fit decreasing", [][2]int64{{2, 1}, {5, 1}, {4, 1}, {3, 1}, {6, 1}}, 2}, // 6+4, 5+3+2
		{"memory bound", [][2]int64{{1, 6}, {1, 6}}, 2},
		{"too large is left out", [][2]int64{{11, 1}, {1, 1}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := binsFor(tc.reqs, 10, 10); got != tc.want {
				t.Errorf("binsFor = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestUtilHist(t *testing.T) {
	var h utilHist
	for i := range 100 {
		h.add(float64(i), 100) // 0%..99%
	}
	h.add(300, 200) // capped at 100%
	if got := h.quantile(0.95); got != 0.95 {
		t.Errorf("p95 = %v, want 0.95", got)
	}
	if want := (4950.0 + 200) / (100*100 + 200); math.Abs(h.mean()-want) > 1e-12 {
		t.Errorf("mean = %v, want %v", h.mean(), want)
	}
}

func TestConfigValidate(t *testing.T) {
	base := func() Config {
		return Config{Trace: scenario(), Pools: scenarioPools(), Policies: []Policy{{Name: "x"}}}
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
	}{
		{"start outside", func(c *Config) { c.Start = 24 }},
		{"past the end", func(c *Config) { c.Start, c.Steps = 20, 5 }},
		{"no pools", func(c *Config) { c.Pools = nil }},
		{"no policies", func(c *Config) { c.Policies = nil }},
		{"pool twice", func(c *Config) { c.Pools = append(c.Pools, c.Pools[0]) }},
		{"bad series", func(c *Config) { c.Trace.Pods[0].CPU = c.Trace.Pods[0].CPU[:3] }},
		{"negative usage", func(c *Config) { c.Trace.Pods[1].Memory[2] = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.change(&c)
			if err := c.Validate(); err == nil {
				t.Error("Validate accepted it")
			}
		})
	}
	c := base()
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}
