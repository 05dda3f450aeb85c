// Package enforce writes partition sizes to the cgroups of a partition's
// pods (CPU quota, memory.high or the v1 soft limit), in dry-run or for
// real, and restores the original values.
package enforce
