package v1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ForesightArgs are the arguments of the Foresight plugin.
type ForesightArgs struct {
	metav1.TypeMeta `json:",inline"`

	// ProfileStalenessLimit is the age beyond which a profile is treated as
	// missing and the pod's requests are used instead. Default 5m.
	ProfileStalenessLimit *metav1.Duration `json:"profileStalenessLimit,omitempty"`
	// DefaultCPU is the CPU demand of a container with neither a profile
	// nor a CPU request. Default 100m.
	DefaultCPU *resource.Quantity `json:"defaultCPU,omitempty"`
	// DefaultMemory is the memory demand of a container with neither a
	// profile nor a memory request. Default 200Mi.
	DefaultMemory *resource.Quantity `json:"defaultMemory,omitempty"`
	// ScoreWeights weigh the terms of the cost-benefit score.
	ScoreWeights *ScoreWeights `json:"scoreWeights,omitempty"`
	// PartitionWriteQPS bounds the scheduler's writes of Partition objects
	// (creates, updates, status writes and deletes together) per second,
	// with bursts of twice as many. Scheduling reads its own cache, never
	// these objects: under a burst of pods they fall behind, and a
	// partition changed several times while it waits gets one write.
	// While pods are being placed, writes get a quarter of this rate.
	// Default 20, like kube-controller-manager's client.
	PartitionWriteQPS *int32 `json:"partitionWriteQPS,omitempty"`
}

// ScoreWeights weigh the terms of the cost-benefit score; each is 0 to 100
// and at least one is positive.
type ScoreWeights struct {
	// Utilization rewards raising the use of capacity already paid for. Default 3.
	Utilization *int64 `json:"utilization,omitempty"`
	// Cost penalises the price of the capacity used. Default 4.
	Cost *int64 `json:"cost,omitempty"`
	// Risk penalises the chance that a partition's joint demand exceeds its
	// size. Default 2.
	Risk *int64 `json:"risk,omitempty"`
	// Confidence rewards placements based on accurate predictions. Default 1.
	Confidence *int64 `json:"confidence,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ForesightFairShareArgs are the arguments of the ForesightFairShare
// queue-sort plugin.
type ForesightFairShareArgs struct {
	metav1.TypeMeta `json:",inline"`

	// TenantLabel is the namespace label that names a namespace's tenant;
	// empty means a TenantPolicy's tenant, else the namespace itself.
	TenantLabel *string `json:"tenantLabel,omitempty"`
	// AgingHalfLife is how long a pending pod waits for its tenant's
	// dominant share to count half as much against it. Default 5m.
	AgingHalfLife *metav1.Duration `json:"agingHalfLife,omitempty"`
}
