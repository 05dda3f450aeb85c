// Package simulate replays a workload trace through the real kube-scheduler
// framework and Foresight's plugins in simulated time, and compares
// scheduling policies by cost and SLA violations against bounds computed
// from the same trace. See docs/simulate.md.
package simulate
