package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TenantPolicyName is the only name a TenantPolicy may have: a namespace has
// at most one.
const TenantPolicyName = "default"

// MaxTenantPriority is the largest priority within a tenant that a pod may
// declare.
const MaxTenantPriority = 1000

// Guarantees bound what a pod may reserve whatever the prediction says.
type Guarantees struct {
	// CPU is the CPU a pod may reserve in full, in cores.
	// +optional
	CPU *resource.Quantity `json:"cpu,omitempty"`
	// MemoryBandwidth is the memory bandwidth a pod may reserve, in bytes
	// per second.
	// +optional
	MemoryBandwidth *resource.Quantity `json:"memoryBandwidth,omitempty"`
}

// RightsizingPolicy says whether Foresight's admission webhook may set the
// requests of this namespace's pods to their predicted demand.
type RightsizingPolicy struct {
	// Enabled turns rightsizing on for the namespace.
	// +optional
	Enabled bool `json:"enabled,omitempty"`
}

// TenantPolicySpec bounds what the pods of a namespace may declare in their
// foresight.dev/ annotations, so that no tenant can make itself critical to
// starve others.
//
// +kubebuilder:validation:XValidation:rule="!has(self.defaultClass) || self.defaultClass in self.allowedClasses",message="defaultClass must be one of allowedClasses"
type TenantPolicySpec struct {
	// Tenant is the name under which the namespace's pods share the
	// cluster fairly; namespaces with the same tenant share one share. It
	// defaults to the namespace's name.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Tenant string `json:"tenant,omitempty"`
	// Weight of the tenant in fair sharing.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Weight int32 `json:"weight,omitempty"`
	// AllowedClasses are the SLA classes the namespace's pods may declare.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=4
	// +listType=set
	// +required
	AllowedClasses []SLAClass `json:"allowedClasses"`
	// DefaultClass is the class of pods that declare none; it defaults to
	// standard when allowed, else to the lowest allowed class.
	// +optional
	DefaultClass SLAClass `json:"defaultClass,omitempty"`
	// MaxPriority is the largest priority within the tenant a pod may
	// declare.
	// +kubebuilder:default=1000
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	MaxPriority int32 `json:"maxPriority,omitempty"`
	// MaxGuarantees per pod; a pod may declare no guarantee that is absent
	// here.
	// +optional
	MaxGuarantees Guarantees `json:"maxGuarantees,omitempty"`
	// AllowMigrationOptOut lets pods refuse to be migrated.
	// +kubebuilder:default=true
	// +optional
	AllowMigrationOptOut *bool `json:"allowMigrationOptOut,omitempty"`
	// Rightsizing of the namespace's pods at admission.
	// +optional
	Rightsizing RightsizingPolicy `json:"rightsizing,omitempty"`
}

// TenantPolicyStatus is the observed state of a TenantPolicy.
type TenantPolicyStatus struct {
	// ObservedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// RejectedPods counts pods refused for declaring more than the policy
	// allows.
	// +optional
	RejectedPods int32 `json:"rejectedPods,omitempty"`
	// Conditions: Accepted.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// TenantPolicy bounds the SLA classes, priorities and guarantees the pods of
// its namespace may declare. A namespace has at most one, named "default";
// a namespace without one gets the documented default policy.
//
// +genclient
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=tpol,categories=foresight
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'default'",message="a namespace's TenantPolicy must be named default"
// +kubebuilder:printcolumn:name="Tenant",type=string,JSONPath=`.spec.tenant`
// +kubebuilder:printcolumn:name="Classes",type=string,JSONPath=`.spec.allowedClasses`
// +kubebuilder:printcolumn:name="Weight",type=integer,JSONPath=`.spec.weight`
// +kubebuilder:printcolumn:name="Rightsizing",type=boolean,JSONPath=`.spec.rightsizing.enabled`
type TenantPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec TenantPolicySpec `json:"spec"`
	// +optional
	Status TenantPolicyStatus `json:"status,omitempty"`
}

// TenantPolicyList is a list of TenantPolicies.
//
// +kubebuilder:object:root=true
type TenantPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TenantPolicy `json:"items"`
}
