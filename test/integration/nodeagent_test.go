package integration

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2/ktesting"

	"github.com/foresight-dev/foresight/pkg/client"
	"github.com/foresight-dev/foresight/pkg/profiler"
	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
	"github.com/foresight-dev/foresight/test/framework"
)

// fakeV1Container writes the cgroup v1 files the agent reads for one
// container, in the kubelet's systemd layout, under root.
func fakeV1Container(t *testing.T, root, uid, id string, cpuNanos, usage, inactiveFile uint64) {
	t.Helper()
	rel := filepath.Join("kubepods.slice", "kubepods-burstable.slice",
		"kubepods-burstable-pod"+strings.ReplaceAll(uid, "-", "_")+".slice", "cri-containerd-"+id+".scope")
	files := map[string]string{
		"cpuacct/" + rel + "/cpuacct.usage":        strconv.FormatUint(cpuNanos, 10) + "\n",
		"cpu/" + rel + "/cpu.stat":                 "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
		"memory/" + rel + "/memory.usage_in_bytes": strconv.FormatUint(usage, 10) + "\n",
		"memory/" + rel + "/memory.stat":           "cache 0\nrss 1\ntotal_inactive_file " + strconv.FormatUint(inactiveFile, 10) + "\ntotal_rss 42\n",
		"memory/" + rel + "/memory.oom_control":    "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
	}
	for f, content := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestIntegrationNodeAgentPublishes runs the agent's sampling, pod informer
// (restricted to its node) and publisher against the in-process API server,
// over a cgroup v1 tree in a temporary directory, and reads the NodeProfile
// back as the scheduler side would.
func TestIntegrationNodeAgentPublishes(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	cp := framework.StartControlPlane(t)
	if err := cp.InstallCRDs(ctx); err != nil {
		t.Fatal(err)
	}
	mkPod := func(name, node, ctrID string) *v1.Pod {
		pod, err := cp.Kube.CoreV1().Pods("default").Create(ctx, &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       v1.PodSpec{NodeName: node, Containers: []v1.Container{{Name: "app", Image: "app"}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pod.Status.ContainerStatuses = []v1.ContainerStatus{{Name: "app", ContainerID: "containerd://" + ctrID, Image: "app"}}
		pod, err = cp.Kube.CoreV1().Pods("default").UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return pod
	}
	idA := strings.Repeat("a1", 32)
	idB := strings.Repeat("b2", 32)
	podA := mkPod("web-0", "node-a", idA)
	podB := mkPod("elsewhere", "node-b", idB)

	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "memory"), 0o755); err != nil {
		t.Fatal(err)
	}
	const usage, inactive = 300 << 20, 100 << 20
	fakeV1Container(t, root, string(podA.UID), idA, 0, usage, inactive)
	// A cgroup whose pod the node's informer does not see (it is bound to
	// another node): published by UID only.
	fakeV1Container(t, root, string(podB.UID), idB, 0, usage, inactive)

	factory, pods, err := profiler.NewPodInformer(cp.Kube, "node-a", 0)
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	// Shutdown waits for the informer to stop, which needs ctx cancelled.
	t.Cleanup(func() { cancel(); factory.Shutdown() })
	factory.WaitForCacheSync(ctx.Done())
	if _, ok := pods(podB.UID); ok {
		t.Errorf("The informer of node-a sees a pod of node-b")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if p, ok := pods(podA.UID); ok && len(p.Status.ContainerStatuses) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("The informer never saw web-0's status")
		}
		time.Sleep(50 * time.Millisecond)
	}

	mode, err := discovery.DetectMode(root)
	if err != nil {
		t.Fatal(err)
	}
	agent, err := profiler.New(profiler.Config{NodeName: "node-a", Layout: discovery.Layout{Mode: mode, Root: root},
		Interval: time.Second, Pods: pods, PublishContainers: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := agent.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := client.New(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	pub := &profiler.Publisher{Client: fs, NodeName: "node-a"}
	for i := 0; i < 2; i++ { // the second publish patches an existing object
		if err := pub.Publish(ctx, agent.Status(time.Now(), "test")); err != nil {
			t.Fatal(err)
		}
	}

	np, err := cp.Foresight.ForesightV1alpha1().NodeProfiles().Get(ctx, "node-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type podSummary struct {
		UID                 types.UID
		Namespace, Name     string
		Containers          []string
		MemoryCurrent       string
		ContainerMemoryPeak string
	}
	var got []podSummary
	for _, p := range np.Status.Pods {
		s := podSummary{UID: p.UID, Namespace: p.Namespace, Name: p.Name, MemoryCurrent: p.Usage.Memory.Current.String()}
		for _, c := range p.Containers {
			s.Containers = append(s.Containers, c.Name)
			s.ContainerMemoryPeak = c.Usage.Memory.Peak.String()
		}
		got = append(got, s)
	}
	want := []podSummary{
		{UID: podA.UID, Namespace: "default", Name: "web-0", Containers: []string{"app"}, MemoryCurrent: "200Mi", ContainerMemoryPeak: "200Mi"},
		{UID: podB.UID, Containers: []string{idB[:12]}, MemoryCurrent: "200Mi", ContainerMemoryPeak: "200Mi"},
	}
	if want[1].UID < want[0].UID {
		want[0], want[1] = want[1], want[0]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Published pods (-want +got):\n%s", diff)
	}
	if np.Spec.NodeName != "node-a" || np.Status.CgroupMode != "v1" || np.Status.AgentVersion != "test" || np.Status.LastUpdated == nil {
		t.Errorf("NodeProfile = spec %+v, mode %q, version %q, updated %v", np.Spec, np.Status.CgroupMode, np.Status.AgentVersion, np.Status.LastUpdated)
	}
}
