package simulate

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/foresight-dev/foresight/pkg/annotations"
)

// Result is a replay's outcome: the bounds and one Outcome per policy.
type Result struct {
	Trace    TraceInfo
	Pools    []PoolSpec
	Bounds   Bounds
	Outcomes []Outcome
	// Wall is the replay's run time.
	Wall time.Duration
}

// TraceInfo describes what was replayed.
type TraceInfo struct {
	Pods int
	Step time.Duration
	// LearnFrom is the first sample of history; Start and End bound the
	// replay.
	LearnFrom, Start, End time.Time
}

// Outcome is what one policy did.
type Outcome struct {
	Policy Policy
	// NodeHours and Cost per pool (Result.Pools order) and in total.
	NodeHours, Cost           []float64
	TotalNodeHours, TotalCost float64
	// CPUUtil and MemoryUtil are the utilisation of node capacity by what
	// its pods used (delivered, at most the capacity) over every node and
	// step: the mean (Σ used / Σ capacity) and the 95th percentile of the
	// node-step values.
	CPUUtil, MemoryUtil UtilStats
	// Per SLA class: pod-steps on a node, pod-steps violated (throttled or
	// OOM-killed), pod-steps throttled, OOM kills.
	Intervals, Violated, Throttled, OOMKills ClassCounts
	// Pods created, and of them never bound during their life.
	Pods, Unplaced int
	// UnplacedReasons has the scheduler's last word on each pod still
	// pending at the end, when the backend tells.
	UnplacedReasons map[string]string
	// PendingPodHours sums the time pods spent pending.
	PendingPodHours float64
	// LatencyMinutes is the simulated time from a pod's arrival to its
	// binding; DecisionMillis the wall time the scheduler took to decide
	// (and bind) an arriving pod.
	LatencyMinutes, DecisionMillis Quantiles
	// Admitted requests summed over pods (after rightsizing) and as the
	// pods asked: CPU in millicores, memory in bytes; Rightsized counts
	// the pods whose requests were lowered.
	RequestedCPU, OriginalCPU, RequestedMemory, OriginalMemory int64
	Rightsized                                                 int
	// Predictions counts the Foresight plugin's predictions by source (and
	// fallback): how often it used a forecast, a profile or requests.
	Predictions map[string]int
	// ResizesUp and ResizesDown count the controller's in-place resizes
	// that raised (at least one request) and only lowered requests;
	// Migrations the pods it moved because their node could not hold
	// their growth (Policy.Resize).
	ResizesUp, ResizesDown, Migrations int
	// ResizesDeferred counts the growths left for a later visit because
	// neither the pod's node nor another held them
	// (GrowthDeferUnlessRoom).
	ResizesDeferred int
	// ResizesPooled counts the resizes whose targets were pods' shares of
	// their partitions' pooled demand, below their own bounds, and
	// ResizesUnpartitioned the visits of bound pods that the Partition
	// objects did not (yet) name as members on their nodes, sized for
	// their own bounds (TargetPooled).
	ResizesPooled, ResizesUnpartitioned int
	// Consolidations counts the nodes the controller drained to empty
	// them, ConsolidationMoves the pods it evicted for that, and
	// ConsolidationsUndone the drains undone because an evicted pod found
	// no room (Policy.Consolidate).
	Consolidations, ConsolidationMoves, ConsolidationsUndone int
	// ConsolidationPasses counts the controller's consolidation passes by
	// outcome: the decision's reason (consolidate.Reason), or why the pass
	// was skipped. ConsolidationFailures counts, for the pods of undone
	// drains that found no room, the reasons in the scheduler's
	// FailedScheduling message (each reason once per pod), and
	// ConsolidationFailureNodes the nodes that gave each reason, summed
	// over those pods.
	ConsolidationPasses, ConsolidationFailures, ConsolidationFailureNodes map[string]int
	// DrainsRefused counts the drain plans that the dry run through the
	// scheduler refused before evicting anything (a backend that is a
	// DryRunner), and DrainRefusals the reasons of the first pod that found
	// no room in each, as the scheduler's FailedScheduling message gives
	// them.
	DrainsRefused int
	DrainRefusals map[string]int
	// ForecastFailures counts workloads the agent could not fit a
	// forecaster for.
	ForecastFailures int
	// Wall is the policy's run time.
	Wall time.Duration
	// Series has one sample per replayed step.
	Series []Sample
}

