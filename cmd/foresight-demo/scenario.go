package main

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/test/framework"
)

// The demo's cluster: a fixed pool that may hold half as much again as
// its nodes by original requests, a variable pool paid per node, and a
// dedicated pool for critical pods.
var pools = []framework.PoolSpec{
	{Name: "fixed", Tier: foresightv1alpha1.PoolTierFixed, Nodes: 1, CPU: "16", Memory: "64Gi"},
	{Name: "variable", Tier: foresightv1alpha1.PoolTierVariable, Nodes: 2, CPU: "8", Memory: "32Gi", PerNodeHour: "0.40"},
	{Name: "dedicated", Tier: foresightv1alpha1.PoolTierDedicated, Nodes: 1, CPU: "8", Memory: "32Gi"},
}

// overcommitPercent of each pool that is overcommitted (the others stay at
// the default, 100).
var overcommitPercent = map[string]int32{"fixed": 150}

const (
	schedulerName = "foresight-scheduler"
	// rightsized is the namespace whose TenantPolicy enables rightsizing.
	rightsized = "shop"
	// unmanaged is the namespace without a TenantPolicy: the default
	// policy applies, which refuses the critical class.
	unmanaged = "analytics"
	// templateHash is the pod-template-hash of every Deployment's
	// ReplicaSet.
	templateHash = "7c9d4b8f6"
)

// stats are usage statistics of one resource over the profile's window.
type stats struct{ mean, p50, p90, p95, p99, peak string }

func (s stats) api() *foresightv1alpha1.ResourceStatistics {
	q := func(v string) *resource.Quantity { return ptr.To(resource.MustParse(v)) }
	return &foresightv1alpha1.ResourceStatistics{Mean: q(s.mean), P50: q(s.p50), P90: q(s.p90), P95: q(s.p95), P99: q(s.p99), Peak: q(s.peak)}
}

// profile is what the node agents saw a Deployment's container "app" use.
type profile struct {
	cpu, memory stats
	// dailyCPU are 24 hourly factors of the mean CPU, in thousandths; nil
	// when the workload has no daily rhythm.
	dailyCPU []int32
}

// workload is a Deployment whose pods the demo creates as its ReplicaSet
// would.
type workload struct {
	namespace, name, class string
	replicas               int
	// requests and limits of the container "app", as cpu/memory.
	cpu, memory, cpuLimit, memoryLimit string
	// profile is nil for a workload never seen running.
	profile *profile
	// refused is set when the pods declare what their namespace may not
	// use: the scheduler refuses them.
	refused bool
}

// shape is a daily shape at high (thousandths of the mean) from hour
// from to hour to (excluded) and at low otherwise.
func shape(from, to int, high, low int32) []int32 {
	f := make([]int32, 24)
	for h := range f {
		f[h] = low
		if h >= from && h < to {
			f[h] = high
		}
	}
	return f
}

// batchCPU is the CPU of the two batch jobs: each runs at 2.2× its mean
// for eight hours a day, the ETL at night and the reports in office hours,
// so that together they need far less than the sum of their peaks.
var batchCPU = stats{mean: "500m", p50: "250m", p90: "1100m", p95: "1200m", p99: "1300m", peak: "1400m"}
var batchMemory = stats{mean: "1Gi", p50: "1Gi", p90: "1536Mi", p95: "2Gi", p99: "2560Mi", peak: "3Gi"}

// workloads are created in this order, replica i of each before replica
// i+1 of any, as their ReplicaSets would scale them up side by side.
var workloads = []workload{
	// Complementary batch jobs.
	{namespace: rightsized, name: "etl", class: "batch", replicas: 3, cpu: "2", memory: "4Gi", cpuLimit: "4", memoryLimit: "8Gi",
		profile: &profile{cpu: batchCPU, memory: batchMemory, dailyCPU: shape(0, 8, 2200, 400)}},
	{namespace: rightsized, name: "reports", class: "batch", replicas: 3, cpu: "2", memory: "4Gi", cpuLimit: "4", memoryLimit: "8Gi",
		profile: &profile{cpu: batchCPU, memory: batchMemory, dailyCPU: shape(9, 17, 2200, 400)}},
	// A web tier sized for a peak it never reaches: its p99 is 40% of
	// its CPU request.
	{namespace: rightsized, name: "web", class: "standard", replicas: 12, cpu: "1", memory: "2Gi", cpuLimit: "2", memoryLimit: "4Gi",
		profile: &profile{
			cpu:    stats{mean: "150m", p50: "120m", p90: "250m", p95: "300m", p99: "400m", peak: "700m"},
			memory: stats{mean: "600Mi", p50: "580Mi", p90: "700Mi", p95: "750Mi", p99: "800Mi", peak: "900Mi"},
		}},
	// A new workload: no profile yet, predicted from its requests.
	{namespace: rightsized, name: "cart", class: "standard", replicas: 3, cpu: "500m", memory: "1Gi", cpuLimit: "1", memoryLimit: "2Gi"},
	// Critical: predicted at its peak, never rightsized, never pooled; on
	// the dedicated pool.
	{namespace: rightsized, name: "checkout", class: "critical", replicas: 2, cpu: "1500m", memory: "4Gi", cpuLimit: "3", memoryLimit: "8Gi",
		profile: &profile{
			cpu:    stats{mean: "500m", p50: "450m", p90: "800m", p95: "900m", p99: "1", peak: "1200m"},
			memory: stats{mean: "2Gi", p50: "2Gi", p90: "2560Mi", p95: "2816Mi", p99: "3Gi", peak: "3Gi"},
		}},
	// Declares a class its namespace may not use: refused.
	{namespace: unmanaged, name: "sneaky", class: "critical", replicas: 1, cpu: "500m", memory: "1Gi", refused: true},
}

