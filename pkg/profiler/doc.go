// Package profiler is the node agent's core: it discovers containers from
// the kubelet's cgroups, samples them (cgroups and eBPF), keeps their
// profiles (persisted on the node) and builds the NodeProfile status.
package profiler
