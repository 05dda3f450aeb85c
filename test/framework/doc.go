// Package framework starts a real control plane (etcd and kube-apiserver)
// inside a test or the demo, installs Foresight's CRDs, creates pools of
// kubelet-less nodes and runs the Foresight scheduler against them.
package framework
