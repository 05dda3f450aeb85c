package app

import (
	"strings"
	"testing"
	"time"

	"github.com/foresight-dev/foresight/pkg/simulate"
)

func TestGrowthFlag(t *testing.T) {
	for _, tc := range []struct {
		flag string
		want simulate.GrowthPolicy
		err  bool
	}{
		{flag: "migrate", want: simulate.GrowthMigrate},
		{flag: "defer-unless-room", want: simulate.GrowthDeferUnlessRoom},
		{flag: "defer-below-standard", want: simulate.GrowthDeferBelowStandard},
		{flag: "defer-once", want: simulate.GrowthDeferOnce},
		{flag: "", err: true},
		{flag: "defer", err: true},
	} {
		got, err := growthPolicy(tc.flag)
		if tc.err {
			if err == nil || !strings.Contains(err.Error(), "--growth") {
				t.Errorf("--growth %q: error %v, want one naming the flag", tc.flag, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("--growth %q = %q, %v; want %q", tc.flag, got, err, tc.want)
		}
	}
	// The flag reaches the replay's configuration.
	cfg, err := simulateConfig(&simulateOptions{growth: "defer-below-standard", resizeTarget: "own", learnDays: 1, nodeCPU: "32", nodeMemory: "512Gi",
		fixed: 1, variable: 0, maxVariable: 2, maxOvercommit: 400, step: 0}, simulate.SyntheticTrace(3, 5*time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Resize.Growth != simulate.GrowthDeferBelowStandard {
		t.Errorf("Config.Resize.Growth = %q, want %q", cfg.Resize.Growth, simulate.GrowthDeferBelowStandard)
	}
}

func TestResizeTargetFlag(t *testing.T) {
	for _, tc := range []struct {
		flag string
		want simulate.ResizeTarget
		err  bool
	}{
		{flag: "own", want: simulate.TargetOwn},
		{flag: "pooled", want: simulate.TargetPooled},
		{flag: "", err: true},
		{flag: "Pooled", err: true},
		{flag: "shared", err: true},
	} {
		got, err := resizeTarget(tc.flag)
		if tc.err {
			if err == nil || !strings.Contains(err.Error(), "--resize-target") {
				t.Errorf("--resize-target %q: error %v, want one naming the flag", tc.flag, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("--resize-target %q = %q, %v; want %q", tc.flag, got, err, tc.want)
		}
	}
	// The flag reaches the replay's configuration, and a bad value stops it.
	opts := func(target string) *simulateOptions {
		return &simulateOptions{growth: "migrate", resizeTarget: target, learnDays: 1, nodeCPU: "32", nodeMemory: "512Gi",
			fixed: 1, variable: 0, maxVariable: 2, maxOvercommit: 400}
	}
	cfg, err := simulateConfig(opts("pooled"), simulate.SyntheticTrace(3, 5*time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Resize.Target != simulate.TargetPooled {
		t.Errorf("Config.Resize.Target = %q, want %q", cfg.Resize.Target, simulate.TargetPooled)
	}
	if _, err := simulateConfig(opts("shared"), simulate.SyntheticTrace(3, 5*time.Minute), nil); err == nil || !strings.Contains(err.Error(), "--resize-target") {
		t.Errorf("--resize-target shared: error %v, want one naming the flag", err)
	}
}
