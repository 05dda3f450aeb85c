package rightsize

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
)

func TestPooledFraction(t *testing.T) {
	for _, tc := range []struct {
		name    string
		spreads []int64
		want    float64
	}{
		{name: "no member", want: 1},
		{name: "one member keeps its own bound", spreads: []int64{300}, want: 1},
		{name: "two equal spreads: 1/√2", spreads: []int64{300, 300}, want: 1 / math.Sqrt2},
		{name: "3-4-5: sqrt(9+16)/7", spreads: []int64{3, 4}, want: 5.0 / 7},
		{name: "n equal spreads: 1/√n", spreads: []int64{7, 7, 7, 7}, want: 0.5},
		{name: "members without spread do not count", spreads: []int64{0, 500, -3}, want: 1},
		{name: "no spread at all", spreads: []int64{0, 0}, want: 1},
		{name: "bytes do not overflow", spreads: []int64{1 << 40, 1 << 40}, want: 1 / math.Sqrt2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pooledFraction(tc.spreads); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("pooledFraction(%v) = %v, want %v", tc.spreads, got, tc.want)
			}
		})
	}
}

func TestDecidePartitionResize(t *testing.T) {
	// Profiles of container app with p50 100m/100Mi (no mean: the base is
	// the median) and a p99 (the standard class's bound) of 400m/400Mi or
	// 500m/400Mi: spreads of 300m and 400m above the base.
	p400 := profileOf(appUsage)
	p500 := profileOf(usage("app", [5]string{"100m", "200m", "300m", "500m", "900m"}, [5]string{"100Mi", "200Mi", "300Mi", "400Mi", "1Gi"}))
	fresh := func(name string) *v1.Pod { return pod(ctr("app", "cpu=2,memory=4Gi", "")).Name(name).Obj() }
	classed := func(name string, class foresightv1alpha1.SLAClass) *v1.Pod {
		return pod(ctr("app", "cpu=2,memory=4Gi", "")).Name(name).Annotation(annotations.SLAClass, string(class)).Obj()
	}
	orig := `{"app":{"cpu":"2","memory":"4Gi"}}`
	at := func(name, requests string) *v1.Pod {
		return pod(ctr("app", requests, "")).Name(name).Annotation(annotations.OriginalRequests, orig).Obj()
	}
	pooled := DefaultResizeOptions(now)
	pooled.Pooled = true
	own := DefaultResizeOptions(now)

	type result struct {
		Changed, Grows, Pooled bool
		Reason                 Reason
		Requests               string
	}
	tests := []struct {
		name    string
		members []ResizeMember
		opts    ResizeOptions
		want    []result
	}{
		{
			// ρ = sqrt(2·300²)/600 = 1/√2; share = 100 + ⌈212.13⌉ = 313m,
			// and 100Mi + 212.13Mi rounded up to a MiB = 313Mi. The pooled
			// bound is 200 + 424.26 = 624.26; the shares add up to 626.
			name:    "two equal members: each 1/√2 of its spread",
			members: []ResizeMember{{fresh("a"), p400}, {fresh("b"), p400}},
			opts:    pooled,
			want: []result{
				{Changed: true, Pooled: true, Reason: Resized, Requests: "cpu=313m,memory=313Mi"},
				{Changed: true, Pooled: true, Reason: Resized, Requests: "cpu=313m,memory=313Mi"},
			},
		},
		{
			name:    "the same members, pooling off: each its own bound",
			members: []ResizeMember{{fresh("a"), p400}, {fresh("b"), p400}},
			opts:    own,
			want: []result{
				{Changed: true, Reason: Resized, Requests: "cpu=400m,memory=400Mi"},
				{Changed: true, Reason: Resized, Requests: "cpu=400m,memory=400Mi"},
			},
		},
		{
			// CPU spreads 300m and 400m: ρ = 500/700; shares 100 + ⌈214.29⌉
			// and 100 + ⌈285.71⌉, 701m in all against J = 700m. Memory
			// spreads are equal: 313Mi each.
			name:    "unequal spreads keep their order",
			members: []ResizeMember{{fresh("a"), p400}, {fresh("b"), p500}},
			opts:    pooled,
			want: []result{
				{Changed: true, Pooled: true, Reason: Resized, Requests: "cpu=315m,memory=313Mi"},
				{Changed: true, Pooled: true, Reason: Resized, Requests: "cpu=386m,memory=313Mi"},
			},
		},
		{
			name:    "a member alone keeps its own bound",
			members: []ResizeMember{{fresh("a"), p400}},
			opts:    pooled,
			want:    []result{{Changed: true, Reason: Resized, Requests: "cpu=400m,memory=400Mi"}},
		},
		{
			// The critical pod is reserved in full and never pooled: the
			// standard one is alone in the pool.
			name:    "critical members are left alone and not pooled",
			members: []ResizeMember{{classed("a", "critical"), p400}, {fresh("b"), p400}},
			opts:    pooled,
			want: []result{
				{Reason: NotOvercommittable},
				{Changed: true, Reason: Resized, Requests: "cpu=400m,memory=400Mi"},
			},
		},
		{
			name:    "a member without a profile is not pooled",
			members: []ResizeMember{{fresh("a"), nil}, {fresh("b"), p400}},
			opts:    pooled,
			want: []result{
				{Reason: NoProfile},
				{Changed: true, Reason: Resized, Requests: "cpu=400m,memory=400Mi"},
			},
		},
		{
			// Batch is bounded at p95 (300m/300Mi); each class is pooled
			// with its own members only, so each pod is alone.
			name:    "classes are pooled apart",
			members: []ResizeMember{{classed("a", "batch"), p400}, {fresh("b"), p400}},
			opts:    pooled,
			want: []result{
				{Changed: true, Reason: Resized, Requests: "cpu=300m,memory=300Mi"},
				{Changed: true, Reason: Resized, Requests: "cpu=400m,memory=400Mi"},
			},
		},
		{
			// a's guarantee of 350m is its CPU base: spread 50m against
			// b's 300m; ρ = sqrt(50² + 300²)/350 = 0.86897; shares
			// 350 + ⌈43.45⌉ and 100 + ⌈260.69⌉. Memory as above.
			name: "the guarantee is a floor, not spread",
			members: []ResizeMember{
				{pod(ctr("app", "cpu=2,memory=4Gi", "")).Name("a").Annotation(annotations.MinCPU, "350m").Obj(), p400},
				{fresh("b"), p400},
			},
			opts: pooled,
			want: []result{
				{Changed: true, Pooled: true, Reason: Resized, Requests: "cpu=394m,memory=313Mi"},
				{Changed: true, Pooled: true, Reason: Resized, Requests: "cpu=361m,memory=313Mi"},
			},
		},
		{
			// Shares of 313m/313Mi: a (at 320m/320Mi) would save 2%, below
			// the 10% hysteresis, and keeps its requests; b (at 300m/300Mi)
			// grows to its share.
			name:    "hysteresis applies to the share",
			members: []ResizeMember{{at("a", "cpu=320m,memory=320Mi"), p400}, {at("b", "cpu=300m,memory=300Mi"), p400}},
			opts:    pooled,
			want: []result{
				{Pooled: true, Reason: AtPrediction, Requests: "cpu=320m,memory=320Mi"},
				{Changed: true, Grows: true, Pooled: true, Reason: Resized, Requests: "cpu=313m,memory=313Mi"},
			},
		},
		{
			// A limit bounds the own bound (U = 250m, spread 150m) before
			// pooling: ρ = sqrt(150² + 300²)/450 = 0.74536; shares
			// 100 + ⌈111.80⌉ and 100 + ⌈223.61⌉. Memory as above.
			name:    "a limit caps the own bound first",
			members: []ResizeMember{{pod(ctr("app", "cpu=250m,memory=4Gi", "cpu=250m")).Name("a").Obj(), p400}, {fresh("b"), p400}},
			opts:    pooled,
			want: []result{
				{Changed: true, Pooled: true, Reason: Resized, Requests: "cpu=212m,memory=313Mi"},
				{Changed: true, Pooled: true, Reason: Resized, Requests: "cpu=324m,memory=313Mi"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := DecidePartitionResize(tc.members, enabled, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []result
			for _, d := range ds {
				r := result{Changed: d.Changed, Grows: d.Grows, Pooled: d.Pooled, Reason: d.Reason}
				if len(d.Containers) == 1 {
					r.Requests = format(d.Containers[0].Requests)
				}
				got = append(got, r)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
			// Without pooling, or for a pod alone, DecidePartitionResize is
			// DecideResize.
			for i, m := range tc.members {
				if tc.opts.Pooled && len(tc.members) > 1 {
					break
				}
				if diff := cmp.Diff(DecideResize(m.Pod, enabled, m.Profile, tc.opts), ds[i]); diff != "" {
					t.Errorf("member %d differs from DecideResize (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

// TestDecidePartitionResizeSplitsAPodsShare checks how a pod's share is
// split between its containers: in proportion to what each may lose
// above its floor (the 10m and 16Mi minimums).
func TestDecidePartitionResizeSplitsAPodsShare(t *testing.T) {
	two := pod(ctr("app", "cpu=2,memory=4Gi", ""), ctr("side", "cpu=500m,memory=128Mi", "")).Name("a").Obj()
	one := pod(ctr("app", "cpu=2,memory=4Gi", "")).Name("b").Obj()
	opts := DefaultResizeOptions(now)
	opts.Pooled = true
	ds, err := DecidePartitionResize([]ResizeMember{{two, profileOf(appUsage, sideUsage)}, {one, profileOf(appUsage)}}, enabled, opts)
	if err != nil {
		t.Fatal(err)
	}
	// CPU: the two-container pod's own bound is 400m + 100m (p99s) over a
	// base of 110m (p50s): spread 390m; the other's 300m. ρ =
	// sqrt(390² + 300²)/690 = 0.713096; shares 110 + ⌈278.11⌉ = 389m and
	// 100 + ⌈213.93⌉ = 314m. The first pod gives up 111m: app (390m above
	// its floor) ⌊111·390/480⌋ = 90m, side (90m) ⌊111·90/480⌋ = 20m.
	// Memory likewise, with spreads of 354Mi and 300Mi, in bytes (rounded
	// up to a MiB).
	want := []map[string]string{
		{"app": "cpu=310m,memory=309Mi", "side": "cpu=80m,memory=53Mi"},
		{"app": "cpu=314m,memory=313Mi"},
	}
	var got []map[string]string
	for _, d := range ds {
		if !d.Pooled || !d.Changed {
			t.Errorf("decision %+v: want a pooled resize", d)
		}
		got = append(got, outcomeOf(d).Requests)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if !strings.Contains(ds[0].Message, "share of its partition's pooled demand") {
		t.Errorf("message %q does not say the share is pooled", ds[0].Message)
	}
}

// TestDecidePartitionResizeBounds checks, over pools of members with
// varied spreads, that every share is between the member's base and its
// own bound, and that the shares of a pool add up to at least its pooled
// bound Σ base + sqrt(Σ spread²) (computed here independently), and to
// less than the sum of the own bounds.
func TestDecidePartitionResizeBounds(t *testing.T) {
	p99s := []string{"150m", "400m", "700m", "1", "1200m", "1500m", "1900m"}
	opts := DefaultResizeOptions(now)
	opts.Pooled = true
	for n := 2; n <= len(p99s); n++ {
		var members []ResizeMember
		var base, upper, sumSq float64
		for i := range n {
			prof := profileOf(usage("app", [5]string{"100m", "110m", "120m", p99s[i], "2"}, [5]string{"100Mi", "200Mi", "300Mi", "400Mi", "1Gi"}))
			members = append(members, ResizeMember{pod(ctr("app", "cpu=2,memory=4Gi", "")).Name("p" + p99s[i]).Obj(), prof})
			u := float64(demand.QuantityIn(*q(p99s[i]), demand.CPU))
			base += 100
			upper += u
			sumSq += (u - 100) * (u - 100)
		}
		ds, err := DecidePartitionResize(members, enabled, opts)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for i, d := range ds {
			c := d.Containers[0].Requests[v1.ResourceCPU]
			v := float64(c.MilliValue())
			own := float64(demand.QuantityIn(*q(p99s[i]), demand.CPU))
			if v < 100 || v > own {
				t.Errorf("%d members: member %d share %vm outside [100m, %vm]", n, i, v, own)
			}
			sum += v
		}
		joint := base + math.Sqrt(sumSq)
		if sum < joint || sum > joint+float64(n) || sum >= upper {
			t.Errorf("%d members: shares add up to %vm, want between the pooled bound %.2fm (+1m per member for rounding) and below the own bounds' %vm", n, sum, joint, upper)
		}
	}
}

func TestDecidePartitionResizeRefusesAMemberWithoutAPod(t *testing.T) {
	opts := DefaultResizeOptions(now)
	opts.Pooled = true
	_, err := DecidePartitionResize([]ResizeMember{{Pod: pod(ctr("app", "cpu=2,memory=4Gi", "")).Obj()}, {}}, enabled, opts)
	if err == nil || !strings.Contains(err.Error(), "member 1") {
		t.Errorf("error %v, want one naming member 1", err)
	}
}
