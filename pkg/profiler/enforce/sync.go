package enforce

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
)

// Sync plans every partition of node and applies the plans by their pool's
// mode: Enforce partitions are written (anything written before and no
// longer planned is restored), DryRun partitions are only logged, Off
// partitions are ignored. poolMode returns a pool's mode ("" when the pool
// is unknown, treated as Off).
func (e *Enforcer) Sync(ctx context.Context, l discovery.Layout, node string, parts []*foresightv1alpha1.Partition,
	poolMode func(pool string) foresightv1alpha1.EnforcementMode, podCgroups map[types.UID]string) ([]Write, error) {
	logger := klog.FromContext(ctx)
	var enforce []Write
	var errs []error
	for _, p := range parts {
		if p.Spec.NodeName != node {
			continue
		}
		mode := poolMode(p.Spec.PoolName)
		if mode != foresightv1alpha1.EnforcementEnforce && mode != foresightv1alpha1.EnforcementDryRun {
			continue
		}
		plan, err := Plan(l, p, podCgroups)
		if err != nil {
			errs = append(errs, fmt.Errorf("partition %s: %w", p.Name, err))
			continue
		}
		if mode == foresightv1alpha1.EnforcementDryRun {
			for _, w := range plan {
				logger.Info("Dry run: would write partition size", "partition", p.Name, "file", w.File, "value", w.Value)
			}
			continue
		}
		enforce = append(enforce, plan...)
	}
	done, err := e.Apply(ctx, foresightv1alpha1.EnforcementEnforce, enforce)
	return done, errors.Join(append(errs, err)...)
}
