// Package manifests embeds what a user applies to a cluster (CRDs, scheduler
// configurations) so that tests and the demo use exactly the shipped files.
package manifests

import "embed"

// CRDs holds the CustomResourceDefinitions of the foresight.dev API, under
// crds/.
//
//go:embed crds/*.yaml
var CRDs embed.FS

// SchedulerConfigs holds the shipped KubeSchedulerConfigurations, under
// scheduler/config/.
//
//go:embed scheduler/config/*.yaml
var SchedulerConfigs embed.FS
