package v1

import (
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Defaults of the Foresight plugins' arguments.
var (
	DefaultProfileStalenessLimit = metav1.Duration{Duration: 5 * time.Minute}
	DefaultCPU                   = resource.MustParse("100m")
	DefaultMemory                = resource.MustParse("200Mi")
	DefaultUtilizationWeight     = int64(3)
	DefaultCostWeight            = int64(4)
	DefaultRiskWeight            = int64(2)
	DefaultConfidenceWeight      = int64(1)
	DefaultPartitionWriteQPS     = int32(20)
	DefaultAgingHalfLife         = metav1.Duration{Duration: 5 * time.Minute}
)

// SetDefaults_ForesightArgs sets the defaults of ForesightArgs.
func SetDefaults_ForesightArgs(obj *ForesightArgs) {
	if obj.ProfileStalenessLimit == nil {
		obj.ProfileStalenessLimit = ptr.To(DefaultProfileStalenessLimit)
	}
	if obj.DefaultCPU == nil {
		obj.DefaultCPU = ptr.To(DefaultCPU.DeepCopy())
	}
	if obj.DefaultMemory == nil {
		obj.DefaultMemory = ptr.To(DefaultMemory.DeepCopy())
	}
	if obj.PartitionWriteQPS == nil {
		obj.PartitionWriteQPS = ptr.To(DefaultPartitionWriteQPS)
	}
	if obj.ScoreWeights == nil {
		obj.ScoreWeights = &ScoreWeights{}
	}
	w := obj.ScoreWeights
	if w.Utilization == nil {
		w.Utilization = ptr.To(DefaultUtilizationWeight)
	}
	if w.Cost == nil {
		w.Cost = ptr.To(DefaultCostWeight)
	}
	if w.Risk == nil {
		w.Risk = ptr.To(DefaultRiskWeight)
	}
	if w.Confidence == nil {
		w.Confidence = ptr.To(DefaultConfidenceWeight)
	}
}

// SetDefaults_ForesightFairShareArgs sets the defaults of ForesightFairShareArgs.
func SetDefaults_ForesightFairShareArgs(obj *ForesightFairShareArgs) {
	if obj.TenantLabel == nil {
		obj.TenantLabel = ptr.To("")
	}
	if obj.AgingHalfLife == nil {
		obj.AgingHalfLife = ptr.To(DefaultAgingHalfLife)
	}
}
