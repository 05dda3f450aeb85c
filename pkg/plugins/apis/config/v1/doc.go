// Package v1 holds the versioned (kubescheduler.config.k8s.io/v1) arguments
// of Foresight's kube-scheduler plugins, with their defaults.
//
// +k8s:deepcopy-gen=package
// +k8s:conversion-gen=github.com/foresight-dev/foresight/pkg/plugins/apis/config
// +k8s:defaulter-gen=TypeMeta
// +groupName=kubescheduler.config.k8s.io
package v1
