// Package cgroups samples a container's CPU, memory, OOM and pressure
// counters from the kernel's cgroup files (v1, v2 or hybrid hosts).
package cgroups
