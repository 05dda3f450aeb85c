package simulate

import (
	"context"
	"time"

	v1 "k8s.io/api/core/v1"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// Backend is the cluster a replay runs in: it holds the objects and runs
// the scheduler. NewControlPlaneBackend runs the real kube-scheduler on an
// in-process API server; unit tests use a stand-in. A replay calls Start,
// then any of the others, then Stop, once per policy.
type Backend interface {
	// Start readies an empty cluster for one policy: its pools, its
	// namespace's TenantPolicy, its first nodes and its scheduler.
	Start(ctx context.Context, run RunSpec) error
	// AddNodes adds nodes; they can take pods once AddNodes returns.
	AddNodes(ctx context.Context, nodes []*v1.Node) error
	// RemoveNodes deletes empty nodes.
	RemoveNodes(ctx context.Context, names []string) error
	// PublishProfiles creates or updates WorkloadProfiles (with status);
	// the scheduler sees them once PublishProfiles returns.
	PublishProfiles(ctx context.Context, profiles []*foresightv1alpha1.WorkloadProfile) error
	// CreatePod submits a pod, as admitted (already rightsized).
	CreatePod(ctx context.Context, pod *v1.Pod) error
	// DeletePods deletes pods (of Namespace) at once, as a kubelet would
	// once they end.
	DeletePods(ctx context.Context, names []string) error
	// EvictPods evicts running pods (of Namespace) through the eviction
	// API, as the controller moves them; their ReplicaSets re-create them.
	EvictPods(ctx context.Context, names []string) error
	// CordonNodes marks nodes unschedulable (or schedulable again, when
	// unschedulable is false); the scheduler sees it once CordonNodes
	// returns.
	CordonNodes(ctx context.Context, names []string, unschedulable bool) error
	// Schedule retries the named pending pods, runs the scheduler until
	// every pod is bound or found unschedulable, and returns the node of
	// every pod ("" while pending).
	Schedule(ctx context.Context, retry []string) (map[string]string, error)
	// ResizePods sets running pods' requests in place, as the controller
	// does through the pods/resize subresource; the scheduler sees the new
	// requests once ResizePods returns.
	ResizePods(ctx context.Context, resizes []PodResize) error
	// Stop stops the scheduler and deletes the run's pods, nodes,
	// partitions and profiles.
	Stop(ctx context.Context) error
}

// RunSpec is what a Backend needs to start a policy's run.
type RunSpec struct {
	Policy       Policy
	Pools        []*foresightv1alpha1.ResourcePool
	TenantPolicy *foresightv1alpha1.TenantPolicy
	Nodes        []*v1.Node
	// Now is the simulated clock: Foresight's plugins date profiles and
	// forecasts by it.
	Now func() time.Time
}

// Explainer is a Backend that can tell why pods are pending.
type Explainer interface {
	// PendingReasons returns, for each named pod that is pending, the
	// scheduler's last message about it.
	PendingReasons(ctx context.Context, names []string) map[string]string
}

// PartitionReader is a Backend that can list the Partition objects, as
// the controller reads them: which pods share a partition (pooled resize
// targets, TargetPooled).
type PartitionReader interface {
	// Partitions returns the Partition objects of the run.
	Partitions(ctx context.Context) ([]foresightv1alpha1.Partition, error)
}
