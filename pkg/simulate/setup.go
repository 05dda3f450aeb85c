package simulate

import (
	"errors"
	"fmt"
	"math"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// Setup describes a replay the way `kubectl-foresight simulate` takes it
// on its command line: days of history and of replay, one node shape, pool
// sizes (negative: suggested from the trace by SuggestPools), prices and
// the autoscaler's delays. NewSetup gives the command's defaults;
// Setup.Config turns it into a Config for a trace.
type Setup struct {
	// LearnDays of history before the replay; Days replayed after it (0:
	// to the end of the trace).
	LearnDays, Days float64
	// NodeCPU and NodeMemory of every node, as quantities ("32", "512Gi").
	NodeCPU, NodeMemory string
	// FixedNodes, DedicatedNodes and MaxVariableNodes: negative for
	// SuggestPools' sizes. VariableNodes is the variable pool's size at
	// the start.
	FixedNodes, DedicatedNodes, VariableNodes, MaxVariableNodes int
	// Prices per node-hour.
	PriceFixed, PriceDedicated, PriceVariable float64
	// MaxOvercommitPercent of the fixed and variable pools.
	MaxOvercommitPercent int32
	// ProvisionDelay and ScaleDownAfter of the autoscaler.
	ProvisionDelay, ScaleDownAfter time.Duration
	Agent                          AgentOptions
	Resize                         ResizeOptions
	RetryEvery                     time.Duration
	Policies                       []Policy
}

// NewSetup returns the defaults of `kubectl-foresight simulate`
// (docs/simulate.md), for the given policies.
func NewSetup(policies []Policy) Setup {
	return Setup{
		LearnDays: 7, NodeCPU: "32", NodeMemory: "512Gi",
		FixedNodes: -1, DedicatedNodes: -1, MaxVariableNodes: -1,
		PriceFixed: 1.2, PriceDedicated: 1.2, PriceVariable: 2.0, MaxOvercommitPercent: 400,
		ProvisionDelay: 5 * time.Minute, ScaleDownAfter: 10 * time.Minute,
		Agent:      AgentOptions{ForecastModel: "seasonal-naive"},
		RetryEvery: 30 * time.Minute, Policies: policies,
	}
}

// Config turns the setup into a replay of the trace, sizing the pools it
// leaves to SuggestPools. It normalizes the trace.
func (o Setup) Config(tr *Trace) (Config, error) {
	if tr == nil {
		return Config{}, errors.New("no trace")
	}
	if err := tr.Normalize(); err != nil {
		return Config{}, err
	}
	cpuQ, err := resource.ParseQuantity(o.NodeCPU)
	if err != nil {
		return Config{}, fmt.Errorf("node CPU %q: %w", o.NodeCPU, err)
	}
	memQ, err := resource.ParseQuantity(o.NodeMemory)
	if err != nil {
		return Config{}, fmt.Errorf("node memory %q: %w", o.NodeMemory, err)
	}
	nodeCPU, nodeMem := cpuQ.MilliValue(), memQ.Value()
	if nodeCPU <= 0 || nodeMem <= 0 {
		return Config{}, errors.New("node CPU and memory must be positive")
	}
	for _, p := range tr.Pods {
		if p.CPURequest > nodeCPU || p.MemoryRequest > nodeMem {
			return Config{}, fmt.Errorf("workload %s requests %dm CPU and %d bytes, more than a node (%s CPU, %s memory) holds",
				p.Name, p.CPURequest, p.MemoryRequest, o.NodeCPU, o.NodeMemory)
		}
	}
	traceDays := float64(tr.Steps) * tr.Step.Hours() / 24
	if math.IsNaN(o.LearnDays) || math.IsNaN(o.Days) || o.Days < 0 {
		return Config{}, fmt.Errorf("learn days %g and days %g must be numbers, days not negative", o.LearnDays, o.Days)
	}
	start := int(math.Round(o.LearnDays * 24 * float64(time.Hour) / float64(tr.Step)))
	if start < 0 || start >= tr.Steps {
		return Config{}, fmt.Errorf("%g days of history leave nothing to replay in a trace of %.1f days", o.LearnDays, traceDays)
	}
	steps := 0
	if o.Days > 0 {
		steps = int(math.Round(o.Days * 24 * float64(time.Hour) / float64(tr.Step)))
		if start+steps > tr.Steps {
			return Config{}, fmt.Errorf("%g days of history and %g of replay go past the trace's %.1f days", o.LearnDays, o.Days, traceDays)
		}
	}
	sizes := SuggestPools(tr, start, nodeCPU, nodeMem)
	fixed, dedicated, maxVariable := sizes.Fixed, sizes.Dedicated, sizes.MaxVariable
	if o.FixedNodes >= 0 {
		fixed = o.FixedNodes
	}
	if o.DedicatedNodes >= 0 {
		dedicated = o.DedicatedNodes
	}
	if o.MaxVariableNodes >= 0 {
		maxVariable = o.MaxVariableNodes
	}
	variable := max(o.VariableNodes, 0)
	pools := []PoolSpec{
		{Name: "fixed", Tier: foresightv1alpha1.PoolTierFixed, Nodes: fixed, CPU: nodeCPU, Memory: nodeMem, PricePerNodeHour: o.PriceFixed, MaxOvercommitPercent: o.MaxOvercommitPercent},
		{Name: "dedicated", Tier: foresightv1alpha1.PoolTierDedicated, Nodes: dedicated, CPU: nodeCPU, Memory: nodeMem, PricePerNodeHour: o.PriceDedicated, MaxOvercommitPercent: 100},
		{Name: "variable", Tier: foresightv1alpha1.PoolTierVariable, Nodes: variable, MaxNodes: max(maxVariable, variable), CPU: nodeCPU, Memory: nodeMem, PricePerNodeHour: o.PriceVariable, MaxOvercommitPercent: o.MaxOvercommitPercent},
	}
	return Config{
		Trace: tr, Start: start, Steps: steps, Pools: pools, Policies: o.Policies,
		Autoscaler: AutoscalerOptions{
			ProvisionSteps: max(1, int(math.Ceil(float64(o.ProvisionDelay)/float64(tr.Step)))), ScaleDownAfter: o.ScaleDownAfter,
		},
		Agent: o.Agent, Resize: o.Resize, RetryEvery: o.RetryEvery,
	}, nil
}
