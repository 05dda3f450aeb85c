// Package v1alpha1 holds the foresight.dev/v1alpha1 API: resource pools,
// partitions, usage profiles, scaling events and tenant policies.
//
// +kubebuilder:object:generate=true
// +groupName=foresight.dev
// +k8s:deepcopy-gen=package
package v1alpha1
