// Package profiler will hold the node agent's samplers (cgroups v1/v2 and
// eBPF), its per-container profiles and their on-disk store. It is empty
// until the node agent issue is resolved.
package profiler
