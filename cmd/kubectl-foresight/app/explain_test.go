package app

import (
	"io"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
	"k8s.io/utils/ptr"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	foresightfake "github.com/foresight-dev/foresight/pkg/generated/clientset/versioned/fake"
	"github.com/foresight-dev/foresight/pkg/plugins/foresight"
)

// record is a placement record as the scheduler writes it (the pod's
// foresight.dev/placement annotation; older schedulers: a ForesightPlaced
// event's note): (100×4 + 40×3 + 90×2 + 75×1) / 10 = 77.
const record = "node=fixed-0 pool=fixed tier=fixed class=standard partition=fixed-0-standard-0 placement=grow source=profile " +
	"demand=cpu=450m,memory=1Gi score=77 cost=100 costWeight=4 utilization=40 utilizationWeight=3 risk=90 riskWeight=2 confidence=75 confidenceWeight=1"

var at = time.Date(2026, 3, 1, 14, 5, 0, 0, time.UTC)

func event(pod *corev1.Pod, name, reason, message string, uid types.UID, offset time.Duration) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: pod.Namespace, Name: name},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: uid},
		Reason:         reason, Message: message,
		EventTime: metav1.NewMicroTime(at.Add(offset)),
	}
}

func partition(name, node string, size string, members ...foresightv1alpha1.PartitionMember) *foresightv1alpha1.Partition {
	cpu, mem, _ := strings.Cut(size, "/")
	return &foresightv1alpha1.Partition{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"foresight.dev/node": node, "foresight.dev/pool": "fixed"}},
		Spec: foresightv1alpha1.PartitionSpec{
			NodeName: node, PoolName: "fixed", SLAClass: "standard", Confidence: "0.99",
			Size:    foresightv1alpha1.ResourceVector{CPU: ptr.To(resource.MustParse(cpu)), Memory: ptr.To(resource.MustParse(mem))},
			Members: members,
		},
	}
}

func member(name string, uid types.UID, cpu, mem string) foresightv1alpha1.PartitionMember {
	return foresightv1alpha1.PartitionMember{Namespace: "shop", Name: name, UID: uid, Predicted: foresightv1alpha1.ResourceVector{
		CPU: ptr.To(resource.MustParse(cpu)), Memory: ptr.To(resource.MustParse(mem)),
	}}
}

