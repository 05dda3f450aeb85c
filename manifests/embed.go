// Package manifests embeds what a user applies to a cluster (CRDs, scheduler
// configurations, the controller's webhook configuration) so that tests and
// the demo use exactly the shipped files.
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

// Controller holds the controller's manifests, under controller/, so that
// tests register the shipped webhook configuration.
//
//go:embed controller/*.yaml
var Controller embed.FS
