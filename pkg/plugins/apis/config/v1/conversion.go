package v1

import (
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/utils/ptr"

	"github.com/foresight-dev/foresight/pkg/plugins/apis/config"
)

// Convert_v1_ForesightArgs_To_config_ForesightArgs converts the versioned
// arguments, whose optional fields are pointers, to the internal ones.
func Convert_v1_ForesightArgs_To_config_ForesightArgs(in *ForesightArgs, out *config.ForesightArgs, s conversion.Scope) error {
	if err := autoConvert_v1_ForesightArgs_To_config_ForesightArgs(in, out, s); err != nil {
		return err
	}
	if in.DefaultCPU != nil {
		out.DefaultCPU = in.DefaultCPU.DeepCopy()
	}
	if in.DefaultMemory != nil {
		out.DefaultMemory = in.DefaultMemory.DeepCopy()
	}
	if in.ScoreWeights != nil {
		return Convert_v1_ScoreWeights_To_config_ScoreWeights(in.ScoreWeights, &out.ScoreWeights, s)
	}
	return nil
}

// Convert_config_ForesightArgs_To_v1_ForesightArgs converts the internal
// arguments to the versioned ones.
func Convert_config_ForesightArgs_To_v1_ForesightArgs(in *config.ForesightArgs, out *ForesightArgs, s conversion.Scope) error {
	if err := autoConvert_config_ForesightArgs_To_v1_ForesightArgs(in, out, s); err != nil {
		return err
	}
	out.DefaultCPU = ptr.To(in.DefaultCPU.DeepCopy())
	out.DefaultMemory = ptr.To(in.DefaultMemory.DeepCopy())
	out.ScoreWeights = &ScoreWeights{}
	return Convert_config_ScoreWeights_To_v1_ScoreWeights(&in.ScoreWeights, out.ScoreWeights, s)
}
