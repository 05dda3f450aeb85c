package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/klog/v2/ktesting"

	"github.com/foresight-dev/foresight/pkg/simulate"
)

// TestDemoReplay runs the demo's replay, shortened (four workloads, one
// of each class, two days of history and one replayed), on the in-process
// control plane and checks what every policy did.
func TestDemoReplay(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	tr, err := demoTrace(2, 1)
	if err != nil {
		t.Fatalf("the built-in trace: %v", err)
	}
	var pods []simulate.PodTrace
	for _, name := range []string{"checkout", "web-0", "etl-0", "ml-train"} {
		i := slices.IndexFunc(tr.Pods, func(p simulate.PodTrace) bool { return p.Name == name })
		if i < 0 {
			t.Fatalf("the built-in trace has no workload %s", name)
		}
		pods = append(pods, tr.Pods[i])
	}
	tr.Pods = pods
	setup, err := demoSetup(1)
	if err != nil {
		t.Fatal(err)
	}
	setup.LearnDays = 2

	var out strings.Builder
	res, err := runReplay(ctx, t, &out, nil, tr, setup)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	var names []string
	for _, o := range res.Outcomes {
		names = append(names, o.Policy.Name)
	}
	if diff := cmp.Diff(simulate.PolicyNames, names); diff != "" {
		t.Fatalf("policies replayed (-want +got):\n%s", diff)
	}
	for _, o := range res.Outcomes {
		if o.Unplaced != 0 {
			t.Errorf("%s: %d pods never placed", o.Policy.Name, o.Unplaced)
		}
		if got, want := len(o.Series), 288; got != want {
			t.Errorf("%s: %d steps replayed, want %d", o.Policy.Name, got, want)
		}
		// Only the resizing policy resizes, and over a day it does: the
		// workloads' forecasts move hour by hour.
		if moves := o.ResizesUp + o.ResizesDown + o.Migrations; o.Policy.Resize != (moves > 0) {
			t.Errorf("%s: %d resizes up, %d down, %d migrations", o.Policy.Name, o.ResizesUp, o.ResizesDown, o.Migrations)
		}
		if o.Pods != len(pods)+o.Migrations {
			t.Errorf("%s: %d pods created for %d workloads and %d migrations", o.Policy.Name, o.Pods, len(pods), o.Migrations)
		}
		if o.TotalNodeHours < res.Bounds.OracleNodeHours {
			t.Errorf("%s: %.0f node-hours, below the dynamic oracle's %.0f", o.Policy.Name, o.TotalNodeHours, res.Bounds.OracleNodeHours)
		}
		if o.Policy.Rightsizing {
			// checkout is critical (never rightsized); the others ask
			// for more than they ever used (a migrated pod is admitted
			// again).
			if o.Rightsized < len(pods)-1 || o.RequestedCPU >= o.OriginalCPU {
				t.Errorf("%s: %d pods rightsized, %dm CPU requested of %dm asked; want %d or more and less", o.Policy.Name, o.Rightsized, o.RequestedCPU, o.OriginalCPU, len(pods)-1)
			}
		} else if o.Rightsized != 0 || o.RequestedCPU != o.OriginalCPU {
			t.Errorf("%s: %d pods rightsized, %dm CPU requested of %dm asked; want none, all", o.Policy.Name, o.Rightsized, o.RequestedCPU, o.OriginalCPU)
		}
	}
	table := out.String()
	for _, want := range append([]string{"static lower bound", "sum of per-pod peaks", "dynamic oracle", "In-place resizing"}, simulate.PolicyNames...) {
		if !strings.Contains(table, want) {
			t.Errorf("the printed comparison lacks %q:\n%s", want, table)
		}
	}
	t.Logf("The comparison:\n%s", table)
}
