package simulate

import (
	"fmt"
	"strconv"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// Names and labels of the simulated cluster's objects.
const (
	// Namespace holds every simulated pod and WorkloadProfile.
	Namespace = "foresight-sim"
	// PoolLabel is the node label a pool selects its nodes by.
	PoolLabel = "foresight.dev/pool"
	// DedicatedTaint keeps pods other than critical ones off dedicated
	// nodes under every policy (critical pods tolerate it), so that the
	// requests-based policies respect the dedicated pool too.
	DedicatedTaint = "foresight.dev/dedicated"
	// containerName is the one container of every simulated pod.
	containerName = "app"
	// templateHash is the pod-template-hash of every workload's ReplicaSet.
	templateHash = "sim"
)

// PoolSpec describes one pool of identical nodes.
type PoolSpec struct {
	Name string
	Tier foresightv1alpha1.PoolTier
	// Nodes is the pool's node count at the start (all the time for fixed
	// and dedicated pools).
	Nodes int
	// MaxNodes bounds the autoscaler in a variable pool; ignored in others.
	MaxNodes int
	// CPU (millicores) and Memory (bytes) of each node, allocatable.
	CPU, Memory int64
	// PricePerNodeHour is what one node costs per hour.
	PricePerNodeHour float64
	// MaxOvercommitPercent is the pool's overcommit.maxRatioPercent (100
	// for none; dedicated pools are never overcommitted).
	MaxOvercommitPercent int32
}

// autoscaled tells whether the autoscaler manages the pool's nodes.
func (p *PoolSpec) autoscaled() bool { return p.Tier == foresightv1alpha1.PoolTierVariable }

// PoolObject returns the ResourcePool of a pool spec.
func PoolObject(p PoolSpec) *foresightv1alpha1.ResourcePool {
	price := resource.MustParse(strconv.FormatFloat(p.PricePerNodeHour, 'f', 4, 64))
	return &foresightv1alpha1.ResourcePool{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name},
		Spec: foresightv1alpha1.ResourcePoolSpec{
			Tier:         p.Tier,
			NodeSelector: metav1.LabelSelector{MatchLabels: map[string]string{PoolLabel: p.Name}},
			Cost:         foresightv1alpha1.CostModel{Currency: "USD", PerNodeHour: &price},
			Overcommit:   foresightv1alpha1.OvercommitPolicy{MaxRatioPercent: p.MaxOvercommitPercent},
		},
	}
}

// NodeObject returns a Ready, kubelet-less node of a pool; dedicated nodes
// carry DedicatedTaint.
func NodeObject(p PoolSpec, name string) *v1.Node {
	capacity := v1.ResourceList{
		v1.ResourceCPU:    *resource.NewMilliQuantity(p.CPU, resource.DecimalSI),
		v1.ResourceMemory: *resource.NewQuantity(p.Memory, resource.BinarySI),
		v1.ResourcePods:   resource.MustParse("110"),
	}
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{PoolLabel: p.Name, v1.LabelHostname: name}},
		Status: v1.NodeStatus{
			Capacity: capacity, Allocatable: capacity.DeepCopy(),
			Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady", Message: "simulated node"}},
		},
	}
	if p.Tier == foresightv1alpha1.PoolTierDedicated {
		n.Spec.Taints = []v1.Taint{{Key: DedicatedTaint, Value: "true", Effect: v1.TaintEffectNoSchedule}}
	}
	return n
}

// PodName is the name of a workload's n-th pod.
func PodName(workload string, n int) string {
	return fmt.Sprintf("%s-%s-%d", workload, templateHash, n)
}

// PodObject returns a workload's n-th pod as its Deployment's ReplicaSet
// would create it: one container "app" requesting the workload's
// requests (no limits: Burstable, so it may be rightsized), its SLA class
// annotation, and for critical pods a toleration of DedicatedTaint.
func PodObject(pt *PodTrace, n int) *v1.Pod {
	rs := pt.Workload + "-" + templateHash
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   Namespace,
			Name:        PodName(pt.Workload, n),
			Labels:      map[string]string{"app": pt.Workload, "pod-template-hash": templateHash},
			Annotations: map[string]string{annotations.SLAClass: string(pt.Class)},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs,
				// No controller runs: the owner needs a UID, not to exist.
				UID: types.UID("replicaset-" + pt.Workload), Controller: ptr.To(true),
			}},
		},
		Spec: v1.PodSpec{
			SchedulerName:                 SchedulerName,
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []v1.Container{{
				Name: containerName, Image: "registry.k8s.io/pause:3.10",
				Resources: v1.ResourceRequirements{Requests: v1.ResourceList{
					v1.ResourceCPU:    *resource.NewMilliQuantity(pt.CPURequest, resource.DecimalSI),
					v1.ResourceMemory: *resource.NewQuantity(pt.MemoryRequest, resource.BinarySI),
				}},
			}},
		},
	}
	if pt.Class == foresightv1alpha1.SLAClassCritical {
		p.Spec.Tolerations = []v1.Toleration{{Key: DedicatedTaint, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule}}
	}
	return p
}

// ProfileName is the name of a workload's WorkloadProfile.
func ProfileName(workload string) string { return "deployment-" + workload }

// ProfileObject returns a workload's WorkloadProfile with a status.
func ProfileObject(workload string, st *foresightv1alpha1.WorkloadProfileStatus) *foresightv1alpha1.WorkloadProfile {
	wp := &foresightv1alpha1.WorkloadProfile{
		ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: ProfileName(workload)},
		Spec:       foresightv1alpha1.WorkloadProfileSpec{Workload: foresightv1alpha1.WorkloadReference{APIVersion: "apps/v1", Kind: "Deployment", Name: workload}},
	}
	if st != nil {
		wp.Status = *st
	}
	return wp
}

// TenantPolicyObject returns the simulated namespace's TenantPolicy: every
// SLA class allowed (the trace assigns them), standard by default, and
// rightsizing as the policy says.
func TenantPolicyObject(rightsizing bool) *foresightv1alpha1.TenantPolicy {
	return &foresightv1alpha1.TenantPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: foresightv1alpha1.TenantPolicyName},
		Spec: foresightv1alpha1.TenantPolicySpec{
			Tenant: Namespace,
			AllowedClasses: []foresightv1alpha1.SLAClass{foresightv1alpha1.SLAClassCritical, foresightv1alpha1.SLAClassStandard,
				foresightv1alpha1.SLAClassBatch, foresightv1alpha1.SLAClassBestEffort},
			DefaultClass: foresightv1alpha1.SLAClassStandard,
			Rightsizing:  foresightv1alpha1.RightsizingPolicy{Enabled: rightsizing},
		},
	}
}
