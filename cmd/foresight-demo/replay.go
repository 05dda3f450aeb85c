package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"k8s.io/kubernetes/test/utils/ktesting"

	"github.com/foresight-dev/foresight/pkg/simulate"
	"github.com/foresight-dev/foresight/test/framework"
)

// The demo's replay: the built-in synthetic trace (simulate.SyntheticTrace),
// a week of history and two days replayed, on nodes of 8 cores and 32 GiB.
const (
	replayLearnDays  = 7
	replayNodeCPU    = "8"
	replayNodeMemory = "32Gi"
)

// demoTrace returns the built-in trace for learnDays of history and days
// of replay, written in the generic CSV format and read back, so that the
// demo replays exactly what `foresight-demo --write-trace` writes and
// `kubectl-foresight simulate --csv` reads.
func demoTrace(learnDays, days int) (*simulate.Trace, error) {
	var b bytes.Buffer
	if err := simulate.WriteCSV(&b, simulate.SyntheticTrace(learnDays+days, 5*time.Minute)); err != nil {
		return nil, err
	}
	tr, err := simulate.ReadCSV(&b, 5*time.Minute)
	if err != nil {
		return nil, fmt.Errorf("reading the built-in trace back: %w", err)
	}
	return tr, nil
}

// demoSetup is the replay of the demo: every policy, the command's
// defaults for the rest.
func demoSetup(days int) (simulate.Setup, error) {
	policies, err := simulate.Policies(simulate.PolicyNames...)
	if err != nil {
		return simulate.Setup{}, err
	}
	s := simulate.NewSetup(policies)
	s.LearnDays, s.Days = replayLearnDays, float64(days)
	s.NodeCPU, s.NodeMemory = replayNodeCPU, replayNodeMemory
	return s, nil
}

// writeTrace writes the built-in trace as CSV to path ("-": standard
// output).
func writeTrace(path string, days int) error {
	tr, err := demoTrace(replayLearnDays, days)
	if err != nil {
		return err
	}
	if path == "-" {
		return simulate.WriteCSV(os.Stdout, tr)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := simulate.WriteCSV(f, tr); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// runReplay replays the trace under setup on a control plane of its own
// (the demo's first part has its own scheduler, pools and nodes, which
// the replay would see), draws a progress bar on progress (when not nil)
// and prints the comparison as `kubectl-foresight simulate` prints it.
func runReplay(ctx context.Context, tb ktesting.TB, out, progress io.Writer, tr *simulate.Trace, setup simulate.Setup) (*simulate.Result, error) {
	cfg, err := setup.Config(tr)
	if err != nil {
		return nil, err
	}
	cfg.Progress = progress
	cp := framework.StartControlPlane(tb)
	if err := cp.InstallCRDs(ctx); err != nil {
		return nil, err
	}
	b := simulate.NewControlPlaneBackend(cp, tb.TempDir())
	defer b.Close()
	res, err := simulate.Run(ctx, b, cfg)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if err := res.WriteTable(out); err != nil {
		return nil, err
	}
	return res, nil
}

// replayIntro says what the replay is before it runs.
func replayIntro(out io.Writer, tr *simulate.Trace, setup simulate.Setup) {
	classes := map[string]int{}
	for _, p := range tr.Pods {
		classes[string(p.Class)]++
	}
	fmt.Fprintf(out, "\nReplaying the built-in synthetic trace (%d workloads of an online shop: %d critical, %d standard, %d batch, %d best-effort;\n",
		len(tr.Pods), classes["critical"], classes["standard"], classes["batch"], classes["best-effort"])
	fmt.Fprintf(out, "daily rhythms, nightly jobs, random bursts) through the real kube-scheduler: %g days of history, %g days replayed,\n", setup.LearnDays, setup.Days)
	fmt.Fprintf(out, "nodes of %s CPU / %s, under %d policies side by side (docs/simulate.md). The same replay, from a file:\n", setup.NodeCPU, setup.NodeMemory, len(setup.Policies))
	fmt.Fprintf(out, "  go run ./cmd/foresight-demo --write-trace demo.csv && kubectl-foresight simulate --csv demo.csv --learn-days %g --days %g --node-cpu %s --node-memory %s\n\n",
		setup.LearnDays, setup.Days, setup.NodeCPU, setup.NodeMemory)
}
