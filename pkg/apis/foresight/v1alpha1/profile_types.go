package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Sampler names a source of measurements in the node agent.
type Sampler struct {
	// Name of the sampler, such as cgroup-cpu or ebpf-sched-switch.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Active is true when the sampler runs.
	// +required
	Active bool `json:"active"`
	// Message says why an inactive sampler could not start.
	// +optional
	Message string `json:"message,omitempty"`
}

// ContainerUsage is the usage summary of one container.
type ContainerUsage struct {
	// Name of the container.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Usage of the container.
	// +optional
	Usage UsageStatistics `json:"usage,omitempty"`
}

// PodUsage is the compact usage summary of one pod on a node.
type PodUsage struct {
	// Namespace of the pod.
	// +required
	Namespace string `json:"namespace"`
	// Name of the pod.
	// +required
	Name string `json:"name"`
	// UID of the pod.
	// +required
	UID types.UID `json:"uid"`
	// Workload the pod belongs to, when it has an owner.
	// +optional
	Workload *WorkloadReference `json:"workload,omitempty"`
	// Usage of the whole pod.
	// +optional
	Usage UsageStatistics `json:"usage,omitempty"`
	// Containers of the pod, when per-container detail is published.
	// +listType=map
	// +listMapKey=name
	// +optional
	Containers []ContainerUsage `json:"containers,omitempty"`
	// Forecasts are the short-term forecasts of the pod's usage.
	// +listType=map
	// +listMapKey=resource
	// +optional
	Forecasts []Forecast `json:"forecasts,omitempty"`
	// DailyShape per resource where a daily rhythm was detected: one
	// factor per hour, the first for 00:00-01:00 UTC.
	// +listType=map
	// +listMapKey=resource
	// +optional
	DailyShape []SeasonalShape `json:"dailyShape,omitempty"`
	// WeeklyShape per resource where a weekly rhythm tells more than the
	// daily one: one factor per hour, the first for Monday 00:00-01:00 UTC.
	// +listType=map
	// +listMapKey=resource
	// +optional
	WeeklyShape []SeasonalShape `json:"weeklyShape,omitempty"`
	// Bursts per resource that had any.
	// +listType=map
	// +listMapKey=resource
	// +optional
	Bursts []BurstStatistics `json:"bursts,omitempty"`
}

// BurstStatistics summarise the bursts of one resource of a pod: runs of
// minutes whose mean exceeds a robust baseline of the hour before (the
// rule is in docs/nodeagent.md).
type BurstStatistics struct {
	// Resource the bursts are of.
	// +required
	Resource ResourceName `json:"resource"`
	// Count of bursts since the agent began profiling the pod.
	// +kubebuilder:validation:Minimum=0
	// +required
	Count int64 `json:"count"`
	// Last is when the newest burst began.
	// +required
	Last metav1.Time `json:"last"`
	// Active is true while a burst goes on.
	// +optional
	Active bool `json:"active,omitempty"`
	// TypicalSize is the median peak above the baseline of the newest
	// finished bursts, in the resource's unit.
	// +optional
	TypicalSize *resource.Quantity `json:"typicalSize,omitempty"`
	// TypicalDuration is the median duration of the newest finished bursts.
	// +optional
	TypicalDuration *metav1.Duration `json:"typicalDuration,omitempty"`
}

// NodeProfileSpec is the desired state of a NodeProfile.
type NodeProfileSpec struct {
	// NodeName is the node the profile describes; it equals the object's
	// name.
	// +required
	// +kubebuilder:validation:MinLength=1
	NodeName string `json:"nodeName"`
}

