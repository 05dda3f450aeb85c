package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// PartitionMember is a pod placed in a partition, with the demand predicted
// for it when it was placed.
type PartitionMember struct {
	// Namespace of the pod.
	// +required
	// +kubebuilder:validation:MinLength=1
	Namespace string `json:"namespace"`
	// Name of the pod.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// UID of the pod, so that a new pod with the same name is not mistaken
	// for the member.
	// +required
	UID types.UID `json:"uid"`
	// Predicted demand of the pod at the partition's confidence.
	// +optional
	Predicted ResourceVector `json:"predicted,omitempty"`
}

// PartitionSpec is the desired state of a Partition.
//
// +kubebuilder:validation:XValidation:rule="self.nodeName == oldSelf.nodeName && self.poolName == oldSelf.poolName",message="a partition cannot move to another node or pool"
type PartitionSpec struct {
	// NodeName is the node the partition is a slice of.
	// +required
	// +kubebuilder:validation:MinLength=1
	NodeName string `json:"nodeName"`
	// PoolName is the ResourcePool the node belongs to.
	// +required
	// +kubebuilder:validation:MinLength=1
	PoolName string `json:"poolName"`
	// SLAClass of every member of the partition.
	// +required
	SLAClass SLAClass `json:"slaClass"`
	// Size is the capacity reserved for the partition: the predicted joint
	// demand of its members at Confidence, plus the pool's headroom.
	// +required
	Size ResourceVector `json:"size"`
	// Confidence at which the size was computed.
	// +required
	Confidence Confidence `json:"confidence"`
	// Members are the pods placed in the partition.
	// +listType=map
	// +listMapKey=uid
	// +kubebuilder:validation:MaxItems=1000
	// +optional
	Members []PartitionMember `json:"members,omitempty"`
}

// PartitionStatus is the observed state of a Partition.
type PartitionStatus struct {
	// ObservedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// MemberCount is the number of members.
	// +optional
	MemberCount int32 `json:"memberCount,omitempty"`
	// PredictedUsage is the predicted joint peak of the members over the
	// controller's horizon at the partition's confidence.
	// +optional
	PredictedUsage ResourceVector `json:"predictedUsage,omitempty"`
	// ObservedUsage is the members' joint usage last reported by the node
	// agent.
	// +optional
	ObservedUsage ResourceVector `json:"observedUsage,omitempty"`
	// ObservedAt is when ObservedUsage was measured.
	// +optional
	ObservedAt *metav1.Time `json:"observedAt,omitempty"`
	// Conditions: Enforced (cgroup limits written), AtRisk (predicted
	// demand exceeds the size).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Partition is a dynamically sized slice of one node's capacity inside one
// pool, holding pods of one SLA class.
//
// +genclient
// +genclient:nonNamespaced
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=part,categories=foresight
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.spec.nodeName`
// +kubebuilder:printcolumn:name="Pool",type=string,JSONPath=`.spec.poolName`
// +kubebuilder:printcolumn:name="Class",type=string,JSONPath=`.spec.slaClass`
// +kubebuilder:printcolumn:name="CPU",type=string,JSONPath=`.spec.size.cpu`
// +kubebuilder:printcolumn:name="Memory",type=string,JSONPath=`.spec.size.memory`
// +kubebuilder:printcolumn:name="Members",type=integer,JSONPath=`.status.memberCount`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Partition struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec PartitionSpec `json:"spec"`
	// +optional
	Status PartitionStatus `json:"status,omitempty"`
}

// PartitionList is a list of Partitions.
//
// +kubebuilder:object:root=true
type PartitionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Partition `json:"items"`
}
