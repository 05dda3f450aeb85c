// Command foresight-demo runs Foresight end to end with no cluster: it
// starts etcd and kube-apiserver in this process, installs the CRDs,
// creates a fixed, a variable and a dedicated pool of nodes, runs the
// Foresight scheduler with its shipped configuration, submits a small mixed
// workload with SLA annotations and prints where each pod went, as read
// back from the API server.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/test/framework"
)

func main() {
	// A flag set of our own: libraries linked in register theirs on the
	// global one.
	fs := flag.NewFlagSet("foresight-demo", flag.ExitOnError)
	verbose := fs.Bool("verbose", false, "show the control plane's and the scheduler's logs")
	_ = fs.Parse(os.Args[1:])
	logs := io.Discard
	if *verbose {
		logs = os.Stderr
	}
	quietKlog(*verbose)

	err := framework.RunProcessTB("foresight-demo", logs, func(tb *framework.ProcessTB) error {
		return run(tb, os.Stdout)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "foresight-demo:", err)
		os.Exit(1)
	}
}

// quietKlog keeps the in-process control plane's informational logs off
// the terminal unless asked for.
func quietKlog(verbose bool) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	if verbose {
		return
	}
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
}

type workload struct {
	namespace, prefix, class string
	count                    int
	cpu, memory              string
}

var pools = []framework.PoolSpec{
	{Name: "fixed", Tier: foresightv1alpha1.PoolTierFixed, Nodes: 3, CPU: "8", Memory: "32Gi"},
	{Name: "variable", Tier: foresightv1alpha1.PoolTierVariable, Nodes: 3, CPU: "8", Memory: "32Gi", PerNodeHour: "0.40"},
	{Name: "dedicated", Tier: foresightv1alpha1.PoolTierDedicated, Nodes: 1, CPU: "8", Memory: "32Gi"},
}

var workloads = []workload{
	{namespace: "shop", prefix: "checkout", class: "critical", count: 4, cpu: "1500m", memory: "4Gi"},
	{namespace: "shop", prefix: "catalog", class: "standard", count: 6, cpu: "1", memory: "2Gi"},
	{namespace: "analytics", prefix: "etl", class: "batch", count: 9, cpu: "2", memory: "4Gi"},
	{namespace: "analytics", prefix: "crawler", class: "best-effort", count: 4, cpu: "500m", memory: "1Gi"},
	// analytics has no TenantPolicy: the default policy refuses critical.
	{namespace: "analytics", prefix: "sneaky", class: "critical", count: 1, cpu: "500m", memory: "1Gi"},
}

func run(tb *framework.ProcessTB, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()

	fmt.Fprintln(out, "Starting etcd and kube-apiserver in this process…")
	cp := framework.StartControlPlane(tb)
	if err := cp.InstallCRDs(ctx); err != nil {
		return err
	}
	for _, p := range pools {
		if _, _, err := cp.CreatePool(ctx, p); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "Starting foresight-scheduler with manifests/scheduler/config/foresight-scheduler.yaml…")
	if _, err := cp.StartScheduler(ctx, tb, "foresight-scheduler.yaml"); err != nil {
		return err
	}

	if err := createNamespaces(ctx, cp); err != nil {
		return err
	}
	var expectBound, expectRefused []string
	for _, w := range workloads {
		for i := range w.count {
			name := fmt.Sprintf("%s-%d", w.prefix, i)
			p := &v1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.namespace, Annotations: map[string]string{annotations.SLAClass: w.class}},
				Spec: v1.PodSpec{
					SchedulerName: "foresight-scheduler",
					Containers: []v1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10", Resources: v1.ResourceRequirements{
						Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(w.cpu), v1.ResourceMemory: resource.MustParse(w.memory)},
					}}},
				},
			}
			if _, err := cp.Kube.CoreV1().Pods(w.namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating pod %s/%s: %w", w.namespace, name, err)
			}
			key := w.namespace + "/" + name
			if w.prefix == "sneaky" {
				expectRefused = append(expectRefused, key)
			} else {
				expectBound = append(expectBound, key)
			}
		}
	}
	fmt.Fprintf(out, "Submitted %d pods; waiting for the scheduler…\n\n", len(expectBound)+len(expectRefused))

	refusals, err := waitForOutcome(ctx, cp, expectBound, expectRefused)
	if err != nil {
		return err
	}
	if err := printPlacements(ctx, cp, out, refusals); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nDone in %s. Everything above was read back from the API server.\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

