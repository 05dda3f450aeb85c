// Command foresight-demo runs Foresight end to end with no cluster: it
// starts etcd and kube-apiserver in this process, installs the CRDs,
// creates a fixed pool that may be overcommitted by original requests, a
// variable and a dedicated pool of nodes, WorkloadProfiles for most of a
// small mixed workload, and runs foresight-controller's rightsizing webhook
// and the Foresight scheduler with their shipped configurations. It then
// creates the workload's pods and prints, as read back from the API
// server, how each was rightsized, predicted and placed into a partition
// with the terms of its score, the Partition objects, each pool's use, and
// the pod that was refused. Last, unless --skip-replay, it replays two days
// of a built-in synthetic trace under every scheduling policy of
// `kubectl-foresight simulate` and prints their comparison.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"

	"github.com/foresight-dev/foresight/pkg/simulate"
	"github.com/foresight-dev/foresight/test/framework"
)

func main() {
	// A flag set of our own: libraries linked in register theirs on the
	// global one.
	fs := flag.NewFlagSet("foresight-demo", flag.ExitOnError)
	verbose := fs.Bool("verbose", false, "show the logs of the control plane, the rightsizing webhook and the scheduler")
	skipReplay := fs.Bool("skip-replay", false, "skip the replay of the built-in trace under every policy (the demo's last part)")
	replayDays := fs.Int("replay-days", 2, "days of the built-in trace to replay, after a week of history")
	tracePath := fs.String("write-trace", "", "write the built-in trace (history and replayed days) in the generic CSV format to this file (- for standard output) and exit")
	_ = fs.Parse(os.Args[1:])
	if *replayDays < 1 {
		fmt.Fprintln(os.Stderr, "foresight-demo: --replay-days must be at least 1")
		os.Exit(2)
	}
	if *tracePath != "" {
		if err := writeTrace(*tracePath, *replayDays); err != nil {
			fmt.Fprintln(os.Stderr, "foresight-demo:", err)
			os.Exit(1)
		}
		return
	}
	logs := io.Discard
	if *verbose {
		logs = os.Stderr
	}
	quietKlog(*verbose)

	err := framework.RunProcessTB("foresight-demo", logs, func(tb *framework.ProcessTB) error {
		return run(tb, os.Stdout)
	})
	if err == nil && !*skipReplay {
		err = replayWithLogs(logs, *verbose, *replayDays)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "foresight-demo:", err)
		os.Exit(1)
	}
}

// replayWithLogs runs the replay on a control plane of its own (the first
// is gone by then). Unless verbose, the control plane's standard error
// goes to a file, named if the replay fails and removed otherwise: it logs
// there with loggers that klog does not reach (the etcd client's).
func replayWithLogs(logs io.Writer, verbose bool, days int) (err error) {
	progress := io.Writer(os.Stderr)
	if !verbose {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("foresight-demo-replay-%d.log", os.Getpid()))
		if orig, restore, rerr := simulate.RedirectStderr(path); rerr == nil {
			progress = orig
			defer func() {
				restore()
				if err == nil {
					_ = os.Remove(path)
				} else {
					err = fmt.Errorf("%w (the control plane's logs are in %s)", err, path)
				}
			}()
		}
	}
	return framework.RunProcessTB("foresight-demo replay", logs, func(tb *framework.ProcessTB) error {
		return replay(tb, os.Stdout, progress, days)
	})
}

// replay runs the demo's last part: the built-in trace under every policy.
func replay(tb *framework.ProcessTB, out, progress io.Writer, days int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	tr, err := demoTrace(replayLearnDays, days)
	if err != nil {
		return err
	}
	setup, err := demoSetup(days)
	if err != nil {
		return err
	}
	replayIntro(out, tr, setup)
	if _, err := runReplay(ctx, tb, out, progress, tr, setup); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nReplay done in %s (skip it with --skip-replay).\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// quietKlog keeps the in-process control plane's informational logs off
// the terminal unless asked for.
func quietKlog(verbose bool) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	if verbose {
		return
	}
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
}

func run(tb *framework.ProcessTB, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()

	fmt.Fprintln(out, "Starting etcd and kube-apiserver in this process…")
	cp := framework.StartControlPlane(tb)
	if err := cp.InstallCRDs(ctx); err != nil {
		return err
	}
	if err := createPools(ctx, cp); err != nil {
		return err
	}
	if err := createNamespaces(ctx, cp); err != nil {
		return err
	}
	if err := createProfiles(ctx, cp); err != nil {
		return err
	}
	fmt.Fprintf(out, "Starting foresight-controller's rightsizing webhook (rightsizing enabled in namespace %s)…\n", rightsized)
	probe, err := rightsizingProbe()
	if err != nil {
		return err
	}
	if err := startWebhook(ctx, tb, cp, probe); err != nil {
		return err
	}
	fmt.Fprintln(out, "Starting foresight-scheduler with manifests/scheduler/config/foresight-scheduler.yaml…")
	if _, err := cp.StartScheduler(ctx, tb, "foresight-scheduler.yaml"); err != nil {
		return err
	}

	// Pods are created through a client that collects the API server's
	// warnings: the webhook's say why a pod kept its requests.
	warned := &warnings{}
	client, err := clientWithWarnings(cp.Config, warned)
	if err != nil {
		return err
	}
	// Replica i of every workload is created before replica i+1 of any.
	bound, refused := map[string]bool{}, map[string]bool{}
	profiled := 0
	for i := 0; ; i++ {
		created := false
		for _, w := range workloads {
			if i >= w.replicas {
				continue
			}
			p := w.pod(i)
			warned.creating(podKey(p))
			if _, err := client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating pod %s: %w", podKey(p), err)
			}
			created = true
			if w.refused {
				refused[podKey(p)] = true
			} else {
				bound[podKey(p)] = true
			}
			if w.profile != nil {
				profiled++
			}
		}
		if !created {
			break
		}
	}
	fmt.Fprintf(out, "Created %d pods of %d Deployments (%d pods with a WorkloadProfile); waiting for the scheduler…\n\n",
		len(bound)+len(refused), len(workloads), profiled)

	s, err := waitForOutcome(ctx, cp, bound, refused)
	if err != nil {
		return err
	}
	s.print(out, warned.texts())
	fmt.Fprintf(out, "\nDone in %s. Everything above was read back from the API server.\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// waitForOutcome waits until the pods expected to be bound are, with their
// placement records, the ones expected to be refused have a
// FailedScheduling event, every bound pod is in its Partition and the
// Partitions have stopped changing; it returns what the API then holds.
func waitForOutcome(ctx context.Context, cp *framework.ControlPlane, bound, refused map[string]bool) (*clusterState, error) {
	var s *clusterState
	var last []string
	previous := ""
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		if s, err = readState(ctx, cp); err != nil {
			return false, err
		}
		if last = s.pending(bound, refused); len(last) > 0 {
			previous = ""
			return false, nil
		}
		versions := s.partitionVersions()
		settled := versions == previous
		previous = versions
		return settled, nil
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for the scheduler's decisions: %w (still waiting for: %s)", err, strings.Join(last, "; "))
	}
	return s, nil
}
