package validation

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/foresight-dev/foresight/pkg/plugins/apis/config"
)

func validArgs() config.ForesightArgs {
	return config.ForesightArgs{
		ProfileStalenessLimit: metav1.Duration{Duration: time.Minute},
		DefaultCPU:            resource.MustParse("100m"),
		DefaultMemory:         resource.MustParse("200Mi"),
		ScoreWeights:          config.ScoreWeights{Utilization: 1, Cost: 1, Risk: 1, Confidence: 1},
		PartitionWriteQPS:     20,
	}
}

func TestValidateForesightArgs(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*config.ForesightArgs)
		wantErr string
	}{
		{name: "valid", mutate: func(*config.ForesightArgs) {}},
		{name: "zero staleness", mutate: func(a *config.ForesightArgs) { a.ProfileStalenessLimit.Duration = 0 },
			wantErr: "args.profileStalenessLimit: Invalid value: \"0s\": must be greater than zero"},
		{name: "negative default CPU", mutate: func(a *config.ForesightArgs) { a.DefaultCPU = resource.MustParse("-1") },
			wantErr: "args.defaultCPU: Invalid value: \"-1\": must be greater than zero"},
		{name: "zero default memory", mutate: func(a *config.ForesightArgs) { a.DefaultMemory = resource.Quantity{} },
			wantErr: "args.defaultMemory"},
		{name: "no partition writes", mutate: func(a *config.ForesightArgs) { a.PartitionWriteQPS = 0 },
			wantErr: "args.partitionWriteQPS: Invalid value: 0: must be between 1 and 10000"},
		{name: "partition writes above the limit", mutate: func(a *config.ForesightArgs) { a.PartitionWriteQPS = 10001 },
			wantErr: "args.partitionWriteQPS: Invalid value: 10001"},
		{name: "weight above 100", mutate: func(a *config.ForesightArgs) { a.ScoreWeights.Risk = 101 },
			wantErr: "args.scoreWeights.risk: Invalid value: 101: must be between 0 and 100"},
		{name: "negative weight", mutate: func(a *config.ForesightArgs) { a.ScoreWeights.Cost = -1 },
			wantErr: "args.scoreWeights.cost: Invalid value: -1"},
		{name: "all weights zero", mutate: func(a *config.ForesightArgs) { a.ScoreWeights = config.ScoreWeights{} },
			wantErr: "at least one weight must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := validArgs()
			tc.mutate(&args)
			err := ValidateForesightArgs(field.NewPath("args"), &args)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestValidateForesightFairShareArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    config.ForesightFairShareArgs
		wantErr string
	}{
		{name: "valid, tenant from namespace", args: config.ForesightFairShareArgs{AgingHalfLife: metav1.Duration{Duration: time.Minute}}},
		{name: "valid label", args: config.ForesightFairShareArgs{TenantLabel: "example.com/team", AgingHalfLife: metav1.Duration{Duration: time.Minute}}},
		{name: "invalid label", args: config.ForesightFairShareArgs{TenantLabel: "not a label", AgingHalfLife: metav1.Duration{Duration: time.Minute}},
			wantErr: "args.tenantLabel: Invalid value: \"not a label\""},
		{name: "zero half-life", args: config.ForesightFairShareArgs{}, wantErr: "args.agingHalfLife: Invalid value: \"0s\": must be greater than zero"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateForesightFairShareArgs(field.NewPath("args"), &tc.args)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
