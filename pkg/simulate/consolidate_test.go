package simulate

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/rightsize"
)

// TestPlannedRequests: a standard pod of 8 cores and 8Gi whose 99% CPU
// forecast has upper bounds of 1, 2, 3, 6, 4 and 2 cores at 1…6 hours from
// now and a flat 300Mi memory bound. Re-created now, the webhook admits it
// for 2 hours: 2 cores (the bounds at 1 and 2 hours), 300Mi. Over 12 hours
// it is predicted to need 6 cores; over 3 hours 3. Over 24 hours with a
// bound of 9 cores at 20 hours, the original 8 caps it.
func TestPlannedRequests(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	tr := &Trace{Pods: []PodTrace{{Name: "w", Workload: "w", Class: foresightv1alpha1.SLAClassStandard, CPURequest: 8000, MemoryRequest: 8 << 30}}}
	profile := func(uppers map[int]string) *foresightv1alpha1.WorkloadProfileStatus {
		cpu := foresightv1alpha1.Forecast{Resource: foresightv1alpha1.ResourceCPU, Confidence: "0.99"}
		for h := 1; h <= 24; h++ {
			if u, ok := uppers[h]; ok {
				cpu.Points = append(cpu.Points, foresightv1alpha1.ForecastPoint{
					Time: metav1.NewTime(now.Add(time.Duration(h) * time.Hour)), Value: resource.MustParse("100m"), Upper: ptr.To(resource.MustParse(u))})
			}
		}
		mem := foresightv1alpha1.Forecast{Resource: foresightv1alpha1.ResourceMemory, Confidence: "0.99"}
		for h := 1; h <= 24; h++ {
			mem.Points = append(mem.Points, foresightv1alpha1.ForecastPoint{
				Time: metav1.NewTime(now.Add(time.Duration(h) * time.Hour)), Value: resource.MustParse("200Mi"), Upper: ptr.To(resource.MustParse("300Mi"))})
		}
		return &foresightv1alpha1.WorkloadProfileStatus{
			LastUpdated: &metav1.Time{Time: now}, ObservedPods: 1,
			Containers: []foresightv1alpha1.ContainerProfile{{Name: containerName, Forecasts: []foresightv1alpha1.Forecast{cpu, mem}}},
		}
	}
	burst := map[int]string{1: "1", 2: "2", 3: "3", 4: "6", 5: "4", 6: "2"}
	late := map[int]string{1: "1", 2: "2", 20: "9"}
	admission := rightsize.DefaultOptions(now)
	admission.Horizon = 2 * time.Hour
	const mi = 1 << 20
	for _, tc := range []struct {
		name               string
		uppers             map[int]string
		horizon            time.Duration
		restart, wantAhead [2]int64
	}{
		{name: "12 hours", uppers: burst, horizon: 12 * time.Hour, restart: [2]int64{2000, 300 * mi}, wantAhead: [2]int64{6000, 300 * mi}},
		{name: "3 hours", uppers: burst, horizon: 3 * time.Hour, restart: [2]int64{2000, 300 * mi}, wantAhead: [2]int64{3000, 300 * mi}},
		{name: "capped at the original requests", uppers: late, horizon: 24 * time.Hour, restart: [2]int64{2000, 300 * mi}, wantAhead: [2]int64{8000, 300 * mi}},
		{name: "no horizon", uppers: burst, restart: [2]int64{2000, 300 * mi}},
		{name: "a negative horizon", uppers: burst, horizon: -time.Hour, restart: [2]int64{2000, 300 * mi}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restart, ahead, err := plannedRequests(tr, 0, &TenantPolicyObject(true).Spec, profile(tc.uppers), admission, tc.horizon)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([2][2]int64{tc.restart, tc.wantAhead}, [2][2]int64{restart, ahead}); diff != "" {
				t.Errorf("restart and ahead requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSchedulingReasons(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
		want      map[string]int
	}{
		{
			name: "reasons and preemption",
			msg: "0/14 nodes are available: 1 node(s) were unschedulable, 2 node(s) had untolerated taint {foresight.dev/dedicated: true}, " +
				"5 Insufficient cpu, 6 no partition of the pod's class has room and the node's pool budget is used up. " +
				"preemption: 0/14 nodes are available: 14 No preemption victims found for incoming pod.",
			want: map[string]int{"Insufficient cpu": 5, "no partition of the pod's class has room and the node's pool budget is used up": 6,
				"node(s) had untolerated taint {foresight.dev/dedicated: true}": 2, "node(s) were unschedulable": 1},
		},
		{
			name: "no preemption part, a reason given twice",
			msg:  "0/3 nodes are available: 1 Insufficient cpu, 2 Insufficient cpu.",
			want: map[string]int{"Insufficient cpu": 3},
		},
		{
			name: "a comma inside a reason",
			msg:  "0/2 nodes are available: 2 node(s) didn't match pod affinity rules, or anti-affinity rules.",
			want: map[string]int{"node(s) didn't match pod affinity rules, or anti-affinity rules": 2},
		},
		{name: "another form", msg: "no nodes available to schedule pods", want: map[string]int{"no nodes available to schedule pods": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, schedulingReasons(tc.msg)); diff != "" {
				t.Errorf("schedulingReasons (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRoomFor: where a pod whose growth its node cannot hold could go
// instead (GrowthDeferUnlessRoom). Nodes of 8 cores and 8Gi; the fixed
// and variable pools' overcommit bound is 200% of original requests.
func TestRoomFor(t *testing.T) {
	const g = 1 << 30
	cfg := &Config{Pools: []PoolSpec{
		{Name: "fixed", Tier: foresightv1alpha1.PoolTierFixed, CPU: 8000, Memory: 8 * g, MaxOvercommitPercent: 200},
		{Name: "dedicated", Tier: foresightv1alpha1.PoolTierDedicated, CPU: 8000, Memory: 8 * g},
		{Name: "variable", Tier: foresightv1alpha1.PoolTierVariable, CPU: 8000, Memory: 8 * g, MaxOvercommitPercent: 200},
	}}
	standard := &PodTrace{Class: foresightv1alpha1.SLAClassStandard, CPURequest: 4000, MemoryRequest: g}
	critical := &PodTrace{Class: foresightv1alpha1.SLAClassCritical, CPURequest: 4000, MemoryRequest: g}
	node := func(pool int) *simNode { return &simNode{pool: pool, created: true} }
	cordoned := node(0)
	cordoned.cordoned = true
	removed := node(2)
	removed.removed = true
	for _, tc := range []struct {
		name           string
		nodes          []*simNode
		used, original [][2]int64
		pod            *PodTrace
		want           int
	}{
		{
			name:  "the first other node that holds it",
			nodes: []*simNode{node(0), node(2), node(2)}, pod: standard,
			used:     [][2]int64{{7000, g}, {6000, g}, {2000, g}},
			original: [][2]int64{{8000, g}, {8000, g}, {2000, g}},
			want:     2,
		},
		{
			name:  "not its own node",
			nodes: []*simNode{node(0), node(2)}, pod: standard,
			used:     [][2]int64{{1000, g}, {7000, g}},
			original: [][2]int64{{1000, g}, {8000, g}},
			want:     -1,
		},
		{
			name:  "memory counts",
			nodes: []*simNode{node(2), node(2)}, pod: standard,
			used:     [][2]int64{{8000, g}, {1000, 7*g + 1}},
			original: [][2]int64{{8000, g}, {1000, 7*g + 1}},
			want:     -1,
		},
		{
			// 14 of the 16 original cores the bound allows are taken: 4
			// more do not fit, though 2 cores are requested.
			name:  "the overcommit bound on original requests",
			nodes: []*simNode{node(2), node(0)}, pod: standard,
			used:     [][2]int64{{8000, g}, {2000, g}},
			original: [][2]int64{{8000, g}, {14000, g}},
			want:     -1,
		},
		{
			name:  "cordoned and removed nodes take nothing",
			nodes: []*simNode{node(2), cordoned, removed}, pod: standard,
			used:     [][2]int64{{8000, g}, {0, 0}, {0, 0}},
			original: [][2]int64{{8000, g}, {0, 0}, {0, 0}},
			want:     -1,
		},
		{
			name:  "dedicated nodes only for critical pods",
			nodes: []*simNode{node(2), node(1)}, pod: standard,
			used:     [][2]int64{{8000, g}, {0, 0}},
			original: [][2]int64{{8000, g}, {0, 0}},
			want:     -1,
		},
		{
			name:  "a critical pod may go to a dedicated node",
			nodes: []*simNode{node(2), node(1)}, pod: critical,
			used:     [][2]int64{{8000, g}, {0, 0}},
			original: [][2]int64{{8000, g}, {0, 0}},
			want:     1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := roomFor(cfg, tc.nodes, tc.used, tc.original, 0, [2]int64{4000, g}, tc.pod); got != tc.want {
				t.Errorf("roomFor = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestGrowthPolicyDefers(t *testing.T) {
	classes := []foresightv1alpha1.SLAClass{foresightv1alpha1.SLAClassCritical, foresightv1alpha1.SLAClassStandard,
		foresightv1alpha1.SLAClassBatch, foresightv1alpha1.SLAClassBestEffort}
	for _, tc := range []struct {
		growth GrowthPolicy
		want   []bool // per class, critical first
	}{
		{GrowthMigrate, []bool{false, false, false, false}},
		{GrowthDeferUnlessRoom, []bool{true, true, true, true}},
		{GrowthDeferBelowStandard, []bool{false, false, true, true}},
		// Deferring once is not deferring for want of room elsewhere.
		{GrowthDeferOnce, []bool{false, false, false, false}},
		{ResizeOptions{}.withDefaults().Growth, []bool{false, false, false, false}},
	} {
		t.Run(string(tc.growth), func(t *testing.T) {
			var got []bool
			for _, c := range classes {
				got = append(got, tc.growth.defers(c))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("defers per class (-want +got):\n%s", diff)
			}
		})
	}
}