// ViolationRate is the share of a class's pod-steps that were violated.
func (o *Outcome) ViolationRate(rank int) float64 {
	if o.Intervals[rank] == 0 {
		return 0
	}
	return float64(o.Violated[rank]) / float64(o.Intervals[rank])
}

// UtilStats summarises utilisation.
type UtilStats struct{ Mean, P95 float64 }

// Quantiles summarise a distribution.
type Quantiles struct {
	N                   int
	Mean, P50, P95, Max float64
}

// Sample is one replayed step of one policy.
type Sample struct {
	Time time.Time
	// Nodes paid for per pool (ready or being provisioned).
	Nodes []int
	// CostPerHour of those nodes; Cost so far.
	CostPerHour, Cost float64
	// Demand of placed pods and capacity of ready nodes: cores, GiB.
	CPUDemand, CPUCapacity, MemoryDemand, MemoryCapacity float64
	Bound, Pending                                       int
	// Per SLA class, this step.
	Violations, Throttled, OOMKills ClassCounts
	CumulativeViolations            int64
	// OracleNodes is the dynamic oracle's node count.
	OracleNodes int
}

func cores(milli float64) string { return strconv.FormatFloat(milli/1000, 'f', 0, 64) }

func gib(b float64) string { return strconv.FormatFloat(b/(1<<30), 'f', 0, 64) + "Gi" }

func pct(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + "%" }