// NodeProfileStatus is what the node agent measured on the node.
type NodeProfileStatus struct {
	// LastUpdated is when the agent last published the profile. Consumers
	// treat a profile older than their staleness limit as missing.
	// +optional
	LastUpdated *metav1.Time `json:"lastUpdated,omitempty"`
	// SampleInterval is the agent's interval for fast signals.
	// +optional
	SampleInterval *metav1.Duration `json:"sampleInterval,omitempty"`
	// AgentVersion is the version of the node agent.
	// +optional
	AgentVersion string `json:"agentVersion,omitempty"`
	// CgroupMode is how the node's cgroups are mounted.
	// +kubebuilder:validation:Enum=v1;v2;hybrid
	// +optional
	CgroupMode string `json:"cgroupMode,omitempty"`
	// Samplers the agent tried, and whether each runs.
	// +listType=map
	// +listMapKey=name
	// +optional
	Samplers []Sampler `json:"samplers,omitempty"`
	// Node is the usage of the whole node.
	// +optional
	Node UsageStatistics `json:"node,omitempty"`
	// Pods on the node.
	// +listType=map
	// +listMapKey=uid
	// +kubebuilder:validation:MaxItems=1000
	// +optional
	Pods []PodUsage `json:"pods,omitempty"`
	// Conditions: Ready, Degraded (a sampler failed).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// NodeProfile is the usage of every pod on one node as measured by the
// Foresight node agent. Its name is the node's name.
//
// +genclient
// +genclient:nonNamespaced
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=nprof,categories=foresight
// +kubebuilder:validation:XValidation:rule="self.metadata.name == self.spec.nodeName",message="a NodeProfile is named after its node"
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.spec.nodeName`
// +kubebuilder:printcolumn:name="Cgroups",type=string,JSONPath=`.status.cgroupMode`
// +kubebuilder:printcolumn:name="Updated",type=date,JSONPath=`.status.lastUpdated`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type NodeProfile struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec NodeProfileSpec `json:"spec"`
	// +optional
	Status NodeProfileStatus `json:"status,omitempty"`
}

// NodeProfileList is a list of NodeProfiles.
//
// +kubebuilder:object:root=true
type NodeProfileList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NodeProfile `json:"items"`
}

// ContainerProfile is what a workload's container does, across its pods.
type ContainerProfile struct {
	// Name of the container.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Usage statistics of one pod's container, over the profile's window.
	// +optional
	Usage UsageStatistics `json:"usage,omitempty"`
	// DailyShape per resource, where a daily rhythm was detected.
	// +listType=map
	// +listMapKey=resource
	// +optional
	DailyShape []SeasonalShape `json:"dailyShape,omitempty"`
	// WeeklyShape per resource, where a weekly rhythm was detected.
	// +listType=map
	// +listMapKey=resource
	// +optional
	WeeklyShape []SeasonalShape `json:"weeklyShape,omitempty"`
	// Forecasts per resource, with intervals and measured accuracy.
	// +listType=map
	// +listMapKey=resource
	// +optional
	Forecasts []Forecast `json:"forecasts,omitempty"`
}

// WorkloadProfileSpec is the desired state of a WorkloadProfile.
type WorkloadProfileSpec struct {
	// Workload the profile describes. A new pod of this workload is
	// predicted from the profile before it ever runs.
	// +required
	Workload WorkloadReference `json:"workload"`
}

// WorkloadProfileStatus is what the workload's pods did.
type WorkloadProfileStatus struct {
	// LastUpdated is when the profile was last recomputed.
	// +optional
	LastUpdated *metav1.Time `json:"lastUpdated,omitempty"`
	// ObservedPods is the number of pods the profile was built from.
	// +kubebuilder:validation:Minimum=0
	// +optional
	ObservedPods int32 `json:"observedPods,omitempty"`
	// Containers of the workload's pods.
	// +listType=map
	// +listMapKey=name
	// +optional
	Containers []ContainerProfile `json:"containers,omitempty"`
	// Conditions: Ready, Stale, Anomalous.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// WorkloadProfile is the usage profile and forecast of one workload's pods.
//
// +genclient
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=wprof,categories=foresight
// +kubebuilder:printcolumn:name="Kind",type=string,JSONPath=`.spec.workload.kind`
// +kubebuilder:printcolumn:name="Workload",type=string,JSONPath=`.spec.workload.name`
// +kubebuilder:printcolumn:name="Pods",type=integer,JSONPath=`.status.observedPods`
// +kubebuilder:printcolumn:name="Updated",type=date,JSONPath=`.status.lastUpdated`
type WorkloadProfile struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec WorkloadProfileSpec `json:"spec"`
	// +optional
	Status WorkloadProfileStatus `json:"status,omitempty"`
}

// WorkloadProfileList is a list of WorkloadProfiles.
//
// +kubebuilder:object:root=true
type WorkloadProfileList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []WorkloadProfile `json:"items"`
}
