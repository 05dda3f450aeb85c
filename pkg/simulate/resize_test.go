package simulate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/rightsize"
)

// partitionsBackend is a firstFitBackend whose Partition objects are
// given by the test.
type partitionsBackend struct {
	firstFitBackend
	parts []foresightv1alpha1.Partition
}

func (p *partitionsBackend) Partitions(context.Context) ([]foresightv1alpha1.Partition, error) {
	return p.parts, nil
}

func partition(name, node string, members ...string) foresightv1alpha1.Partition {
	p := foresightv1alpha1.Partition{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: foresightv1alpha1.PartitionSpec{NodeName: node, PoolName: "fixed", SLAClass: foresightv1alpha1.SLAClassStandard, Confidence: "0.99"}}
	for _, m := range members {
		p.Spec.Members = append(p.Spec.Members, foresightv1alpha1.PartitionMember{Namespace: Namespace, Name: m})
	}
	return p
}

// TestDecideResizesGroupsByPartition: four standard pods of 2 cores, each
// with a 99% bound of 400m over a median of 100m. a and b are members of
// one partition on their node n0 and get their pooled shares (313m, as
// rightsize's tests compute them by hand); c is named by a partition of
// another node (a stale member list) and d by none: both are sized for
// their own bounds, and counted as found in no partition. With the own
// target, every pod gets its own bound.
func TestDecideResizesGroupsByPartition(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	q := func(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }
	stats := func(p50, p99 string) *foresightv1alpha1.ResourceStatistics {
		return &foresightv1alpha1.ResourceStatistics{P50: q(p50), P90: q(p50), P95: q(p50), P99: q(p99), Peak: q("2")}
	}
	status := &foresightv1alpha1.WorkloadProfileStatus{LastUpdated: &metav1.Time{Time: now}, Containers: []foresightv1alpha1.ContainerProfile{{
		Name: containerName, Usage: foresightv1alpha1.UsageStatistics{CPU: stats("100m", "400m"), Memory: stats("100Mi", "400Mi")}}}}
	tr := &Trace{}
	nodes := []*simNode{{name: "n0"}, {name: "n1"}}
	var live []*simPod
	statuses := map[*simPod]*foresightv1alpha1.WorkloadProfileStatus{}
	for i, w := range []string{"a", "b", "c", "d"} {
		tr.Pods = append(tr.Pods, PodTrace{Name: w, Workload: w, Class: foresightv1alpha1.SLAClassStandard, CPURequest: 2000, MemoryRequest: 2 << 30})
		pod := PodObject(&tr.Pods[i], 0)
		sp := &simPod{tr: i, name: pod.Name, pod: pod, node: 0}
		live = append(live, sp)
		statuses[sp] = status
	}
	pending := &simPod{tr: 0, name: "pending", pod: live[0].pod, node: -1}
	live = append(live, pending)
	b := &partitionsBackend{parts: []foresightv1alpha1.Partition{
		partition("n0-standard-0", "n0", live[0].name, live[1].name, "gone-0"),
		partition("n1-standard-0", "n1", live[2].name),
	}}
	spec := RunSpec{TenantPolicy: TenantPolicyObject(true)}
	requests := func(d map[*simPod]rightsize.Decision) []string {
		var out []string
		for _, sp := range live[:4] {
			c := d[sp].Containers[0].Requests[v1.ResourceCPU]
			out = append(out, c.String())
		}
		return out
	}
	for _, tc := range []struct {
		target        ResizeTarget
		want          []string
		pooled        []bool
		unpartitioned int
	}{
		{target: TargetPooled, want: []string{"313m", "313m", "400m", "400m"}, pooled: []bool{true, true, false, false}, unpartitioned: 2},
		{target: TargetOwn, want: []string{"400m", "400m", "400m", "400m"}, pooled: []bool{false, false, false, false}},
	} {
		t.Run(string(tc.target), func(t *testing.T) {
			out := &Outcome{}
			o := ResizeOptions{Target: tc.target}.withDefaults()
			d, err := decideResizes(ctx, b, o, spec, nodes, live, statuses, now, out)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, requests(d)); diff != "" {
				t.Errorf("CPU requests of a, b, c, d (-want +got):\n%s", diff)
			}
			var pooled []bool
			for _, sp := range live[:4] {
				pooled = append(pooled, d[sp].Pooled)
			}
			if diff := cmp.Diff(tc.pooled, pooled); diff != "" {
				t.Errorf("pooled (-want +got):\n%s", diff)
			}
			if _, ok := d[pending]; ok {
				t.Error("a pending pod got a decision")
			}
			if out.ResizesUnpartitioned != tc.unpartitioned {
				t.Errorf("pods in no partition %d, want %d", out.ResizesUnpartitioned, tc.unpartitioned)
			}
		})
	}
	// A backend that cannot list partitions cannot pool.
	_, err := decideResizes(ctx, &firstFitBackend{}, ResizeOptions{Target: TargetPooled}.withDefaults(), spec, nodes, live, statuses, now, &Outcome{})
	if err == nil || !strings.Contains(err.Error(), "lists partitions") {
		t.Errorf("error %v, want one saying the backend lists no partitions", err)
	}
}

func TestResizeOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o   ResizeOptions
		err string
	}{
		{o: ResizeOptions{}},
		{o: ResizeOptions{Target: TargetPooled, Growth: GrowthDeferUnlessRoom}},
		{o: ResizeOptions{Target: "shared"}, err: `resize target "shared"`},
		{o: ResizeOptions{Growth: "defer"}, err: `resize growth policy "defer"`},
	} {
		err := tc.o.validate()
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%+v: error %v, want %q", tc.o, err, tc.err)
		}
	}
}

// TestRunGrowthDeferOnce: on a 4-core fixed node, x uses 1.5 cores and y
// half a core until, an hour into the replay, y rises to 3 cores. At the
// next hourly visit y's bound no longer fits next to x: GrowthMigrate
// moves y at once (to a variable node); GrowthDeferOnce defers the growth
// at that visit and moves y at the one after.
func TestRunGrowthDeferOnce(t *testing.T) {
	const start, n = 24, 24 + 48
	y := constant(n, 500, 0, n-1)
	for i := start + 12; i < n; i++ {
		y[i] = 3000
	}
	tr := &Trace{
		Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Step: 5 * time.Minute, Steps: n,
		Pods: []PodTrace{
			{Name: "x", Workload: "x", Class: foresightv1alpha1.SLAClassStandard, CPURequest: 4000, MemoryRequest: 1 << 30, CPU: constant(n, 1500, 0, n-1), Memory: constant(n, gi/2, 0, n-1)},
			{Name: "y", Workload: "y", Class: foresightv1alpha1.SLAClassStandard, CPURequest: 4000, MemoryRequest: 1 << 30, CPU: y, Memory: constant(n, gi/2, 0, n-1)},
		},
	}
	for _, tc := range []struct {
		growth     GrowthPolicy
		deferred   int
		migratedAt int // replay step of the migration (visits every 12)
	}{
		{growth: GrowthMigrate, migratedAt: 24},
		{growth: GrowthDeferOnce, deferred: 1, migratedAt: 36},
	} {
		t.Run(string(tc.growth), func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			res, err := Run(ctx, &firstFitBackend{}, Config{
				Trace: tr, Start: start, Pools: scenarioPools(), Resize: ResizeOptions{Growth: tc.growth, Target: TargetOwn}, // the stand-in has no partitions
				Policies: []Policy{{Name: "resize", Agent: AgentStatistics, Rightsizing: true, Resize: true}},
			})
			if err != nil {
				t.Fatal(err)
			}
			o := res.Outcomes[0]
			if o.Migrations != 1 || o.ResizesDeferred != tc.deferred {
				t.Fatalf("migrations %d, deferred %d; want 1, %d", o.Migrations, o.ResizesDeferred, tc.deferred)
			}
			// The migrated pod is a third pod, y's second.
			if o.Pods != 3 {
				t.Errorf("pods %d, want 3", o.Pods)
			}
			// The re-created y waits for a variable node, asked for at the
			// migration's step and paid from the next.
			paid := -1
			for i, s := range o.Series {
				if s.Nodes[1] > 0 && paid < 0 {
					paid = i
				}
			}
			if paid != tc.migratedAt+1 {
				t.Errorf("first variable node paid at replay step %d, want %d (the step after the migration)", paid, tc.migratedAt+1)
			}
		})
	}
}