// WriteTable writes the comparison as text tables.
func (r *Result) WriteTable(w io.Writer) error {
	b := &r.Bounds
	days := r.Trace.End.Sub(r.Trace.Start).Hours() / 24
	fmt.Fprintf(w, "Replay: %d workloads, %s → %s (%.1f days, steps of %s), history from %s\n",
		r.Trace.Pods, r.Trace.Start.Format(time.RFC3339), r.Trace.End.Format(time.RFC3339), days, r.Trace.Step, r.Trace.LearnFrom.Format(time.RFC3339))
	var pools []string
	for _, p := range r.Pools {
		n := strconv.Itoa(p.Nodes)
		if p.autoscaled() {
			n = fmt.Sprintf("%d–%d", p.Nodes, p.MaxNodes)
		}
		pools = append(pools, fmt.Sprintf("%s (%s) %s × %s CPU/%s at $%.2f/node-h, overcommit ≤ %d%%", p.Name, p.Tier, n,
			cores(float64(p.CPU)), gib(float64(p.Memory)), p.PricePerNodeHour, max(p.MaxOvercommitPercent, 100)))
	}
	fmt.Fprintf(w, "Pools: %s\n", strings.Join(pools, "; "))
	fmt.Fprintf(w, "Replayed in %s.\n\n", r.Wall.Round(time.Second))

	fmt.Fprintf(w, "Bounds (nodes of %s CPU / %s, fluid packing of CPU and memory):\n", cores(float64(b.NodeCPU)), gib(float64(b.NodeMemory)))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  static lower bound\t%d nodes\t%.0f node-h\tpeak of the aggregate demand: %s CPU, %s\n", b.StaticNodes, b.StaticNodeHours, cores(b.PeakCPU), gib(b.PeakMemory))
	fmt.Fprintf(tw, "  sum of per-pod peaks\t%d nodes\t%.0f node-h\t%s CPU, %s\n", b.SumOfPeaksNodes, b.SumOfPeaksNodeHours, cores(b.SumPeakCPU), gib(b.SumPeakMemory))
	fmt.Fprintf(tw, "  dynamic oracle\t\t%.0f node-h\taggregate demand packed anew every step (%.2f× static)\n", b.OracleNodeHours, ratio(b.OracleNodeHours, b.StaticNodeHours))
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nCost and capacity:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	head := "POLICY\tNODE-H\t×STATIC\t×PEAKS"
	for _, p := range r.Pools {
		head += "\t" + strings.ToUpper(p.Name)
	}
	head += "\tCOST $\tCPU UTIL mean/p95\tMEM UTIL mean/p95\tREQUESTS cpu/mem of asked\tRIGHTSIZED\t"
	fmt.Fprintln(tw, head)
	for i := range r.Outcomes {
		o := &r.Outcomes[i]
		line := fmt.Sprintf("%s\t%.0f\t%.2f\t%.2f", o.Policy.Name, o.TotalNodeHours, ratio(o.TotalNodeHours, b.StaticNodeHours), ratio(o.TotalNodeHours, b.SumOfPeaksNodeHours))
		for _, nh := range o.NodeHours {
			line += fmt.Sprintf("\t%.0f", nh)
		}
		line += fmt.Sprintf("\t%.0f\t%s / %s\t%s / %s\t%s / %s\t%d/%d\t", o.TotalCost, pct(o.CPUUtil.Mean), pct(o.CPUUtil.P95), pct(o.MemoryUtil.Mean), pct(o.MemoryUtil.P95),
			pct(ratio(float64(o.RequestedCPU), float64(o.OriginalCPU))), pct(ratio(float64(o.RequestedMemory), float64(o.OriginalMemory))), o.Rightsized, o.Pods)
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nService (violated pod-intervals: CPU throttled or OOM-killed, share of the class's pod-intervals):")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	head = "POLICY"
	for _, c := range Classes {
		head += "\t" + strings.ToUpper(string(c))
	}
	head += "\tTHROTTLED\tOOM KILLS\tUNPLACED\tPENDING POD-H\tLATENCY p50/p95/max\tDECISION p50/p95\t"
	fmt.Fprintln(tw, head)
	for i := range r.Outcomes {
		o := &r.Outcomes[i]
		line := o.Policy.Name
		for _, c := range Classes {
			rank := annotations.Rank(c)
			line += fmt.Sprintf("\t%.3f%%", 100*o.ViolationRate(rank))
		}
		line += fmt.Sprintf("\t%d\t%d\t%d\t%.1f\t%.0f/%.0f/%.0f min\t%.1f/%.1f ms\t", o.Throttled.Total(), o.OOMKills.Total(), o.Unplaced, o.PendingPodHours,
			o.LatencyMinutes.P50, o.LatencyMinutes.P95, o.LatencyMinutes.Max, o.DecisionMillis.P50, o.DecisionMillis.P95)
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes []string
	for i := range r.Outcomes {
		o := &r.Outcomes[i]
		if len(o.Predictions) == 0 {
			continue
		}
		keys := make([]string, 0, len(o.Predictions))
		for k := range o.Predictions {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", k, o.Predictions[k]))
		}
		note := fmt.Sprintf("  %s: %s", o.Policy.Name, strings.Join(parts, ", "))
		if o.ForecastFailures > 0 {
			note += fmt.Sprintf(" (no forecast for %d workloads: history too short)", o.ForecastFailures)
		}
		notes = append(notes, note)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nForesight plugin predictions by source (/fallback):")
		for _, n := range notes {
			fmt.Fprintln(w, n)
		}
	}
	var resizes []string
	for i := range r.Outcomes {
		o := &r.Outcomes[i]
		if o.Policy.Resize {
			resizes = append(resizes, fmt.Sprintf("  %s: %d resizes raising requests, %d lowering them; %d pods migrated (their growth did not fit their node), %d growths deferred (no node held them)",
				o.Policy.Name, o.ResizesUp, o.ResizesDown, o.Migrations, o.ResizesDeferred))
			if o.ResizesPooled+o.ResizesUnpartitioned > 0 {
				resizes = append(resizes, fmt.Sprintf("    %d resizes to a share of the partition's pooled demand; %d pod visits found the pod in no partition on its node (sized for its own bound)",
					o.ResizesPooled, o.ResizesUnpartitioned))
			}
		}
		if o.Policy.Consolidate {
			resizes = append(resizes, fmt.Sprintf("  %s: %d variable nodes drained to be removed (%d pods evicted), %d drains undone (an evicted pod found no room)",
				o.Policy.Name, o.Consolidations, o.ConsolidationMoves, o.ConsolidationsUndone))
			if len(o.ConsolidationPasses) > 0 {
				resizes = append(resizes, "    consolidation passes: "+countsText(o.ConsolidationPasses))
			}
			if o.DrainsRefused > 0 {
				resizes = append(resizes, fmt.Sprintf("    %d drain plans refused by their dry run through the scheduler, nothing evicted; why the first pod found no room: %s",
					o.DrainsRefused, countsText(o.DrainRefusals)))
			}
			if len(o.ConsolidationFailures) > 0 {
				reasons := make(map[string]int, len(o.ConsolidationFailures))
				for r, n := range o.ConsolidationFailures {
					reasons[fmt.Sprintf("%s (%d nodes)", r, o.ConsolidationFailureNodes[r])] = n
				}
				resizes = append(resizes, "    why evicted pods found no room (pods whose FailedScheduling names the reason, and the nodes that gave it summed over them): "+countsText(reasons))
			}
		}
	}
	if len(resizes) > 0 {
		fmt.Fprintln(w, "\nIn-place resizing by the controller, migrations and consolidation:")
		for _, n := range resizes {
			fmt.Fprintln(w, n)
		}
	}
	for i := range r.Outcomes {
		o := &r.Outcomes[i]
		if len(o.UnplacedReasons) == 0 {
			continue
		}
		fmt.Fprintf(w, "\nStill pending at the end under %s:\n", o.Policy.Name)
		names := make([]string, 0, len(o.UnplacedReasons))
		for n := range o.UnplacedReasons {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "  %s: %s\n", n, o.UnplacedReasons[n])
		}
	}
	return nil
}

// countsText lists counts, the largest first: "a 3, b 1".
func countsText(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, "; ")
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// WriteSummaryCSV writes one row per policy with every total.
func (r *Result) WriteSummaryCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"policy", "node_hours", "ratio_static", "ratio_sum_of_peaks", "cost"}
	for _, p := range r.Pools {
		head = append(head, "node_hours_"+p.Name, "cost_"+p.Name)
	}
	head = append(head, "cpu_util_mean", "cpu_util_p95", "memory_util_mean", "memory_util_p95")
	for _, c := range Classes {
		head = append(head, "intervals_"+string(c), "violated_"+string(c), "violation_rate_"+string(c), "throttled_"+string(c), "oom_kills_"+string(c))
	}
	head = append(head, "pods", "unplaced", "pending_pod_hours", "latency_p50_min", "latency_p95_min", "latency_max_min",
		"decision_p50_ms", "decision_p95_ms", "requested_cpu", "original_cpu", "requested_memory", "original_memory", "rightsized",
		"resizes_up", "resizes_down", "migrations", "consolidations", "consolidation_moves", "consolidations_undone", "drains_refused", "wall_seconds",
		"static_nodes", "static_node_hours", "sum_of_peaks_nodes", "sum_of_peaks_node_hours", "oracle_node_hours")
	if err := cw.Write(head); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 8, 64) }
	b := &r.Bounds
	for i := range r.Outcomes {
		o := &r.Outcomes[i]
		row := []string{o.Policy.Name, f(o.TotalNodeHours), f(ratio(o.TotalNodeHours, b.StaticNodeHours)), f(ratio(o.TotalNodeHours, b.SumOfPeaksNodeHours)), f(o.TotalCost)}
		for k := range r.Pools {
			row = append(row, f(o.NodeHours[k]), f(o.Cost[k]))
		}
		row = append(row, f(o.CPUUtil.Mean), f(o.CPUUtil.P95), f(o.MemoryUtil.Mean), f(o.MemoryUtil.P95))
		for _, c := range Classes {
			k := annotations.Rank(c)
			row = append(row, strconv.FormatInt(o.Intervals[k], 10), strconv.FormatInt(o.Violated[k], 10), f(o.ViolationRate(k)),
				strconv.FormatInt(o.Throttled[k], 10), strconv.FormatInt(o.OOMKills[k], 10))
		}
		row = append(row, strconv.Itoa(o.Pods), strconv.Itoa(o.Unplaced), f(o.PendingPodHours), f(o.LatencyMinutes.P50), f(o.LatencyMinutes.P95), f(o.LatencyMinutes.Max),
			f(o.DecisionMillis.P50), f(o.DecisionMillis.P95),
			resource.NewMilliQuantity(o.RequestedCPU, resource.DecimalSI).String(), resource.NewMilliQuantity(o.OriginalCPU, resource.DecimalSI).String(),
			strconv.FormatInt(o.RequestedMemory, 10), strconv.FormatInt(o.OriginalMemory, 10), strconv.Itoa(o.Rightsized),
			strconv.Itoa(o.ResizesUp), strconv.Itoa(o.ResizesDown), strconv.Itoa(o.Migrations),
			strconv.Itoa(o.Consolidations), strconv.Itoa(o.ConsolidationMoves), strconv.Itoa(o.ConsolidationsUndone), strconv.Itoa(o.DrainsRefused), f(o.Wall.Seconds()),
			strconv.Itoa(b.StaticNodes), f(b.StaticNodeHours), strconv.Itoa(b.SumOfPeaksNodes), f(b.SumOfPeaksNodeHours), f(b.OracleNodeHours))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteSeriesCSV writes every metric of every policy at every step, one
// row per policy and step.
func (r *Result) WriteSeriesCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"policy", "time"}
	for _, p := range r.Pools {
		head = append(head, "nodes_"+p.Name)
	}
	head = append(head, "cost_per_hour", "cost_cumulative", "cpu_demand_cores", "cpu_capacity_cores", "memory_demand_gib", "memory_capacity_gib",
		"pods_bound", "pods_pending")
	for _, kind := range []string{"violated", "throttled", "oom_kills"} {
		for _, c := range Classes {
			head = append(head, kind+"_"+string(c))
		}
	}
	head = append(head, "violated_cumulative", "oracle_nodes", "static_nodes", "sum_of_peaks_nodes")
	if err := cw.Write(head); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	row := make([]string, 0, len(head))
	for i := range r.Outcomes {
		o := &r.Outcomes[i]
		for _, s := range o.Series {
			row = append(row[:0], o.Policy.Name, s.Time.Format(time.RFC3339))
			for _, n := range s.Nodes {
				row = append(row, strconv.Itoa(n))
			}
			row = append(row, f(s.CostPerHour), strconv.FormatFloat(s.Cost, 'f', 4, 64), strconv.FormatFloat(s.CPUDemand, 'f', 3, 64), f(s.CPUCapacity),
				strconv.FormatFloat(s.MemoryDemand, 'f', 3, 64), f(s.MemoryCapacity), strconv.Itoa(s.Bound), strconv.Itoa(s.Pending))
			for _, cc := range []ClassCounts{s.Violations, s.Throttled, s.OOMKills} {
				for _, c := range Classes {
					row = append(row, strconv.FormatInt(cc.Of(c), 10))
				}
			}
			row = append(row, strconv.FormatInt(s.CumulativeViolations, 10), strconv.Itoa(s.OracleNodes), strconv.Itoa(r.Bounds.StaticNodes), strconv.Itoa(r.Bounds.SumOfPeaksNodes))
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
