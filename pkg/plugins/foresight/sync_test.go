package foresight

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/generated/clientset/versioned/fake"
	"github.com/foresight-dev/foresight/pkg/generated/informers/externalversions"
)

// countingLimiter counts the turns the writer takes.
type countingLimiter struct {
	flowcontrol.RateLimiter
	waits int
}

func (l *countingLimiter) Wait(ctx context.Context) error {
	l.waits++
	return l.RateLimiter.Wait(ctx)
}

// TestPartitionWriterRequests checks what the writer asks of the API
// server: a new partition the informer does not know is created without
// reading it first, and one that exists in the API server though the
// informer has not seen it (another scheduler, or an informer behind) is
// read after the failed create and then updated, not lost. Each write
// takes one turn of the writer's rate limiter; a sync with nothing to
// write takes none.
func TestPartitionWriterRequests(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing bool // the object is in the API server, not in the informer
		want     []string
	}{
		{name: "new partition", want: []string{"create"}},
		{name: "exists unseen", existing: true, want: []string{"create", "get", "update"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			pl := newTestPlugin(t, []*foresightv1alpha1.ResourcePool{partitionPool("fixed", foresightv1alpha1.PoolTierFixed, 150)}, nil, webProfile(0))
			name := reserveOn(t, ctx, pl, testNode(), webPod("w0").Obj())
			client := fake.NewSimpleClientset()
			if tc.existing {
				obj := &foresightv1alpha1.Partition{ObjectMeta: metav1.ObjectMeta{Name: name}}
				obj.Spec, _, _ = pl.cache.spec(name)
				one := resource.MustParse("1")
				obj.Spec.Size = foresightv1alpha1.ResourceVector{CPU: &one}
				if _, err := client.ForesightV1alpha1().Partitions().Create(ctx, obj, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			client.ClearActions()
			w := newTestWriter(t, pl, client)
			limiter := &countingLimiter{RateLimiter: w.limiter}
			w.limiter = limiter
			if err := w.sync(ctx, name); err != nil {
				t.Fatal(err)
			}
			if limiter.waits != 1 {
				t.Errorf("writing waited for the limiter %d times, want once", limiter.waits)
			}
			// The same state again: nothing to write, no turn taken.
			if err := w.sync(ctx, name); err != nil {
				t.Fatal(err)
			}
			if limiter.waits != 1 {
				t.Errorf("a sync with nothing to write waited for the limiter")
			}
			var got []string
			for _, a := range client.Actions() {
				got = append(got, a.GetVerb())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("requests = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("requests = %v, want %v", got, tc.want)
				}
			}
			obj, err := client.ForesightV1alpha1().Partitions().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want, _, _ := pl.cache.spec(name)
			if obj.Spec.Size.CPU.Cmp(*want.Size.CPU) != 0 {
				t.Errorf("written size %v, want the cache's %v", obj.Spec.Size.CPU, want.Size.CPU)
			}
		})
	}
}

// TestPartitionWriterStatus checks that a partition's status is not
// written while a write of its spec is queued (that write queues the
// status again), and is written, with the member count, once the spec is.
func TestPartitionWriterStatus(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := newTestPlugin(t, []*foresightv1alpha1.ResourcePool{partitionPool("fixed", foresightv1alpha1.PoolTierFixed, 150)}, nil, webProfile(0))
	ni := testNode()
	reserve := func(podName string) string { return reserveOn(t, ctx, pl, ni, webPod(podName).Obj()) }
	client := fake.NewSimpleClientset()
	w := newTestWriter(t, pl, client)

	name := reserve("w0")
	if err := w.sync(ctx, name); err != nil {
		t.Fatal(err)
	}
	if second := reserve("w1"); second != name {
		t.Fatalf("second pod went to partition %s, want %s", second, name)
	}
	client.ClearActions()
	if err := w.syncStatus(ctx, name); err != nil {
		t.Fatal(err)
	}
	if n := len(client.Actions()); n != 0 {
		t.Fatalf("status sync with a spec write queued made %d requests, want none: %v", n, client.Actions())
	}
	if err := w.sync(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := w.syncStatus(ctx, name); err != nil {
		t.Fatal(err)
	}
	obj, err := client.ForesightV1alpha1().Partitions().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if obj.Status.MemberCount != 2 || obj.Status.PredictedUsage.CPU == nil {
		t.Errorf("status = %+v, want 2 members and a predicted usage", obj.Status)
	}
}

// TestPartitionWriterYieldsWhilePlacing checks that while pods are being
// placed, every write also takes a turn of the slower busy limiter, and a
// status write that finds no turn free waits instead of writing; once the
// scheduler is idle, only the main limiter paces.
func TestPartitionWriterYieldsWhilePlacing(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := newTestPlugin(t, []*foresightv1alpha1.ResourcePool{partitionPool("fixed", foresightv1alpha1.PoolTierFixed, 150)}, nil, webProfile(0))
	ni := testNode()
	client := fake.NewSimpleClientset()
	w := newTestWriter(t, pl, client)
	main, busy := &countingLimiter{RateLimiter: w.limiter}, &countingLimiter{RateLimiter: w.busyLimiter}
	w.limiter, w.busyLimiter = main, busy

	w.placing()
	name := reserveOn(t, ctx, pl, ni, webPod("w0").Obj())
	if err := w.sync(ctx, name); err != nil {
		t.Fatal(err)
	}
	if main.waits != 1 || busy.waits != 1 {
		t.Fatalf("a write while placing took %d turns of the limiter and %d of the busy one, want one each", main.waits, busy.waits)
	}
	// No busy turn free: the status waits for a later try.
	w.busyLimiter = flowcontrol.NewFakeNeverRateLimiter()
	client.ClearActions()
	if err := w.syncStatus(ctx, name); err != nil {
		t.Fatal(err)
	}
	updates := func() int {
		n := 0
		for _, a := range client.Actions() {
			if a.GetVerb() == "update" {
				n++
			}
		}
		return n
	}
	if n := updates(); n != 0 {
		t.Fatalf("a status write with no busy turn free made %d updates, want none", n)
	}
	// Idle: the busy limiter is not asked.
	w.busyUntil.Store(0)
	if err := w.syncStatus(ctx, name); err != nil {
		t.Fatal(err)
	}
	if n := updates(); n != 1 {
		t.Fatalf("an idle status write made %d updates, want 1: %v", n, client.Actions())
	}
	w.busyLimiter = busy
	if second := reserveOn(t, ctx, pl, ni, webPod("w1").Obj()); second != name {
		t.Fatalf("second pod went to %s, want %s", second, name)
	}
	if err := w.sync(ctx, name); err != nil {
		t.Fatal(err)
	}
	if main.waits != 2 || busy.waits != 1 {
		t.Fatalf("an idle write: %d turns of the limiter and %d of the busy one, want 2 and still 1", main.waits, busy.waits)
	}
}

// newTestWriter returns a partition writer of pl's cache that writes
// through client, with informers that never start (the writer sees an
// empty cache) and a pace of 100 writes a second.
func newTestWriter(t *testing.T, pl *Foresight, client *fake.Clientset) *partitionWriter {
	objects := externalversions.NewSharedInformerFactory(client, 0).Foresight().V1alpha1().Partitions().Lister()
	nodes := informers.NewSharedInformerFactory(k8sfake.NewClientset(), 0).Core().V1().Nodes().Lister()
	w := newPartitionWriter(pl.cache, client.ForesightV1alpha1().Partitions(), objects, nodes, 100)
	t.Cleanup(func() {
		w.statuses.ShutDown()
		w.queue.ShutDown()
	})
	return w
}

// reserveOn puts pod into ni's partitions as Reserve would, without
// running Filter on the node, and returns its partition's name.
func reserveOn(tb testing.TB, ctx context.Context, pl *Foresight, ni *framework.NodeInfo, pod *v1.Pod) string {
	tb.Helper()
	state := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, state, pod, nil); !s.IsSuccess() {
		tb.Fatal(s.AsError())
	}
	ps, _ := readState(state)
	name, _, _, err := pl.reserveIn(pl.cache, ps, pod, ni)
	if err != nil {
		tb.Fatal(err)
	}
	ni.AddPod(pod)
	return name
}

// testNode is a node of the "fixed" pool with room for many pods.
func testNode() *framework.NodeInfo {
	node := st.MakeNode().Name("n1").Label("pool", "fixed").Capacity(map[v1.ResourceName]string{v1.ResourceCPU: "8", v1.ResourceMemory: "32Gi", v1.ResourcePods: "100"}).Obj()
	ni := framework.NewNodeInfo()
	ni.SetNode(node)
	return ni
}
