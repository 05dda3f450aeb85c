package simulate

import (
	"testing"

	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	schedscheme "k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"

	"github.com/foresight-dev/foresight/pkg/plugins/apis/config"
	_ "github.com/foresight-dev/foresight/pkg/plugins/apis/config/scheme"
	"github.com/foresight-dev/foresight/pkg/plugins/apis/config/validation"
)

// TestPoliciesUnpacePartitionWrites checks that every Foresight policy
// runs the shipped configuration with Partition writes unpaced (the
// replay's time is compressed), and that the rest of the configuration
// is the shipped one.
func TestPoliciesUnpacePartitionWrites(t *testing.T) {
	decode := func(t *testing.T, raw string) *config.ForesightArgs {
		t.Helper()
		obj, _, err := schedscheme.Codecs.UniversalDecoder().Decode([]byte(raw), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg, ok := obj.(*schedconfig.KubeSchedulerConfiguration)
		if !ok {
			t.Fatalf("decoded %T", obj)
		}
		for _, pc := range cfg.Profiles[0].PluginConfig {
			if args, ok := pc.Args.(*config.ForesightArgs); ok {
				return args
			}
		}
		t.Fatal("no Foresight args in the configuration")
		return nil
	}
	shippedRaw, err := ForesightSchedulerConfig()
	if err != nil {
		t.Fatal(err)
	}
	shipped := decode(t, shippedRaw)
	policies, err := Policies(PolicyNames...)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range policies {
		if !p.Foresight {
			continue
		}
		n++
		got := decode(t, p.SchedulerConfig)
		if got.PartitionWriteQPS != validation.MaxPartitionWriteQPS {
			t.Errorf("policy %s: partitionWriteQPS %d, want %d", p.Name, got.PartitionWriteQPS, validation.MaxPartitionWriteQPS)
		}
		want := *shipped
		want.PartitionWriteQPS = got.PartitionWriteQPS
		if got.ProfileStalenessLimit != want.ProfileStalenessLimit || got.ScoreWeights != want.ScoreWeights || got.DefaultCPU.Cmp(want.DefaultCPU) != 0 {
			t.Errorf("policy %s: Foresight args %+v differ from the shipped %+v beyond partitionWriteQPS", p.Name, got, want)
		}
	}
	if n == 0 {
		t.Fatal("no Foresight policy")
	}
}
