package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/foresight-dev/foresight/pkg/simulate"
	"github.com/foresight-dev/foresight/test/framework"
)

func init() {
	subcommands = append(subcommands, newSimulateCommand)
}

// simulateOptions are the flags of the simulate command.
type simulateOptions struct {
	traceDir, csvPath, outDir  string
	months, policies           []string
	pods                       int
	days, learnDays            float64
	step                       time.Duration
	nodeCPU, nodeMemory        string
	fixed, dedicated, variable int
	maxVariable                int
	priceFixed, priceDedicated float64
	priceVariable              float64
	maxOvercommit              int32
	provisionDelay, scaleDown  time.Duration
	forecastModel              string
	unclipped                  bool
	retryEvery                 time.Duration
	growth                     string
	resizeTarget               string
	verbose                    bool
	cpuProfile                 string
}

func newSimulateCommand() *cobra.Command {
	o := &simulateOptions{}
	cmd := &cobra.Command{
		Use:   "simulate (--trace-dir DIR | --csv FILE)",
		Short: "Replay a workload trace through the real scheduler and compare policies by cost and SLA violations",
		Long: `simulate replays a workload trace in simulated time through kube-scheduler and Foresight's
plugins, running on an etcd and kube-apiserver started in this process (no cluster needed), once
per policy: kube-scheduler's default profile, bin-packing by requests (MostAllocated), a load-aware
ablation that knows current usage only, Foresight without seasonality, Foresight in full, and
Foresight with the controller resizing running pods in place every hour (rightsize.DecideResize).
Every workload is one pod of its own Deployment: it arrives and leaves as the trace says, uses what
the trace says, and a simulated node agent publishes its WorkloadProfile from the past only;
Foresight's policies rightsize pods at admission with the webhook's decision (rightsize.Decide).
The cluster has a fixed, a dedicated and an autoscaled variable pool of identical nodes.

It prints, per policy, node-hours and cost per pool, utilisation, SLA violations per class
(CPU demand over a node's capacity throttles its pods; memory over capacity OOM-kills the lowest
class), unplaced pods and scheduling latency, against the static lower bound, the sum of per-pod
peaks and the dynamic oracle. With --out it writes timeseries.csv (every metric at every step),
summary.csv and replay.png. See docs/simulate.md.`,
		Example: `  # Bitbrains Rnd: learn July, replay August and September
  kubectl foresight simulate --trace-dir ../shared/traces/bitbrains-rnd --learn-days 31 --out _output/replay

  # Your own Prometheus export (docs/simulate.md describes the columns)
  kubectl foresight simulate --csv usage.csv --learn-days 7 --days 7 --node-cpu 16 --node-memory 64Gi`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runSimulate(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.traceDir, "trace-dir", "", "directory of a Bitbrains trace (<month>/<vm>.csv.gz), such as ../shared/traces/bitbrains-rnd")
	f.StringVar(&o.csvPath, "csv", "", "trace in the generic CSV format (timestamp,pod,cpu,memory[,cpu_request,memory_request,class,...])")
	f.StringSliceVar(&o.months, "months", simulate.BitbrainsMonths, "months of the Bitbrains trace to read, in order")
	f.IntVar(&o.pods, "pods", 0, "replay only the first N workloads (0: all)")
	f.Float64Var(&o.learnDays, "learn-days", 7, "days of history before the replay: the agent measures and the forecasters learn, nothing is scheduled")
	f.Float64Var(&o.days, "days", 0, "days to replay after the history (0: to the end of the trace)")
	f.StringSliceVar(&o.policies, "policies", simulate.DefaultPolicyNames, "policies to compare (any of "+strings.Join(simulate.PolicyNames, ", ")+")")
	f.StringVar(&o.outDir, "out", "", "directory to write timeseries.csv, summary.csv and replay.png into")
	f.DurationVar(&o.step, "step", 5*time.Minute, "simulated time step (the trace is averaged onto it)")
	f.StringVar(&o.nodeCPU, "node-cpu", "32", "CPU of every node")
	f.StringVar(&o.nodeMemory, "node-memory", "512Gi", "memory of every node")
	f.IntVar(&o.fixed, "fixed-nodes", -1, "nodes of the fixed pool (-1: half the static lower bound of the history)")
	f.IntVar(&o.dedicated, "dedicated-nodes", -1, "nodes of the dedicated pool, for critical pods (-1: what their requests need)")
	f.IntVar(&o.variable, "variable-nodes", 0, "nodes of the variable pool at the start")
	f.IntVar(&o.maxVariable, "max-variable-nodes", -1, "most nodes the autoscaler may run in the variable pool (-1: what every pod's requests need)")
	f.Float64Var(&o.priceFixed, "price-fixed", 1.2, "price of a fixed node per hour (paid whether used or not)")
	f.Float64Var(&o.priceDedicated, "price-dedicated", 1.2, "price of a dedicated node per hour")
	f.Float64Var(&o.priceVariable, "price-variable", 2.0, "price of a variable node per hour (on demand)")
	f.Int32Var(&o.maxOvercommit, "max-overcommit", 400, "overcommit.maxRatioPercent of the fixed and variable pools: bound on a node's original requests (100: none)")
	f.DurationVar(&o.provisionDelay, "provision-delay", 5*time.Minute, "time from the autoscaler asking for a node to the node taking pods (at least one step)")
	f.DurationVar(&o.scaleDown, "scale-down-after", 10*time.Minute, "time a variable node must stay empty before the autoscaler removes it")
	f.StringVar(&o.forecastModel, "forecast-model", "seasonal-naive", fmt.Sprintf("pkg/forecast model of the simulated agent, one of %v (auto fits in ~0.7 s per series)", simulate.ForecastModels))
	f.BoolVar(&o.unclipped, "unclipped-forecasts", false, "publish forecast bounds as the model makes them instead of clipping them to the largest value the workload has shown")
	f.StringVar(&o.growth, "growth", string(simulate.GrowthMigrate), fmt.Sprintf("under foresight-resize, what the controller does with a growth its node cannot hold: one of %v (docs/benchmarks/replay.md compares them)", growthPolicies))
	f.StringVar(&o.resizeTarget, "resize-target", string(simulate.DefaultResizeTarget), fmt.Sprintf("under foresight-resize, what the controller sizes a running pod's requests for: one of %v (own: the pod's own predicted bound; pooled: its share of its partition's pooled demand)", simulate.ResizeTargets))
	f.DurationVar(&o.retryEvery, "retry-every", 30*time.Minute, "how often pending pods are retried when nothing in the cluster changed")
	f.BoolVar(&o.verbose, "verbose", false, "show the control plane's and the scheduler's logs")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the replay to this file")
	_ = f.MarkHidden("cpuprofile")
	return cmd
}

func runSimulate(ctx context.Context, o *simulateOptions, out, errOut io.Writer) error {
	if (o.traceDir == "") == (o.csvPath == "") {
		return errors.New("give exactly one of --trace-dir (a Bitbrains trace) and --csv (the generic CSV format)")
	}
	if o.step <= 0 {
		return fmt.Errorf("--step %v must be positive", o.step)
	}
	if _, err := growthPolicy(o.growth); err != nil {
		return err
	}
	if _, err := resizeTarget(o.resizeTarget); err != nil {
		return err
	}
	started := time.Now()
	tr, err := loadTrace(o)
	if err != nil {
		return err
	}
	fmt.Fprintf(errOut, "simulate: read %d workloads, %d samples of %s from %s (%s)\n", len(tr.Pods), tr.Steps, tr.Step,
		tr.Start.Format(time.RFC3339), time.Since(started).Round(100*time.Millisecond))
	policies, err := simulate.Policies(o.policies...)
	if err != nil {
		return err
	}
	cfg, err := simulateConfig(o, tr, policies)
	if err != nil {
		return err
	}
	logs := io.Discard
	if o.verbose {
		logs = errOut
	} else {
		// The in-process control plane logs to standard error (klog, and
		// the etcd client's own logger, which klog's settings do not
		// reach): keep its logs, and any crash, in a file.
		path := filepath.Join(os.TempDir(), fmt.Sprintf("kubectl-foresight-simulate-%d.log", os.Getpid()))
		if orig, restore, err := simulate.RedirectStderr(path); err == nil {
			defer restore()
			errOut = orig
			fmt.Fprintf(errOut, "simulate: control plane logs go to %s\n", path)
		}
	}
	cfg.Progress = errOut
	if o.cpuProfile != "" {
		pf, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = pf.Close()
		}()
	}
	var res *simulate.Result
	err = framework.RunProcessTB("kubectl-foresight simulate", logs, func(tb *framework.ProcessTB) error {
		cp := framework.StartControlPlane(tb)
		if err := cp.InstallCRDs(ctx); err != nil {
			return err
		}
		b := simulate.NewControlPlaneBackend(cp, tb.TempDir())
		defer b.Close()
		var err error
		res, err = simulate.Run(ctx, b, cfg)
		return err
	})
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	if err := res.WriteTable(out); err != nil {
		return err
	}
	if o.outDir != "" {
		if err := os.MkdirAll(o.outDir, 0o755); err != nil {
			return err
		}
		for _, f := range []struct {
			name  string
			write func(io.Writer) error
		}{{"timeseries.csv", res.WriteSeriesCSV}, {"summary.csv", res.WriteSummaryCSV}, {"replay.png", res.WritePlot}} {
			p := filepath.Join(o.outDir, f.name)
			if err := writeFile(p, f.write); err != nil {
				return err
			}
			fmt.Fprintf(errOut, "simulate: wrote %s\n", p)
		}
	}
	fmt.Fprintf(errOut, "simulate: done in %s\n", time.Since(started).Round(100*time.Millisecond))
	return nil
}

