package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PoolTier says how a pool's capacity is paid for, and so in which order
// Foresight fills pools.
//
// +kubebuilder:validation:Enum=fixed;variable;dedicated
type PoolTier string

const (
	// PoolTierFixed capacity is paid for whether used or not (reserved
	// instances, owned hardware): its marginal cost is about zero, fill it
	// first.
	PoolTierFixed PoolTier = "fixed"
	// PoolTierVariable capacity is paid per use (on-demand, spot,
	// autoscaled): use it for what does not fit in fixed capacity and give it
	// back as soon as it is not needed.
	PoolTierVariable PoolTier = "variable"
	// PoolTierDedicated capacity is fixed and reserved for critical
	// workloads; it is never overcommitted.
	PoolTierDedicated PoolTier = "dedicated"
)

// EnforcementMode says whether the node agent writes partition sizes to the
// cgroups of the partition's pods.
//
// +kubebuilder:validation:Enum=Off;DryRun;Enforce
type EnforcementMode string

const (
	// EnforcementOff leaves cgroups alone.
	EnforcementOff EnforcementMode = "Off"
	// EnforcementDryRun logs what the agent would write.
	EnforcementDryRun EnforcementMode = "DryRun"
	// EnforcementEnforce writes partition sizes to cgroups and restores the
	// original values when turned off.
	EnforcementEnforce EnforcementMode = "Enforce"
)

// CostModel prices a pool's capacity in the pool's currency. Prices are
// decimal quantities such as "0.0416".
type CostModel struct {
	// Currency of the prices, such as USD.
	// +kubebuilder:default=USD
	// +kubebuilder:validation:Pattern=`^[A-Z]{3}$`
	// +optional
	Currency string `json:"currency,omitempty"`
	// PerNodeHour is the price of one node for one hour, paid while the
	// node exists.
	// +optional
	PerNodeHour *resource.Quantity `json:"perNodeHour,omitempty"`
	// PerCPUHour is the price of one core for one hour of allocation.
	// +optional
	PerCPUHour *resource.Quantity `json:"perCPUHour,omitempty"`
	// PerGiBHour is the price of one GiB of memory for one hour of
	// allocation.
	// +optional
	PerGiBHour *resource.Quantity `json:"perGiBHour,omitempty"`
}

// OvercommitPolicy bounds how far a pool may be overcommitted: the sum of
// its partitions' sizes on a node stays within the node's allocatable times
// MaxRatioPercent/100, and partitions are sized so that their joint demand
// stays inside them with at least TargetConfidence.
type OvercommitPolicy struct {
	// TargetConfidence is the least confidence at which any partition of
	// the pool is sized, whatever its pods' SLA classes ask.
	// +kubebuilder:default="0.95"
	// +optional
	TargetConfidence Confidence `json:"targetConfidence,omitempty"`
	// MaxRatioPercent is the largest ratio of the sum of partition sizes (or
	// of the original requests of their pods) to a node's allocatable, in
	// percent: 100 means no overcommit.
	// +kubebuilder:default=100
	// +kubebuilder:validation:Minimum=100
	// +kubebuilder:validation:Maximum=1000
	// +optional
	MaxRatioPercent int32 `json:"maxRatioPercent,omitempty"`
}

// PartitioningPolicy bounds the sizes of a pool's partitions.
type PartitioningPolicy struct {
	// MinSize is the smallest partition.
	// +optional
	MinSize ResourceVector `json:"minSize,omitempty"`
	// MaxSize is the largest partition; absent fields are bounded by the
	// node only.
	// +optional
	MaxSize ResourceVector `json:"maxSize,omitempty"`
	// Step is the granularity by which partitions grow and shrink.
	// +optional
	Step ResourceVector `json:"step,omitempty"`
	// HeadroomPercent is added to a partition's predicted joint demand.
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	HeadroomPercent int32 `json:"headroomPercent,omitempty"`
}

// ResourcePoolSpec is the desired state of a ResourcePool.
//
// +kubebuilder:validation:XValidation:rule="self.tier != 'dedicated' || !has(self.overcommit) || !has(self.overcommit.maxRatioPercent) || self.overcommit.maxRatioPercent == 100",message="a dedicated pool is never overcommitted: overcommit.maxRatioPercent must be 100"
type ResourcePoolSpec struct {
	// Tier of the pool.
	// +required
	Tier PoolTier `json:"tier"`
	// NodeSelector chooses the pool's nodes. A node must belong to at most
	// one pool; a node matched by several is reported in the status and
	// left out of all of them.
	// +required
	NodeSelector metav1.LabelSelector `json:"nodeSelector"`
	// Cost of the pool's capacity.
	// +optional
	Cost CostModel `json:"cost,omitempty"`
	// Overcommit policy of the pool.
	// +optional
	Overcommit OvercommitPolicy `json:"overcommit,omitempty"`
	// Partitioning policy of the pool.
	// +optional
	Partitioning PartitioningPolicy `json:"partitioning,omitempty"`
	// Enforcement says whether the node agent enforces partition sizes with
	// cgroup writes on the pool's nodes.
	// +kubebuilder:default=Off
	// +optional
	Enforcement EnforcementMode `json:"enforcement,omitempty"`
}

// ResourcePoolStatus is the observed state of a ResourcePool.
type ResourcePoolStatus struct {
	// ObservedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Nodes is the number of nodes in the pool.
	// +optional
	Nodes int32 `json:"nodes,omitempty"`
	// Partitions is the number of partitions in the pool.
	// +optional
	Partitions int32 `json:"partitions,omitempty"`
	// Capacity is the allocatable capacity of the pool's nodes.
	// +optional
	Capacity ResourceVector `json:"capacity,omitempty"`
	// Allocated is the sum of the pool's partition sizes.
	// +optional
	Allocated ResourceVector `json:"allocated,omitempty"`
	// Conditions: Ready, and NodeConflict when a node matches several pools.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ResourcePool is a set of nodes with a cost tier, an overcommit policy and
// a partitioning policy.
//
// +genclient
// +genclient:nonNamespaced
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=rpool,categories=foresight
// +kubebuilder:printcolumn:name="Tier",type=string,JSONPath=`.spec.tier`
// +kubebuilder:printcolumn:name="Nodes",type=integer,JSONPath=`.status.nodes`
// +kubebuilder:printcolumn:name="Partitions",type=integer,JSONPath=`.status.partitions`
// +kubebuilder:printcolumn:name="Overcommit%",type=integer,JSONPath=`.spec.overcommit.maxRatioPercent`
// +kubebuilder:printcolumn:name="Enforcement",type=string,JSONPath=`.spec.enforcement`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ResourcePool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec ResourcePoolSpec `json:"spec"`
	// +optional
	Status ResourcePoolStatus `json:"status,omitempty"`
}

// ResourcePoolList is a list of ResourcePools.
//
// +kubebuilder:object:root=true
type ResourcePoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ResourcePool `json:"items"`
}
