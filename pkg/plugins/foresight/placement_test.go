package foresight

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/foresight-dev/foresight/pkg/demand"
)

const gi = int64(1) << 30

func TestSizeFor(t *testing.T) {
	tests := []struct {
		name   string
		demand demand.Vector
		pol    poolPolicy
		want   demand.Vector
	}{
		{name: "no headroom, no step", demand: demand.Vector{1500, 3 * gi}, want: demand.Vector{1500, 3 * gi}},
		{name: "10% headroom", demand: demand.Vector{1000, 10 * gi}, pol: poolPolicy{HeadroomPercent: 10}, want: demand.Vector{1100, 11 * gi}},
		// 1000·1.1 = 1100 → next multiple of 250 is 1250; 10Gi·1.1 = 11Gi → step 4Gi → 12Gi.
		{name: "headroom then step", demand: demand.Vector{1000, 10 * gi}, pol: poolPolicy{HeadroomPercent: 10, Step: demand.Vector{250, 4 * gi}}, want: demand.Vector{1250, 12 * gi}},
		{name: "exact multiple of the step stays", demand: demand.Vector{500, 0}, pol: poolPolicy{Step: demand.Vector{250, 0}}, want: demand.Vector{500, 0}},
		{name: "minimum size", demand: demand.Vector{100, gi}, pol: poolPolicy{MinSize: demand.Vector{500, 2 * gi}}, want: demand.Vector{500, 2 * gi}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, sizeFor(tc.demand, tc.pol)); diff != "" {
				t.Errorf("sizeFor() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlace(t *testing.T) {
	node := demand.Vector{8000, 32 * gi}
	noOvercommit := poolPolicy{}
	tests := []struct {
		name       string
		d          demand.Vector
		partitions []partitionView
		others     demand.Vector
		pol        poolPolicy
		want       placement
		wantReason string
	}{
		{
			name: "empty node: new partition",
			d:    demand.Vector{1000, 2 * gi},
			pol:  noOvercommit,
			want: placement{Kind: placeNew, Partition: -1, Size: demand.Vector{1000, 2 * gi}, Demand: demand.Vector{1000, 2 * gi}, Allocated: demand.Vector{1000, 2 * gi}, Budget: node},
		},
		{
			name:       "room in an existing partition",
			d:          demand.Vector{1000, 2 * gi},
			partitions: []partitionView{{Size: demand.Vector{4000, 8 * gi}, Demand: demand.Vector{2000, 4 * gi}}},
			pol:        noOvercommit,
			want:       placement{Kind: placeExisting, Partition: 0, Size: demand.Vector{4000, 8 * gi}, Demand: demand.Vector{3000, 6 * gi}, Allocated: demand.Vector{4000, 8 * gi}, Budget: node},
		},
		{
			name: "tightest existing fit wins",
			d:    demand.Vector{1000, 1 * gi},
			partitions: []partitionView{
				{Size: demand.Vector{4000, 8 * gi}, Demand: demand.Vector{1000, 1 * gi}},
				{Size: demand.Vector{2000, 4 * gi}, Demand: demand.Vector{1000, 3 * gi}},
			},
			pol:  noOvercommit,
			want: placement{Kind: placeExisting, Partition: 1, Size: demand.Vector{2000, 4 * gi}, Demand: demand.Vector{2000, 4 * gi}, Allocated: demand.Vector{6000, 12 * gi}, Budget: node},
		},
		{
			name:       "partition full: it grows within the budget",
			d:          demand.Vector{1000, 2 * gi},
			partitions: []partitionView{{Size: demand.Vector{2000, 4 * gi}, Demand: demand.Vector{2000, 4 * gi}}},
			others:     demand.Vector{4000, 16 * gi},
			pol:        noOvercommit,
			want:       placement{Kind: placeGrow, Partition: 0, Size: demand.Vector{3000, 6 * gi}, Demand: demand.Vector{3000, 6 * gi}, Allocated: demand.Vector{7000, 22 * gi}, Budget: node},
		},
		{
			name:       "budget used up without overcommit",
			d:          demand.Vector{1000, 2 * gi},
			partitions: []partitionView{{Size: demand.Vector{4000, 8 * gi}, Demand: demand.Vector{4000, 8 * gi}}},
			others:     demand.Vector{4000, 8 * gi},
			pol:        noOvercommit,
			want:       placement{Kind: placeNone, Partition: -1, Budget: node},
			wantReason: ReasonPoolBudget,
		},
		{
			name:       "growth beyond the maximum size opens a new partition",
			d:          demand.Vector{1000, 2 * gi},
			partitions: []partitionView{{Size: demand.Vector{4000, 8 * gi}, Demand: demand.Vector{4000, 8 * gi}}},
			pol:        poolPolicy{MaxSize: demand.Vector{4000, 0}},
			want:       placement{Kind: placeNew, Partition: -1, Size: demand.Vector{1000, 2 * gi}, Demand: demand.Vector{1000, 2 * gi}, Allocated: demand.Vector{5000, 10 * gi}, Budget: node},
		},
		{
			name:       "pod larger than any partition may be",
			d:          demand.Vector{5000, 2 * gi},
			pol:        poolPolicy{MaxSize: demand.Vector{4000, 0}},
			want:       placement{Kind: placeNone, Partition: -1, Budget: node},
			wantReason: ReasonTooLargeForPartitions,
		},
		{
			name:       "memory alone can exhaust the budget",
			d:          demand.Vector{100, 4 * gi},
			others:     demand.Vector{1000, 30 * gi},
			pol:        noOvercommit,
			want:       placement{Kind: placeNone, Partition: -1, Budget: node},
			wantReason: ReasonPoolBudget,
		},
		{
			name: "headroom gives way to the budget",
			d:    demand.Vector{2000, 2 * gi},
			// 2000·1.5 = 3000 > the 2000 left: the partition gets what is left
			// of CPU, and its full headroom of memory.
			others: demand.Vector{6000, 8 * gi},
			pol:    poolPolicy{HeadroomPercent: 50},
			want:   placement{Kind: placeNew, Partition: -1, Size: demand.Vector{2000, 3 * gi}, Demand: demand.Vector{2000, 2 * gi}, Allocated: demand.Vector{8000, 11 * gi}, Budget: node},
		},
		{
			name:       "the bare demand must fit",
			d:          demand.Vector{2001, 2 * gi},
			others:     demand.Vector{6000, 8 * gi},
			pol:        poolPolicy{HeadroomPercent: 50},
			want:       placement{Kind: placeNone, Partition: -1, Budget: node},
			wantReason: ReasonPoolBudget,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Without shapes or spreads the joint demand is the sum.
			for i := range tc.partitions {
				tc.partitions[i].With = tc.partitions[i].Demand.Add(tc.d)
			}
			got, reason := place(tc.d, tc.partitions, tc.others, node, tc.pol)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("place() mismatch (-want +got):\n%s", diff)
			}
			if reason != tc.wantReason {
				t.Errorf("reason = %q, want %q", reason, tc.wantReason)
			}
		})
	}
}