// rightsizingProbe is a pod the webhook rightsizes once the API server
// calls it: one of a profiled, overcommittable workload of the rightsized
// namespace, under a name no replica has.
func rightsizingProbe() (*v1.Pod, error) {
	for _, w := range workloads {
		if w.namespace == rightsized && w.profile != nil && w.class != string(foresightv1alpha1.SLAClassCritical) {
			p := w.pod(0)
			p.Name = "rightsizing-probe"
			return p, nil
		}
	}
	return nil, fmt.Errorf("no workload of namespace %s can be rightsized", rightsized)
}

// pod returns replica i of the workload as its ReplicaSet would create it,
// named <deployment>-<i> for readability.
func (w workload) pod(i int) *v1.Pod {
	rs := w.name + "-" + templateHash
	resources := v1.ResourceRequirements{
		Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(w.cpu), v1.ResourceMemory: resource.MustParse(w.memory)},
	}
	if w.cpuLimit != "" {
		resources.Limits = v1.ResourceList{v1.ResourceCPU: resource.MustParse(w.cpuLimit), v1.ResourceMemory: resource.MustParse(w.memoryLimit)}
	}
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: w.namespace, Name: fmt.Sprintf("%s-%d", w.name, i),
			Labels:      map[string]string{"app": w.name, appsv1.DefaultDeploymentUniqueLabelKey: templateHash},
			Annotations: map[string]string{annotations.SLAClass: w.class},
			// No controller runs here: the owner needs a UID, not to exist.
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, UID: types.UID("replicaset-" + w.namespace + "-" + rs), Controller: ptr.To(true),
			}},
		},
		Spec: v1.PodSpec{
			SchedulerName: schedulerName,
			Containers:    []v1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10", Resources: resources}},
		},
	}
}

// createPools creates the pools and their nodes, and sets the overcommit
// of the pools that have one.
func createPools(ctx context.Context, cp *framework.ControlPlane) error {
	for _, p := range pools {
		pool, _, err := cp.CreatePool(ctx, p)
		if err != nil {
			return err
		}
		ratio, ok := overcommitPercent[p.Name]
		if !ok {
			continue
		}
		pool.Spec.Overcommit.MaxRatioPercent = ratio
		if _, err := cp.Foresight.ForesightV1alpha1().ResourcePools().Update(ctx, pool, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("setting the overcommit of pool %s: %w", p.Name, err)
		}
	}
	return nil
}

// createNamespaces creates the namespaces and the TenantPolicy of the
// rightsized one.
func createNamespaces(ctx context.Context, cp *framework.ControlPlane) error {
	for _, ns := range []string{rightsized, unmanaged} {
		if _, err := cp.Kube.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", ns, err)
		}
	}
	tp := &foresightv1alpha1.TenantPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: foresightv1alpha1.TenantPolicyName, Namespace: rightsized},
		Spec: foresightv1alpha1.TenantPolicySpec{
			Tenant:         rightsized,
			AllowedClasses: []foresightv1alpha1.SLAClass{foresightv1alpha1.SLAClassCritical, foresightv1alpha1.SLAClassStandard, foresightv1alpha1.SLAClassBatch},
			Rightsizing:    foresightv1alpha1.RightsizingPolicy{Enabled: true},
		},
	}
	if _, err := cp.Foresight.ForesightV1alpha1().TenantPolicies(rightsized).Create(ctx, tp, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the %s TenantPolicy: %w", rightsized, err)
	}
	return nil
}

// createProfiles creates the WorkloadProfile of every profiled workload,
// updated now, as the node agents' aggregation would.
func createProfiles(ctx context.Context, cp *framework.ControlPlane) error {
	for _, w := range workloads {
		if w.profile == nil {
			continue
		}
		c := foresightv1alpha1.ContainerProfile{Name: "app", Usage: foresightv1alpha1.UsageStatistics{
			Window: &metav1.Duration{Duration: 7 * 24 * time.Hour}, Samples: 60480,
			CPU: w.profile.cpu.api(), Memory: w.profile.memory.api(),
		}}
		if w.profile.dailyCPU != nil {
			c.DailyShape = []foresightv1alpha1.SeasonalShape{{
				Resource: foresightv1alpha1.ResourceCPU, Period: metav1.Duration{Duration: 24 * time.Hour},
				Resolution: metav1.Duration{Duration: time.Hour}, FactorsPerMille: w.profile.dailyCPU, Strength: "0.8",
			}}
		}
		profiles := cp.Foresight.ForesightV1alpha1().WorkloadProfiles(w.namespace)
		wp, err := profiles.Create(ctx, &foresightv1alpha1.WorkloadProfile{
			ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: "deployment-" + w.name},
			Spec:       foresightv1alpha1.WorkloadProfileSpec{Workload: foresightv1alpha1.WorkloadReference{APIVersion: "apps/v1", Kind: "Deployment", Name: w.name}},
		}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("creating the profile of %s/%s: %w", w.namespace, w.name, err)
		}
		wp.Status = foresightv1alpha1.WorkloadProfileStatus{
			LastUpdated: ptr.To(metav1.Now()), ObservedPods: int32(w.replicas),
			Containers: []foresightv1alpha1.ContainerProfile{c},
		}
		if _, err := profiles.UpdateStatus(ctx, wp, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("updating the profile of %s/%s: %w", w.namespace, w.name, err)
		}
	}
	return nil
}
