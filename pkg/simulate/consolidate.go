package simulate

import (
	"time"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/consolidate"
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

// consolidation is what one pass decided: the node to cordon and the pods
// to evict from it.
type consolidation struct {
	node  int
	moves []*simPod
}

// planConsolidation builds consolidate.Decide's view of the cluster at
// step t (every ready node with the requests of its bound pods; critical
// pods and pods on dedicated nodes may not move) and returns its plan, or
// nil when it moves nothing.
func planConsolidation(cfg *Config, o ConsolidateOptions, nodes []*simNode, live []*simPod, t int) *consolidation {
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
		view[v].Pods = append(view[v].Pods, consolidate.Pod{
			Name:     sp.name,
			Requests: consolidate.Resources{CPU: sp.req[0], Memory: sp.req[1]},
			Original: consolidate.Resources{CPU: pt.CPURequest, Memory: pt.MemoryRequest},
			Movable:  pt.Class != foresightv1alpha1.SLAClassCritical && view[v].Tier != consolidate.Dedicated,
		})
		byName[sp.name] = sp
	}
	plan := consolidate.Decide(view, consolidate.Options{Now: tr.Time(t), MinNodeAge: o.MinNodeAge, MaxMoves: o.MaxMoves})
	if plan.Reason != consolidate.Emptied {
		return nil
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
		return nil
	}
	return c
}
