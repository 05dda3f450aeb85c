package foresight

import (
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	internalcache "k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// TestTrial checks a dry run: pods placed through PreFilter, Filter, Score
// and Reserve on a Trial fill the Trial's partitions until the partition
// budget refuses one, exactly as real cycles would, while the scheduler's
// own partitions, its events and its writer (nil here: any write would
// panic) stay untouched.
func TestTrial(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	// A stale profile: pods are predicted at their requests (1 CPU, 2Gi)
	// and the plugin would tell each pod so in an event.
	pl := newTestPlugin(t, []*foresightv1alpha1.ResourcePool{partitionPool("fixed", foresightv1alpha1.PoolTierFixed, 150)}, nil, webProfile(time.Hour))
	ni := testNode() // 8 CPUs
	for i := range 5 {
		reserveOn(t, ctx, pl, ni, webPod(fmt.Sprintf("live-%d", i)).Obj())
	}
	before := pl.cache.describe("n1")
	recorder := pl.recorder.(*events.FakeRecorder)
	for len(recorder.Events) > 0 {
		<-recorder.Events // reserveOn's PreFilter events
	}

	var pods []*v1.Pod
	for _, pi := range ni.GetPods() {
		pod := pi.GetPod().DeepCopy()
		pod.Spec.NodeName = "n1"
		pods = append(pods, pod)
	}
	snapshot := internalcache.NewSnapshot(pods, []*v1.Node{ni.Node()})
	if err := snapshot.StartMutations(); err != nil {
		t.Fatal(err)
	}
	trial := pl.NewTrial(snapshot.NodeInfos())
	placed := 0
	var refusal *fwk.Status
	for i := range 5 {
		pod := webPod(fmt.Sprintf("moved-%d", i)).Obj()
		state := framework.NewCycleState()
		trial.Attach(state)
		if _, s := pl.PreFilter(ctx, state, pod, nil); !s.IsSuccess() {
			t.Fatal(s.AsError())
		}
		node, err := snapshot.NodeInfos().Get("n1")
		if err != nil {
			t.Fatal(err)
		}
		if refusal = pl.Filter(ctx, state, pod, node); !refusal.IsSuccess() {
			break
		}
		if _, s := pl.Score(ctx, state, pod, node); !s.IsSuccess() {
			t.Fatal(s.AsError())
		}
		if s := pl.Reserve(ctx, state, pod, "n1"); !s.IsSuccess() {
			t.Fatal(s.AsError())
		}
		pi, err := framework.NewPodInfo(pod)
		if err != nil {
			t.Fatal(err)
		}
		if err := snapshot.AddPod(pi, "n1"); err != nil {
			t.Fatal(err)
		}
		placed++
	}
	// 150% of 8 CPUs of original requests: 12 pods of 1 CPU, but the
	// budget is the node's 8 CPUs of predicted (request) demand: 3 more.
	if placed != 3 || refusal.IsSuccess() {
		t.Errorf("the trial placed %d pods (refusal %v), want 3 and a refusal", placed, refusal.AsError())
	}
	if got := pl.cache.describe("n1"); got != before {
		t.Errorf("the trial changed the scheduler's partitions:\n%s\nwant\n%s", got, before)
	}
	if got := trial.cache.describe("n1"); got == before {
		t.Errorf("the trial's partitions did not change: %s", got)
	}
	for uid := range pl.cache.byPod {
		if string(uid) != "" && uid[:5] == "moved" {
			t.Errorf("pod %s of the trial is in the scheduler's partitions", uid)
		}
	}
	if n := len(recorder.Events); n > 0 {
		t.Errorf("the trial recorded %d events: %s", n, <-recorder.Events)
	}
	// Unreserve in a trial takes the pod out of the trial only.
	state := framework.NewCycleState()
	trial.Attach(state)
	pl.Unreserve(ctx, state, &v1.Pod{}, "n1")
	if _, ok := trial.cache.partitionOf("moved-0"); !ok {
		t.Fatal("moved-0 not in the trial's partitions")
	}
	pod := webPod("moved-0").Obj()
	pl.Unreserve(ctx, state, pod, "n1")
	if _, ok := trial.cache.partitionOf("moved-0"); ok {
		t.Error("Unreserve in a trial left moved-0 in the trial's partitions")
	}
	if got := pl.cache.describe("n1"); got != before {
		t.Errorf("Unreserve in a trial changed the scheduler's partitions")
	}
}
