// Package config holds the internal types of the arguments of Foresight's
// kube-scheduler plugins, registered into kube-scheduler's scheme.
//
// +k8s:deepcopy-gen=package
package config