func createNamespaces(ctx context.Context, cp *framework.ControlPlane) error {
	for _, ns := range []string{"shop", "analytics"} {
		if _, err := cp.Kube.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", ns, err)
		}
	}
	tp := &foresightv1alpha1.TenantPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: foresightv1alpha1.TenantPolicyName, Namespace: "shop"},
		Spec: foresightv1alpha1.TenantPolicySpec{
			Tenant:         "shop",
			AllowedClasses: []foresightv1alpha1.SLAClass{foresightv1alpha1.SLAClassCritical, foresightv1alpha1.SLAClassStandard},
		},
	}
	if _, err := cp.Foresight.ForesightV1alpha1().TenantPolicies("shop").Create(ctx, tp, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the shop TenantPolicy: %w", err)
	}
	return nil
}

// waitForOutcome waits until the pods expected to be bound are, and the
// ones expected to be refused have a FailedScheduling event; it returns
// the refusal messages by pod.
func waitForOutcome(ctx context.Context, cp *framework.ControlPlane, bound, refused []string) (map[string]string, error) {
	refusals := map[string]string{}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		pods, err := cp.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		nodeOf := map[string]string{}
		for _, p := range pods.Items {
			nodeOf[p.Namespace+"/"+p.Name] = p.Spec.NodeName
		}
		for _, k := range bound {
			if nodeOf[k] == "" {
				return false, nil
			}
		}
		events, err := cp.Kube.EventsV1().Events("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range events.Items {
			if e.Reason == "FailedScheduling" {
				refusals[e.Regarding.Namespace+"/"+e.Regarding.Name] = e.Note
			}
		}
		for _, k := range refused {
			if refusals[k] == "" {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for the scheduler's decisions: %w", err)
	}
	return refusals, nil
}

func printPlacements(ctx context.Context, cp *framework.ControlPlane, out io.Writer, refusals map[string]string) error {
	nodes, err := cp.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	poolList, err := cp.Foresight.ForesightV1alpha1().ResourcePools().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	tierOf := map[string]foresightv1alpha1.PoolTier{}
	for _, p := range poolList.Items {
		tierOf[p.Name] = p.Spec.Tier
	}
	poolOf := map[string]string{}
	allocCPU := map[string]resource.Quantity{}
	for _, n := range nodes.Items {
		poolOf[n.Name] = n.Labels[framework.PoolLabel]
		allocCPU[n.Name] = n.Status.Allocatable[v1.ResourceCPU]
	}
	pods, err := cp.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	sort.Slice(pods.Items, func(i, j int) bool {
		a, b := pods.Items[i], pods.Items[j]
		if a.Namespace != b.Namespace {
			return a.Namespace > b.Namespace
		}
		return a.Name < b.Name
	})

	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAMESPACE\tPOD\tSLA CLASS\tCPU\tMEMORY\tNODE\tPOOL\tTIER")
	usedCPU := map[string]*resource.Quantity{}
	boundPods := map[string]bool{}
	for _, p := range pods.Items {
		boundPods[p.Namespace+"/"+p.Name] = p.Spec.NodeName != ""
		req := p.Spec.Containers[0].Resources.Requests
		node, pool, tier := p.Spec.NodeName, "-", "-"
		if node == "" {
			node = "(not scheduled)"
		} else {
			pool = poolOf[node]
			tier = string(tierOf[pool])
			if usedCPU[node] == nil {
				usedCPU[node] = &resource.Quantity{}
			}
			usedCPU[node].Add(req[v1.ResourceCPU])
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Namespace, p.Name, p.Annotations[annotations.SLAClass],
			req.Cpu().String(), req.Memory().String(), node, pool, tier)
	}
	if err := w.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(out, "\nNodes (CPU requested / allocatable):")
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	sort.Slice(nodes.Items, func(i, j int) bool { return nodes.Items[i].Name < nodes.Items[j].Name })
	for _, n := range nodes.Items {
		used := "0"
		if q := usedCPU[n.Name]; q != nil {
			used = q.String()
		}
		alloc := allocCPU[n.Name]
		state := "idle"
		if usedCPU[n.Name] != nil {
			state = "busy"
		}
		fmt.Fprintf(w, "  %s\t%s\t%s / %s\t%s\n", n.Name, tierOf[poolOf[n.Name]], used, alloc.String(), state)
	}
	if err := w.Flush(); err != nil {
		return err
	}

	if len(refusals) > 0 {
		fmt.Fprintln(out, "\nRefused:")
		keys := make([]string, 0, len(refusals))
		for k := range refusals {
			if !boundPods[k] {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(out, "  %s: %s\n", k, strings.TrimSpace(refusals[k]))
		}
	}
	return nil
}
