package scheme

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	schedscheme "k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"

	"github.com/foresight-dev/foresight/pkg/plugins/apis/config"
)

// TestDecodeKubeSchedulerConfiguration decodes configurations naming the
// plugins' arguments with kube-scheduler's own decoder, which defaults and
// converts them to the internal types.
func TestDecodeKubeSchedulerConfiguration(t *testing.T) {
	tests := []struct {
		name          string
		yaml          string
		wantForesight *config.ForesightArgs
		wantFairShare *config.ForesightFairShareArgs
	}{
		{
			name: "defaults",
			yaml: `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: foresight-scheduler
  pluginConfig:
  - name: Foresight
    args: {}
  - name: ForesightFairShare
    args: {}
`,
			wantForesight: &config.ForesightArgs{
				ProfileStalenessLimit: metav1.Duration{Duration: 5 * time.Minute},
				DefaultCPU:            resource.MustParse("100m"),
				DefaultMemory:         resource.MustParse("200Mi"),
				ScoreWeights:          config.ScoreWeights{Utilization: 3, Cost: 4, Risk: 2, Confidence: 1},
				PartitionWriteQPS:     20,
			},
			wantFairShare: &config.ForesightFairShareArgs{AgingHalfLife: metav1.Duration{Duration: 5 * time.Minute}},
		},
		{
			name: "everything set, zero weights kept",
			yaml: `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: foresight-scheduler
  pluginConfig:
  - name: Foresight
    args:
      profileStalenessLimit: 90s
      defaultCPU: 250m
      defaultMemory: 1Gi
      scoreWeights: {utilization: 0, cost: 10, risk: 0, confidence: 5}
      partitionWriteQPS: 50
  - name: ForesightFairShare
    args:
      tenantLabel: example.com/team
      agingHalfLife: 1m
`,
			wantForesight: &config.ForesightArgs{
				ProfileStalenessLimit: metav1.Duration{Duration: 90 * time.Second},
				DefaultCPU:            resource.MustParse("250m"),
				DefaultMemory:         resource.MustParse("1Gi"),
				ScoreWeights:          config.ScoreWeights{Utilization: 0, Cost: 10, Risk: 0, Confidence: 5},
				PartitionWriteQPS:     50,
			},
			wantFairShare: &config.ForesightFairShareArgs{TenantLabel: "example.com/team", AgingHalfLife: metav1.Duration{Duration: time.Minute}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj, _, err := schedscheme.Codecs.UniversalDecoder().Decode([]byte(tc.yaml), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			cfg, ok := obj.(*schedconfig.KubeSchedulerConfiguration)
			if !ok {
				t.Fatalf("decoded %T", obj)
			}
			args := map[string]any{}
			for _, pc := range cfg.Profiles[0].PluginConfig {
				args[pc.Name] = pc.Args
			}
			quantity := cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })
			if diff := cmp.Diff(tc.wantForesight, args["Foresight"], quantity); diff != "" {
				t.Errorf("Foresight args (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantFairShare, args["ForesightFairShare"]); diff != "" {
				t.Errorf("ForesightFairShare args (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRejectsUnknownFields(t *testing.T) {
	yaml := `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- pluginConfig:
  - name: Foresight
    args:
      stalenessLimit: 5m
`
	if _, _, err := schedscheme.Codecs.UniversalDecoder().Decode([]byte(yaml), nil, nil); err == nil {
		t.Fatal("a misspelt argument was accepted")
	}
}
