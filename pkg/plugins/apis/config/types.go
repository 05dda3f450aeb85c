package config

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ForesightArgs are the arguments of the Foresight plugin, which places pods
// into predicted-size partitions of cost-tiered pools.
type ForesightArgs struct {
	metav1.TypeMeta

	// ProfileStalenessLimit is the age beyond which a profile is treated as
	// missing and the pod's requests are used instead.
	ProfileStalenessLimit metav1.Duration
	// DefaultCPU is the CPU demand, in cores, of a container with neither a
	// profile nor a CPU request.
	DefaultCPU resource.Quantity
	// DefaultMemory is the memory demand, in bytes, of a container with
	// neither a profile nor a memory request.
	DefaultMemory resource.Quantity
	// ScoreWeights weigh the terms of the cost-benefit score.
	ScoreWeights ScoreWeights
	// PartitionWriteQPS bounds the scheduler's writes of Partition objects
	// per second, with bursts of twice as many; a quarter of it while pods
	// are being placed.
	PartitionWriteQPS int32
}

// ScoreWeights weigh the terms of the cost-benefit score; each is 0 to 100.
type ScoreWeights struct {
	// Utilization rewards placements that raise the use of capacity already
	// paid for.
	Utilization int64
	// Cost penalises the price of the capacity a placement uses: fixed pools
	// before variable ones, busy nodes before idle ones.
	Cost int64
	// Risk penalises the chance that a partition's joint demand exceeds its
	// size.
	Risk int64
	// Confidence rewards placements based on accurate predictions.
	Confidence int64
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ForesightFairShareArgs are the arguments of the ForesightFairShare
// queue-sort plugin.
type ForesightFairShareArgs struct {
	metav1.TypeMeta

	// TenantLabel is the namespace label that names a namespace's tenant;
	// empty means a TenantPolicy's tenant, else the namespace itself.
	TenantLabel string
	// AgingHalfLife is how long a pending pod waits for its tenant's
	// dominant share to count half as much against it, so that nothing
	// starves.
	AgingHalfLife metav1.Duration
}
