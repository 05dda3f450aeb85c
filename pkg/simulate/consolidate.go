package simulate

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/consolidate"
	"github.com/foresight-dev/foresight/pkg/rightsize"
)

// ConsolidateOptions tune the simulated controller's consolidation of the
// autoscaled pool, for the policies that consolidate
// (Policy.Consolidate). Zero fields take the defaults.
type ConsolidateOptions struct {
	// Every is how often the controller looks for a node to empty, right
	// after its resizes when both fall on a step: 1 h.
	Every time.Duration
	// MinNodeAge: a node added less than this long ago is not emptied:
	// 1 h.
	MinNodeAge time.Duration
	// MaxMoves is the disruption budget of a pass, the most pods evicted
	// at once: 16.
	MaxMoves int
	// Backoff: a node whose drain was undone is not drained again for this
	// long, so that the next passes try other nodes: 6 h.
	Backoff time.Duration
	// Horizon, when positive, is how far ahead a drain keeps room for the
	// pods it moves and the pods of the nodes that take them: each counts
	// for the larger of its requests and its predicted upper demand over
	// the horizon (the controller's resize target over it), so that a
	// drain does not pack pods that grow back at their next burst. Zero
	// (the default) plans by requests alone: on Bitbrains, 4 and 12 hours
	// blocked most drains and cost more node-hours than the migrations
	// they avoided (docs/benchmarks/replay.md).
	Horizon time.Duration
}

func (o ConsolidateOptions) withDefaults() ConsolidateOptions {
	if o.Every <= 0 {
		o.Every = time.Hour
	}
	if o.MinNodeAge <= 0 {
		o.MinNodeAge = time.Hour
	}
	if o.MaxMoves <= 0 {
		o.MaxMoves = 16
	}
	if o.Backoff <= 0 {
		o.Backoff = 6 * time.Hour
	}
	return o
}

// plannedRequests returns, for workload i at a consolidation pass, the
// requests its pod is re-created with if it is evicted (what the webhook
// admits a new pod with: admission) and the most its pod is predicted to
// request over horizon (the same computation over the longer horizon,
// capped at the original requests), both from the profile the controller
// reads. A horizon of zero or less gives no prediction (ahead is zero).
func plannedRequests(tr *Trace, i int, policy *foresightv1alpha1.TenantPolicySpec, profile *foresightv1alpha1.WorkloadProfileStatus,
	admission rightsize.Options, horizon time.Duration) (restart, ahead [2]int64, err error) {
	admit := func(o rightsize.Options) ([2]int64, error) {
		pod := PodObject(&tr.Pods[i], 0)
		if d := rightsize.Decide(pod, policy, profile, o); d.Changed {
			if err := rightsize.Apply(pod, d); err != nil {
				return [2]int64{}, fmt.Errorf("planning pod of %s: %w", tr.Pods[i].Workload, err)
			}
		}
		return podRequests(pod), nil
	}
	if restart, err = admit(admission); err != nil || horizon <= 0 {
		return restart, ahead, err
	}
	o := admission
	o.Horizon, o.MinChangePercent = horizon, 0
	ahead, err = admit(o)
	return restart, ahead, err
}

// consolidation is what one pass decided: the node to cordon and the pods
// to evict from it.
type consolidation struct {
	node  int
	moves []*simPod
}

// The outcomes of a consolidation pass, counted in
// Outcome.ConsolidationPasses: the decision's reasons, or why the pass was
// skipped.
const (
	passSkippedPending  = "skipped: pods pending"
	passSkippedMigrated = "skipped: pods migrated for their growth"
	// passRefusedDryRun: every plan of the pass failed its dry run.
	passRefusedDryRun = "refused by the dry run"
)

// dryRunAttempts is how many drain plans a consolidation pass tries
// through the dry run before it gives up until the next pass.
const dryRunAttempts = 8