func TestExplainPod(t *testing.T) {
	web := st.MakePod().Namespace("shop").Name("web-1").UID("uid-web-1").SchedulerName("foresight-scheduler").Node("fixed-0").
		Annotation(annotations.SLAClass, "standard").
		Annotation(annotations.OriginalRequests, `{"app":{"cpu":"1","memory":"2Gi"}}`).
		Containers([]corev1.Container{st.MakeContainer().Name("app").Resources(map[corev1.ResourceName]string{
			corev1.ResourceCPU: "450m", corev1.ResourceMemory: "1Gi",
		}).Obj()}).Obj()
	pending := st.MakePod().Namespace("shop").Name("greedy").UID("uid-greedy").SchedulerName("foresight-scheduler").
		Annotation(annotations.SLAClass, "critical").
		Req(map[corev1.ResourceName]string{corev1.ResourceCPU: "500m", corev1.ResourceMemory: "1Gi"}).Obj()
	elsewhere := st.MakePod().Namespace("shop").Name("other").UID("uid-other").SchedulerName("default-scheduler").Node("plain-0").Obj()
	// 3Gi and a byte: written as 3073Mi.
	joined := partition("fixed-0-standard-0", "fixed-0", "1200m/3221225473",
		member("web-0", "uid-web-0", "450m", "1Gi"), member("web-1", "uid-web-1", "450m", "1Gi"), member("web-2", "uid-web-2", "450m", "1Gi"))
	emptied := partition("fixed-0-standard-0", "fixed-0", "500m/1Gi", member("web-0", "uid-web-0", "450m", "1Gi"))
	moved := partition("fixed-0-standard-1", "fixed-0", "1200m/3Gi", member("web-1", "uid-web-1", "450m", "1Gi"))

	placedHeader := `Pod:	shop/web-1
Scheduler:	foresight-scheduler
SLA class:	standard
Requests:	cpu=450m,memory=1Gi (rightsized at admission from cpu=1,memory=2Gi)
Node:	fixed-0
Pool:	fixed (tier fixed)
Prediction:	cpu=450m,memory=1Gi, from the workload's usage profile (source profile)
Partition:	fixed-0-standard-0 (grew it to make room)
`
	score := `Score:	77 = (cost 100 × 4 + utilization 40 × 3 + risk 90 × 2 + confidence 75 × 1) / 10
  cost	100/100: how cheap the node's capacity is (fixed > busy variable > unpooled > idle variable; dedicated first for critical pods)
  utilization	40/100: how full the node's partitions and other requests are with the pod on it
  risk	90/100: how unlikely the partition's joint demand is to exceed its size at the busiest hour (100: negligible)
  confidence	75/100: trust in the prediction (forecast > profile > requests > default), higher where the overcommit allowance is little used
`
	// inJoined is the output for web-1 placed in joined.
	inJoined := placedHeader + `  size	cpu=1200m,memory=3073Mi for 3 members of class standard at confidence 0.99
  members' uppers	cpu=1350m,memory=3Gi summed: pooling saves 11% of the CPU
` + score
	annotated := web.DeepCopy()
	annotated.Annotations[annotations.Placement] = record
	tests := []struct {
		name        string
		pod         *corev1.Pod
		objects     []runtime.Object
		partitions  []runtime.Object
		noForesight bool
		// want is the output with tabs where columns are aligned.
		want string
	}{
		{
			name:       "placed in a partition",
			pod:        web,
			objects:    []runtime.Object{event(web, "placed", foresight.ReasonPlaced, record, web.UID, 0)},
			partitions: []runtime.Object{joined},
			want:       inJoined,
		},
		{
			name:       "record in the pod's annotation",
			pod:        annotated,
			partitions: []runtime.Object{joined},
			want:       inJoined,
		},
		{
			name: "the annotation wins over an older scheduler's event",
			pod:  annotated,
			objects: []runtime.Object{event(web, "placed", foresight.ReasonPlaced,
				"node=fixed-0 pool=none tier=none class=standard score=1 cost=1 costWeight=1", web.UID, 0)},
			partitions: []runtime.Object{joined},
			want:       inJoined,
		},
		{
			name:       "no longer in the partition it joined, found on its node",
			pod:        web,
			objects:    []runtime.Object{event(web, "placed", foresight.ReasonPlaced, record, web.UID, 0)},
			partitions: []runtime.Object{emptied, moved},
			want: placedHeader + `  now	a member of fixed-0-standard-1
  size	cpu=1200m,memory=3Gi for 1 member of class standard at confidence 0.99
  members' uppers	cpu=450m,memory=1Gi summed
` + score,
		},
		{
			name:       "in no partition any more",
			pod:        web,
			objects:    []runtime.Object{event(web, "placed", foresight.ReasonPlaced, record, web.UID, 0)},
			partitions: []runtime.Object{emptied},
			want: placedHeader + `  now	the pod is no longer a member of fixed-0-standard-0
` + score,
		},
		{
			name:        "without a foresight.dev client",
			pod:         web,
			objects:     []runtime.Object{event(web, "placed", foresight.ReasonPlaced, record, web.UID, 0)},
			noForesight: true,
			want:        placedHeader + score,
		},
		{
			name: "record of a scheduler without partitions: partition found on the node, unweighted terms left out",
			pod:  web,
			objects: []runtime.Object{event(web, "placed", foresight.ReasonPlaced,
				"node=fixed-0 pool=fixed tier=fixed class=standard score=72 cost=100 costWeight=4 utilization=40 utilizationWeight=3", web.UID, 0)},
			partitions: []runtime.Object{moved},
			want: `Pod:	shop/web-1
Scheduler:	foresight-scheduler
SLA class:	standard
Requests:	cpu=450m,memory=1Gi (rightsized at admission from cpu=1,memory=2Gi)
Node:	fixed-0
Pool:	fixed (tier fixed)
Partition:	fixed-0-standard-1
  size	cpu=1200m,memory=3Gi for 1 member of class standard at confidence 0.99
  members' uppers	cpu=450m,memory=1Gi summed
Score:	72 = (cost 100 × 4 + utilization 40 × 3) / 7
  cost	100/100: how cheap the node's capacity is (fixed > busy variable > unpooled > idle variable; dedicated first for critical pods)
  utilization	40/100: how full the node's partitions and other requests are with the pod on it
`,
		},
		{
			name: "off pools",
			pod:  web,
			objects: []runtime.Object{event(web, "placed", foresight.ReasonPlaced,
				"node=fixed-0 pool=none tier=none class=standard partition=none placement=none source=requests demand=cpu=1 score=60 cost=40 costWeight=1", web.UID, 0)},
			want: `Pod:	shop/web-1
Scheduler:	foresight-scheduler
SLA class:	standard
Requests:	cpu=450m,memory=1Gi (rightsized at admission from cpu=1,memory=2Gi)
Node:	fixed-0
Pool:	none (tier none)
Prediction:	cpu=1, from the pod's requests: no usable profile (source requests)
Partition:	none (the node is in no ResourcePool)
Score:	60 = (cost 40 × 1) / 1
  cost	40/100: how cheap the node's capacity is (fixed > busy variable > unpooled > idle variable; dedicated first for critical pods)
`,
		},
		{
			name: "refused, events of an earlier pod of the same name left out",
			pod:  pending,
			objects: []runtime.Object{
				event(pending, "old", "FailedScheduling", "0/5 nodes are available: an earlier pod", "uid-earlier", -time.Hour),
				event(pending, "second", "FailedScheduling", "0/5 nodes are available: foresight.dev annotations refused\n", pending.UID, time.Minute),
				event(pending, "first", "FailedScheduling", "0/5 nodes are available: no room", pending.UID, 0),
			},
			want: `Pod:	shop/greedy
Scheduler:	foresight-scheduler
SLA class:	critical
Requests:	cpu=500m,memory=1Gi
Node:	(not scheduled)
Failed attempts:
  14:05:00	0/5 nodes are available: no room
  14:06:00	0/5 nodes are available: foresight.dev annotations refused
`,
		},
		{
			name: "placed by another scheduler",
			pod:  elsewhere,
			want: `Pod:	shop/other
Scheduler:	default-scheduler
SLA class:	(namespace default)
Requests:	0
Node:	plain-0
Placement:	no Foresight record (placed by another scheduler, or by an older Foresight scheduler whose event expired)
`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			kube := kubefake.NewClientset(append([]runtime.Object{tc.pod}, tc.objects...)...)
			e := Explainer{Kube: kube}
			if !tc.noForesight {
				e.Foresight = foresightfake.NewSimpleClientset(tc.partitions...)
			}
			var out strings.Builder
			if err := e.Pod(ctx, tc.pod.Namespace, tc.pod.Name, &out); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(aligned(t, tc.want), out.String()); diff != "" {
				t.Errorf("explain output mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// aligned aligns the tab-separated columns of text as the command does.
func aligned(t *testing.T, text string) string {
	t.Helper()
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if _, err := io.WriteString(w, text); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestExplainPodMalformedRecord(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pod := st.MakePod().Namespace("shop").Name("web-1").UID("uid").Node("fixed-0").Obj()
	kube := kubefake.NewClientset(pod, event(pod, "placed", foresight.ReasonPlaced, "garbage", pod.UID, 0))
	var out strings.Builder
	if err := ExplainPod(ctx, kube, "shop", "web-1", &out); err == nil || !strings.Contains(err.Error(), "event placed") {
		t.Errorf("ExplainPod with a malformed record: error %v, want one naming the event", err)
	}
	annotated := st.MakePod().Namespace("shop").Name("web-2").UID("uid-2").Node("fixed-0").Annotation(annotations.Placement, "garbage").Obj()
	kube = kubefake.NewClientset(annotated)
	if err := ExplainPod(ctx, kube, "shop", "web-2", &out); err == nil || !strings.Contains(err.Error(), annotations.Placement) {
		t.Errorf("ExplainPod with a malformed annotation: error %v, want one naming the annotation", err)
	}
}
