// Package validation checks the arguments of Foresight's scheduler plugins.
package validation

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/foresight-dev/foresight/pkg/plugins/apis/config"
)

// MaxScoreWeight is the largest weight of a score term.
const MaxScoreWeight = 100

// MaxPartitionWriteQPS is the largest PartitionWriteQPS.
const MaxPartitionWriteQPS = 10000

// ValidateForesightArgs checks ForesightArgs; path is where the arguments
// sit in the scheduler configuration.
func ValidateForesightArgs(path *field.Path, args *config.ForesightArgs) error {
	var errs field.ErrorList
	if args.ProfileStalenessLimit.Duration <= 0 {
		errs = append(errs, field.Invalid(path.Child("profileStalenessLimit"), args.ProfileStalenessLimit.Duration.String(), "must be greater than zero"))
	}
	if args.DefaultCPU.Sign() <= 0 {
		errs = append(errs, field.Invalid(path.Child("defaultCPU"), args.DefaultCPU.String(), "must be greater than zero"))
	}
	if args.DefaultMemory.Sign() <= 0 {
		errs = append(errs, field.Invalid(path.Child("defaultMemory"), args.DefaultMemory.String(), "must be greater than zero"))
	}
	if args.PartitionWriteQPS <= 0 || args.PartitionWriteQPS > MaxPartitionWriteQPS {
		errs = append(errs, field.Invalid(path.Child("partitionWriteQPS"), args.PartitionWriteQPS, fmt.Sprintf("must be between 1 and %d", MaxPartitionWriteQPS)))
	}
	w := args.ScoreWeights
	wp := path.Child("scoreWeights")
	for _, term := range []struct {
		name   string
		weight int64
	}{{"utilization", w.Utilization}, {"cost", w.Cost}, {"risk", w.Risk}, {"confidence", w.Confidence}} {
		if term.weight < 0 || term.weight > MaxScoreWeight {
			errs = append(errs, field.Invalid(wp.Child(term.name), term.weight, "must be between 0 and 100"))
		}
	}
	if w.Utilization+w.Cost+w.Risk+w.Confidence == 0 {
		errs = append(errs, field.Invalid(wp, "all zero", "at least one weight must be positive"))
	}
	return errs.ToAggregate()
}

// ValidateForesightFairShareArgs checks ForesightFairShareArgs.
func ValidateForesightFairShareArgs(path *field.Path, args *config.ForesightFairShareArgs) error {
	var errs field.ErrorList
	if args.TenantLabel != "" {
		for _, msg := range validation.IsQualifiedName(args.TenantLabel) {
			errs = append(errs, field.Invalid(path.Child("tenantLabel"), args.TenantLabel, msg))
		}
	}
	if args.AgingHalfLife.Duration <= 0 {
		errs = append(errs, field.Invalid(path.Child("agingHalfLife"), args.AgingHalfLife.Duration.String(), "must be greater than zero"))
	}
	return errs.ToAggregate()
}
