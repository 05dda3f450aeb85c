package foresight

import (
	"fmt"
	"strconv"
	"strings"

	fwk "k8s.io/kube-scheduler/framework"

	"github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// ReasonPlaced is the reason of the event that records why a pod was
// placed where it was.
const ReasonPlaced = "ForesightPlaced"

// placementRecord is why a pod went to a node: the node's pool and every
// term of its score. It is published as the note of a ForesightPlaced
// event, in a key=value form that people read and ParsePlacementRecord
// parses.
type placementRecord struct {
	Node, Pool, Tier, Class string
	Score                   int64
	Cost, CostWeight        int64
	Utilization             int64
	UtilizationWeight       int64
}

// Clone returns the record itself: it is not modified once written.
func (r *placementRecord) Clone() fwk.StateData { return r }

func (r placementRecord) String() string {
	pool, tier := r.Pool, r.Tier
	if pool == "" {
		pool, tier = "none", "none"
	}
	return fmt.Sprintf("node=%s pool=%s tier=%s class=%s score=%d cost=%d costWeight=%d utilization=%d utilizationWeight=%d",
		r.Node, pool, tier, r.Class, r.Score, r.Cost, r.CostWeight, r.Utilization, r.UtilizationWeight)
}

// PlacementRecord is a parsed ForesightPlaced event note.
type PlacementRecord struct {
	Node, Pool, Class string
	Tier              v1alpha1.PoolTier
	// Score and its terms, each in [0, 100], with their weights.
	Score, Cost, CostWeight, Utilization, UtilizationWeight int64
}

// ParsePlacementRecord parses the note of a ForesightPlaced event.
func ParsePlacementRecord(note string) (PlacementRecord, error) {
	var r PlacementRecord
	ints := map[string]*int64{"score": &r.Score, "cost": &r.Cost, "costWeight": &r.CostWeight, "utilization": &r.Utilization, "utilizationWeight": &r.UtilizationWeight}
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
