package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EventSource says where a scaling event came from.
//
// +kubebuilder:validation:Enum=User;CI;Webhook;Schedule
type EventSource string

// The sources of scaling events.
const (
	EventSourceUser     EventSource = "User"
	EventSourceCI       EventSource = "CI"
	EventSourceWebhook  EventSource = "Webhook"
	EventSourceSchedule EventSource = "Schedule"
)

// ExpectedChange is how demand changes during an event: usage is multiplied
// by MultiplierPercent/100, then Addition is added.
//
// +kubebuilder:validation:XValidation:rule="has(self.multiplierPercent) || has(self.addition)",message="an expected change needs a multiplierPercent or an addition"
type ExpectedChange struct {
	// MultiplierPercent scales the predicted usage: 300 means three times
	// the usual demand.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	// +optional
	MultiplierPercent *int32 `json:"multiplierPercent,omitempty"`
	// Addition is added to each matched pod's predicted usage.
	// +optional
	Addition *ResourceVector `json:"addition,omitempty"`
}

// ScalingEventSpec is a known future change in demand.
//
// +kubebuilder:validation:XValidation:rule="timestamp(self.end) > timestamp(self.start)",message="end must be after start"
type ScalingEventSpec struct {
	// Start of the event window.
	// +required
	Start metav1.Time `json:"start"`
	// End of the event window.
	// +required
	End metav1.Time `json:"end"`
	// LeadTime is how long before Start partitions grow for the event.
	// +kubebuilder:default="15m"
	// +optional
	LeadTime *metav1.Duration `json:"leadTime,omitempty"`
	// Selector chooses the pods of this namespace the event applies to.
	// +required
	Selector metav1.LabelSelector `json:"selector"`
	// Change expected for the selected pods during the window.
	// +required
	Change ExpectedChange `json:"change"`
	// Source of the event.
	// +kubebuilder:default=User
	// +optional
	Source EventSource `json:"source,omitempty"`
	// Description for people, such as the campaign's name.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Description string `json:"description,omitempty"`
}

// ScalingEventPhase is where an event stands in time.
//
// +kubebuilder:validation:Enum=Pending;Preparing;Active;Completed
type ScalingEventPhase string

// The phases of a scaling event.
const (
	ScalingEventPending   ScalingEventPhase = "Pending"
	ScalingEventPreparing ScalingEventPhase = "Preparing"
	ScalingEventActive    ScalingEventPhase = "Active"
	ScalingEventCompleted ScalingEventPhase = "Completed"
)

// ScalingEventStatus is the observed state of a ScalingEvent.
type ScalingEventStatus struct {
	// Phase of the event.
	// +optional
	Phase ScalingEventPhase `json:"phase,omitempty"`
	// MatchedPods is the number of pods the selector matches.
	// +optional
	MatchedPods int32 `json:"matchedPods,omitempty"`
	// Conditions: Accepted, Applied.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ScalingEvent announces a known future change in demand for a set of pods,
// so that partitions grow before the surge.
//
// +genclient
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=sevent,categories=foresight
// +kubebuilder:printcolumn:name="Start",type=date,JSONPath=`.spec.start`
// +kubebuilder:printcolumn:name="End",type=date,JSONPath=`.spec.end`
// +kubebuilder:printcolumn:name="Multiplier%",type=integer,JSONPath=`.spec.change.multiplierPercent`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Source",type=string,JSONPath=`.spec.source`,priority=1
type ScalingEvent struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec ScalingEventSpec `json:"spec"`
	// +optional
	Status ScalingEventStatus `json:"status,omitempty"`
}

// ScalingEventList is a list of ScalingEvents.
//
// +kubebuilder:object:root=true
type ScalingEventList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ScalingEvent `json:"items"`
}