func loadTrace(o *simulateOptions) (*simulate.Trace, error) {
	var tr *simulate.Trace
	var err error
	if o.csvPath != "" {
		f, ferr := os.Open(o.csvPath)
		if ferr != nil {
			return nil, ferr
		}
		defer f.Close()
		tr, err = simulate.ReadCSV(f, o.step)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.csvPath, err)
		}
	} else {
		tr, err = simulate.LoadBitbrains(o.traceDir, o.months, o.pods, o.step)
		if err != nil {
			return nil, err
		}
	}
	if o.pods > 0 && len(tr.Pods) > o.pods {
		tr.Pods = tr.Pods[:o.pods]
	}
	return tr, nil
}

// simulateConfig turns the flags into a replay configuration, sizing the
// pools the flags leave to it (docs/simulate.md).
func simulateConfig(o *simulateOptions, tr *simulate.Trace, policies []simulate.Policy) (simulate.Config, error) {
	setup := simulate.Setup{
		LearnDays: o.learnDays, Days: o.days, NodeCPU: o.nodeCPU, NodeMemory: o.nodeMemory,
		FixedNodes: o.fixed, DedicatedNodes: o.dedicated, VariableNodes: o.variable, MaxVariableNodes: o.maxVariable,
		PriceFixed: o.priceFixed, PriceDedicated: o.priceDedicated, PriceVariable: o.priceVariable,
		MaxOvercommitPercent: o.maxOvercommit, ProvisionDelay: o.provisionDelay, ScaleDownAfter: o.scaleDown,
		Agent:      simulate.AgentOptions{ForecastModel: o.forecastModel, UnclippedForecasts: o.unclipped},
		RetryEvery: o.retryEvery, Policies: policies,
	}
	g, err := growthPolicy(o.growth)
	if err != nil {
		return simulate.Config{}, err
	}
	setup.Resize.Growth = g
	target, err := resizeTarget(o.resizeTarget)
	if err != nil {
		return simulate.Config{}, err
	}
	setup.Resize.Target = target
	return setup.Config(tr)
}

// resizeTarget reads --resize-target.
func resizeTarget(v string) (simulate.ResizeTarget, error) {
	for _, t := range simulate.ResizeTargets {
		if string(t) == v {
			return t, nil
		}
	}
	return "", fmt.Errorf("--resize-target %q: want one of %v", v, simulate.ResizeTargets)
}

var growthPolicies = simulate.GrowthPolicies

// growthPolicy reads --growth.
func growthPolicy(v string) (simulate.GrowthPolicy, error) {
	for _, g := range growthPolicies {
		if string(g) == v {
			return g, nil
		}
	}
	return "", fmt.Errorf("--growth %q: want one of %v", v, growthPolicies)
}
