// Package discovery finds the containers of a node by walking the kubelet's
// cgroup layout, for both cgroup drivers, containerd and CRI-O, and cgroup
// v1, v2 and hybrid hosts.
package discovery
