package foresight

import (
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

// Metrics of the plugin, served on the scheduler's /metrics.
var (
	predictionsTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      "foresight",
		Subsystem:      "scheduler",
		Name:           "predictions_total",
		Help:           "Pods' demand predictions by source (forecast, profile, requests, default) and, when no profile was used, why (no-workload, missing, stale, empty).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"source", "fallback"})
	staleProfilesTotal = metrics.NewCounter(&metrics.CounterOpts{
		Namespace:      "foresight",
		Subsystem:      "scheduler",
		Name:           "stale_profiles_total",
		Help:           "Predictions that fell back to requests because the workload's profile was older than the staleness limit.",
		StabilityLevel: metrics.ALPHA,
	})
	partitionWritesTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      "foresight",
		Subsystem:      "scheduler",
		Name:           "partition_writes_total",
		Help:           "Writes of Partition objects by operation (create, update, delete) and result (success, error).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"operation", "result"})
	placementsTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      "foresight",
		Subsystem:      "scheduler",
		Name:           "placements_total",
		Help:           "Pods reserved into partitions, by how: existing, grow or new.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"placement"})
)

func init() {
	legacyregistry.MustRegister(predictionsTotal, staleProfilesTotal, partitionWritesTotal, placementsTotal)
}
