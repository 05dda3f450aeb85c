package foresight

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPlacementRecordRoundTrip(t *testing.T) {
	r := placementRecord{Node: "fixed-0", Pool: "fixed", Tier: "fixed", Class: "batch", Partition: "fixed-0-batch-0", Placement: "grow", Source: "profile", Demand: "cpu=250m,memory=1Gi",
		Score: 63, Cost: 100, CostWeight: 4, Utilization: 15, UtilizationWeight: 3, Risk: 80, RiskWeight: 2, Confidence: 75, ConfidenceWeight: 1}
	got, err := ParsePlacementRecord(r.String())
	if err != nil {
		t.Fatal(err)
	}
	want := PlacementRecord{Node: "fixed-0", Pool: "fixed", Tier: "fixed", Class: "batch", Partition: "fixed-0-batch-0", Placement: "grow", Source: "profile", Demand: "cpu=250m,memory=1Gi",
		Score: 63, Cost: 100, CostWeight: 4, Utilization: 15, UtilizationWeight: 3, Risk: 80, RiskWeight: 2, Confidence: 75, ConfidenceWeight: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParsePlacementRecord(String()) mismatch (-want +got):\n%s", diff)
	}
	unpooled, err := ParsePlacementRecord(placementRecord{Node: "n", Class: "standard"}.String())
	if err != nil {
		t.Fatal(err)
	}
	if unpooled.Pool != "none" || unpooled.Tier != "none" {
		t.Errorf("a node in no pool parses as pool %q tier %q, want none/none", unpooled.Pool, unpooled.Tier)
	}
}

func TestParsePlacementRecordErrors(t *testing.T) {
	for _, note := range []string{
		"",
		"node=a",
		"node=a pool=b tier=c class=d score=x",
		"garbage",
	} {
		if _, err := ParsePlacementRecord(note); err == nil {
			t.Errorf("ParsePlacementRecord(%q) accepted a malformed note", note)
		}
	}
	// Unknown keys from a newer scheduler are ignored.
	if _, err := ParsePlacementRecord("node=a pool=b tier=fixed class=d score=1 newterm=3"); err != nil {
		t.Errorf("unknown key refused: %v", err)
	}
}
