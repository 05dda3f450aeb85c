package cgroups

import "time"

// Sample is one reading of a container's cgroup counters. Counters are
// cumulative since the cgroup was made; gauges are instantaneous.
type Sample struct {
	Time time.Time
	// CPUUsageNanos is cumulative CPU time (counter).
	CPUUsageNanos uint64
	// CPUPeriods, CPUThrottledPeriods and CPUThrottledNanos are the CFS
	// quota counters.
	CPUPeriods          uint64
	CPUThrottledPeriods uint64
	CPUThrottledNanos   uint64
	// MemoryUsageBytes is the cgroup's charged memory (gauge).
	MemoryUsageBytes uint64
	// MemoryWorkingSetBytes is usage minus inactive file pages, floored at
	// zero, as the kubelet computes it (gauge).
	MemoryWorkingSetBytes uint64
	// MemoryRSSBytes is anonymous memory (gauge).
	MemoryRSSBytes uint64
	// OOMKills is the number of OOM kills in the cgroup (counter).
	OOMKills uint64
	// HasPSI is true when the pressure fields below were read.
	HasPSI bool
	// CPUPressureSomeMicros and MemoryPressureSomeMicros are the PSI
	// "some" stall totals in microseconds (counters).
	CPUPressureSomeMicros    uint64
	MemoryPressureSomeMicros uint64
	MemoryPressureFullMicros uint64
}

// WorkingSet is usage minus inactive file, floored at zero.
func WorkingSet(usage, inactiveFile uint64) uint64 {
	if inactiveFile > usage {
		return 0
	}
	return usage - inactiveFile
}

// CPUCores is the CPU used between two samples, in cores.
func CPUCores(prev, cur Sample) float64 {
	dt := cur.Time.Sub(prev.Time).Seconds()
	if dt <= 0 || cur.CPUUsageNanos < prev.CPUUsageNanos {
		return 0
	}
	return float64(cur.CPUUsageNanos-prev.CPUUsageNanos) / 1e9 / dt
}
