package simulate

import (
	"fmt"
	"io/fs"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/foresight-dev/foresight/manifests"
	"github.com/foresight-dev/foresight/pkg/plugins/apis/config/validation"
)

// SchedulerName is the scheduler every simulated pod asks for; each
// policy's configuration names its one profile so.
const SchedulerName = "foresight-scheduler"

// Policy is a way of scheduling compared by the replay: a
// KubeSchedulerConfiguration run by the real kube-scheduler, what the
// simulated agent publishes, and whether pods are rightsized at admission.
type Policy struct {
	// Name in tables, CSV and flags.
	Name string
	// Description for the documentation and --help.
	Description string
	// SchedulerConfig is a KubeSchedulerConfiguration with one profile
	// named SchedulerName.
	SchedulerConfig string
	// Foresight is true when the configuration enables Foresight's
	// plugins: they are built on the simulated clock.
	Foresight bool
	// Agent is what the simulated agent publishes.
	Agent AgentMode
	// Rightsizing enables rightsizing in the namespace's TenantPolicy:
	// pods are admitted with rightsize.Decide's requests, as the webhook
	// would admit them.
	Rightsizing bool
	// Resize has the controller resize running pods in place
	// (rightsize.DecideResize through the pods/resize subresource) every
	// ResizeOptions.Every, and the webhook admit them for
	// ResizeOptions.Horizon instead of a day.
	Resize bool
	// Consolidate has the controller empty lightly used autoscaled nodes
	// every ConsolidateOptions.Every (consolidate.Decide, a drain through
	// the eviction API), so that the autoscaler removes them.
	Consolidate bool
}

// DefaultSchedulerConfig is kube-scheduler's default profile.
const DefaultSchedulerConfig = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: foresight-scheduler
`

// MostAllocatedSchedulerConfig is kube-scheduler's default profile with
// NodeResourcesFit scoring by MostAllocated: upstream's bin-packing.
const MostAllocatedSchedulerConfig = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: foresight-scheduler
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources:
        - name: cpu
          weight: 1
        - name: memory
          weight: 1
`

// ForesightSchedulerConfig returns the shipped Foresight configuration
// (manifests/scheduler/config/foresight-scheduler.yaml), the one
// cmd/scheduler runs.
func ForesightSchedulerConfig() (string, error) {
	b, err := fs.ReadFile(manifests.SchedulerConfigs, "scheduler/config/foresight-scheduler.yaml")
	if err != nil {
		return "", fmt.Errorf("reading the shipped Foresight scheduler configuration: %w", err)
	}
	return string(b), nil
}

// withPartitionWriteQPS sets the Foresight plugin's partitionWriteQPS in
// every profile of a scheduler configuration. The replay runs days in
// seconds: paced at a real cluster's rate, Partition objects would fall
// hours of simulated time behind the scheduler's cache, and the
// controller's decisions read them.
func withPartitionWriteQPS(config string, qps int32) (string, error) {
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(config), &cfg); err != nil {
		return "", fmt.Errorf("decoding the Foresight scheduler configuration: %w", err)
	}
	profiles, _ := cfg["profiles"].([]any)
	for _, p := range profiles {
		profile, _ := p.(map[string]any)
		plugins, _ := profile["pluginConfig"].([]any)
		for _, pc := range plugins {
			entry, _ := pc.(map[string]any)
			if entry["name"] != "Foresight" {
				continue
			}
			args, _ := entry["args"].(map[string]any)
			if args == nil {
				args = map[string]any{}
				entry["args"] = args
			}
			args["partitionWriteQPS"] = qps
		}
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("encoding the Foresight scheduler configuration: %w", err)
	}
	return string(out), nil
}

// The policy names.
const (
	PolicyDefault            = "default"
	PolicyMostAllocated      = "most-allocated"
	PolicyLoadAware          = "load-aware"
	PolicyForesightNoSeasons = "foresight-no-seasonality"
	PolicyForesight          = "foresight"
	PolicyForesightResize    = "foresight-resize"
)

// PolicyNames lists every policy, in the order tables show them.
var PolicyNames = []string{PolicyDefault, PolicyMostAllocated, PolicyLoadAware, PolicyForesightNoSeasons, PolicyForesight, PolicyForesightResize}

// DefaultPolicyNames are the policies compared unless others are asked
// for: all but foresight-resize, the controller's loop, which takes a
// replay of Bitbrains from about a minute a policy to half an hour on one
// core (its hourly resizes each wait for the scheduler's cache, and every
// drain is dry-run; docs/benchmarks/replay.md). make bench-replay runs
// every policy.
var DefaultPolicyNames = PolicyNames[:5]

// Policies returns the named policies (DefaultPolicyNames when none).
func Policies(names ...string) ([]Policy, error) {
	if len(names) == 0 {
		names = DefaultPolicyNames
	}
	foresightConfig, err := ForesightSchedulerConfig()
	if err != nil {
		return nil, err
	}
	if foresightConfig, err = withPartitionWriteQPS(foresightConfig, validation.MaxPartitionWriteQPS); err != nil {
		return nil, err
	}
	var out []Policy
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if seen[n] {
			return nil, fmt.Errorf("policy %q named twice", n)
		}
		seen[n] = true
		var p Policy
		switch n {
		case PolicyDefault:
			p = Policy{Description: "kube-scheduler's default profile: places by requests, spreads (LeastAllocated)",
				SchedulerConfig: DefaultSchedulerConfig, Agent: AgentOff}
		case PolicyMostAllocated:
			p = Policy{Description: "kube-scheduler's default profile with NodeResourcesFit MostAllocated: bin-packs by requests",
				SchedulerConfig: MostAllocatedSchedulerConfig, Agent: AgentOff}
		case PolicyLoadAware:
			p = Policy{Description: "load-aware ablation: the Foresight scheduler and rightsizing fed the last observed usage only (no quantiles, no seasonality), as Trimaran or Koordinator know it",
				SchedulerConfig: foresightConfig, Foresight: true, Agent: AgentCurrent, Rightsizing: true}
		case PolicyForesightNoSeasons:
			p = Policy{Description: "Foresight with the node agent's statistics (mean, quantiles, peak) but no daily shapes or forecasts",
				SchedulerConfig: foresightConfig, Foresight: true, Agent: AgentStatistics, Rightsizing: true}
		case PolicyForesight:
			p = Policy{Description: "Foresight in full: statistics, daily shapes and conformal forecasts (pkg/forecast)",
				SchedulerConfig: foresightConfig, Foresight: true, Agent: AgentFull, Rightsizing: true}
		case PolicyForesightResize:
			p = Policy{Description: "Foresight in full, with the controller's loop: running pods resized in place as forecasts move (hourly, 2 h horizon, at admission too), a pod whose growth its node cannot hold migrated, and the least used variable node drained when its pods fit elsewhere (hourly)",
				SchedulerConfig: foresightConfig, Foresight: true, Agent: AgentFull, Rightsizing: true, Resize: true, Consolidate: true}
		default:
			return nil, fmt.Errorf("unknown policy %q (known: %s)", n, strings.Join(PolicyNames, ", "))
		}
		p.Name = n
		out = append(out, p)
	}
	return out, nil
}