// planConsolidation builds consolidate.Decide's view of the cluster at
// step t (every ready node with the requests of its bound pods, and, where
// the pass's resizes computed them, the requests a pod is re-created with
// and its predicted requests over the horizon; critical pods and pods on
// dedicated nodes may not move) and returns the decision's reason and its
// plan, nil when it moves nothing.
func planConsolidation(cfg *Config, o ConsolidateOptions, nodes []*simNode, live []*simPod, t int) (consolidate.Reason, *consolidation) {
	tr := cfg.Trace
	var view []consolidate.Node
	at := map[int]int{} // nodes index → view index
	for k, n := range nodes {
		if !n.created || n.removed {
			continue
		}
		ps := &cfg.Pools[n.pool]
		cn := consolidate.Node{
			Name: n.name, Allocatable: consolidate.Resources{CPU: ps.CPU, Memory: ps.Memory},
			Added: tr.Time(n.ready), Unschedulable: n.cordoned, Keep: t < n.keepUntil,
		}
		switch ps.Tier {
		case foresightv1alpha1.PoolTierFixed:
			cn.Tier = consolidate.Fixed
		case foresightv1alpha1.PoolTierVariable:
			cn.Tier = consolidate.Variable
		default:
			cn.Tier = consolidate.Dedicated
		}
		if ps.Tier != foresightv1alpha1.PoolTierDedicated && ps.MaxOvercommitPercent > 0 {
			r := int64(ps.MaxOvercommitPercent)
			cn.MaxOriginal = consolidate.Resources{CPU: ps.CPU * r / 100, Memory: ps.Memory * r / 100}
		}
		at[k] = len(view)
		view = append(view, cn)
	}
	byName := map[string]*simPod{}
	for _, sp := range live {
		v, ok := at[sp.node]
		if sp.node < 0 || !ok {
			continue
		}
		pt := &tr.Pods[sp.tr]
		cp := consolidate.Pod{
			Name:     sp.name,
			Requests: consolidate.Resources{CPU: sp.req[0], Memory: sp.req[1]},
			Original: consolidate.Resources{CPU: pt.CPURequest, Memory: pt.MemoryRequest},
			Movable:  pt.Class != foresightv1alpha1.SLAClassCritical && view[v].Tier != consolidate.Dedicated,
		}
		if sp.plannedAt == t {
			cp.Restart = consolidate.Resources{CPU: sp.restart[0], Memory: sp.restart[1]}
			cp.Ahead = consolidate.Resources{CPU: sp.ahead[0], Memory: sp.ahead[1]}
		}
		view[v].Pods = append(view[v].Pods, cp)
		byName[sp.name] = sp
	}
	plan := consolidate.Decide(view, consolidate.Options{Now: tr.Time(t), MinNodeAge: o.MinNodeAge, MaxMoves: o.MaxMoves})
	if plan.Reason != consolidate.Emptied {
		return plan.Reason, nil
	}
	c := &consolidation{node: -1}
	for k, n := range nodes {
		if n.name == plan.Node && n.created && !n.removed {
			c.node = k
		}
	}
	for _, m := range plan.Moves {
		if sp := byName[m.Pod]; sp != nil {
			c.moves = append(c.moves, sp)
		}
	}
	if c.node < 0 || len(c.moves) == 0 {
		return plan.Reason, nil
	}
	return plan.Reason, c
}

// failedScheduling matches the scheduler's FailedScheduling message, "0/14
// nodes are available: 1 node(s) were unschedulable, 5 Insufficient cpu.
// preemption: ...": the reasons with their node counts.
var failedScheduling = regexp.MustCompile(`^\d+/\d+ nodes are available: (.*?)\.( preemption:.*)?$`)

// schedulingReasons splits a FailedScheduling message into its reasons
// and the number of nodes that gave each (a reason given twice adds up);
// a message of another form is one reason of no node count.
func schedulingReasons(msg string) map[string]int {
	m := failedScheduling.FindStringSubmatch(strings.TrimSpace(msg))
	if m == nil {
		return map[string]int{msg: 0}
	}
	out := map[string]int{}
	last := ""
	for _, part := range strings.Split(m[1], ", ") {
		count, reason, ok := strings.Cut(part, " ")
		n, isCount := parseCount(count)
		if !ok || !isCount {
			if last != "" { // a comma inside a reason
				n = out[last]
				delete(out, last)
				last += ", " + part
				out[last] += n
				continue
			}
			reason, n = part, 0
		}
		out[reason] += n
		last = reason
	}
	return out
}

func parseCount(s string) (int, bool) {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, s != ""
}
