package foresight

import (
	"fmt"
	"strconv"
	"strings"

	fwk "k8s.io/kube-scheduler/framework"

	"github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// ReasonPlaced is the reason of the event that recorded why a pod was
// placed where it was, before the record moved to the pod's
// foresight.dev/placement annotation; readers still accept it.
const ReasonPlaced = "ForesightPlaced"

// placementRecord is why a pod went to a node: the node's pool and every
// term of its score. Bind writes it onto the pod as the
// foresight.dev/placement annotation, in a key=value form that people
// read and ParsePlacementRecord parses.
type placementRecord struct {
	Node, Pool, Tier, Class string
	// Partition is the partition the pod joined and Placement how
	// (existing, grow, new); empty off pools.
	Partition, Placement string
	// Source of the pod's predicted demand, and the demand.
	Source, Demand               string
	Score                        int64
	Cost, CostWeight             int64
	Utilization                  int64
	UtilizationWeight            int64
	Risk, RiskWeight             int64
	Confidence, ConfidenceWeight int64
}

// Clone returns the record itself: it is not modified once written.
func (r *placementRecord) Clone() fwk.StateData { return r }

func (r placementRecord) String() string {
	pool, tier := r.Pool, r.Tier
	if pool == "" {
		pool, tier = "none", "none"
	}
	part, how := r.Partition, r.Placement
	if part == "" {
		part, how = "none", "none"
	}
	return fmt.Sprintf("node=%s pool=%s tier=%s class=%s partition=%s placement=%s source=%s demand=%s score=%d cost=%d costWeight=%d utilization=%d utilizationWeight=%d risk=%d riskWeight=%d confidence=%d confidenceWeight=%d",
		r.Node, pool, tier, r.Class, part, how, r.Source, r.Demand, r.Score, r.Cost, r.CostWeight, r.Utilization, r.UtilizationWeight, r.Risk, r.RiskWeight, r.Confidence, r.ConfidenceWeight)
}

// PlacementRecord is a parsed placement record.
type PlacementRecord struct {
	Node, Pool, Class string
	Tier              v1alpha1.PoolTier
	// Partition the pod joined and how: existing, grow or new ("none" off
	// pools).
	Partition, Placement string
	// Source of the pod's predicted demand (forecast, profile, requests,
	// default) and the demand itself.
	Source, Demand string
	// Score and its terms, each in [0, 100], with their weights.
	Score, Cost, CostWeight, Utilization, UtilizationWeight int64
	Risk, RiskWeight, Confidence, ConfidenceWeight          int64
}

// ParsePlacementRecord parses a placement record: the value of a pod's
// foresight.dev/placement annotation, or the note of an older
// ForesightPlaced event.
func ParsePlacementRecord(note string) (PlacementRecord, error) {
	var r PlacementRecord
	ints := map[string]*int64{
		"score": &r.Score, "cost": &r.Cost, "costWeight": &r.CostWeight, "utilization": &r.Utilization, "utilizationWeight": &r.UtilizationWeight,
		"risk": &r.Risk, "riskWeight": &r.RiskWeight, "confidence": &r.Confidence, "confidenceWeight": &r.ConfidenceWeight,
	}
	seen := 0
	for _, field := range strings.Fields(note) {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return PlacementRecord{}, fmt.Errorf("placement record: %q is not key=value", field)
		}
		switch k {
		case "node":
			r.Node = v
		case "pool":
			r.Pool = v
		case "tier":
			r.Tier = v1alpha1.PoolTier(v)
		case "class":
			r.Class = v
		case "partition":
			r.Partition = v
		case "placement":
			r.Placement = v
		case "source":
			r.Source = v
		case "demand":
			r.Demand = v
		default:
			p, ok := ints[k]
			if !ok {
				continue // a newer scheduler may add terms
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return PlacementRecord{}, fmt.Errorf("placement record: %s: %w", k, err)
			}
			*p = n
		}
		seen++
	}
	if r.Node == "" || seen < 4 {
		return PlacementRecord{}, fmt.Errorf("placement record %q lacks fields", note)
	}
	return r, nil
}
