package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SLAClass is the service class of a pod. It sets the confidence level at
// which the pod's demand is predicted, whether the pod may be overcommitted
// and whether it may be migrated.
//
// +kubebuilder:validation:Enum=critical;standard;batch;best-effort
type SLAClass string

const (
	// SLAClassCritical pods are predicted at 99.9% confidence, never
	// overcommitted and never migrated unless they opt in.
	SLAClassCritical SLAClass = "critical"
	// SLAClassStandard pods are predicted at 99% confidence.
	SLAClassStandard SLAClass = "standard"
	// SLAClassBatch pods are predicted at 95% confidence.
	SLAClassBatch SLAClass = "batch"
	// SLAClassBestEffort pods are predicted at 90% confidence and are the
	// first to lose capacity under pressure.
	SLAClassBestEffort SLAClass = "best-effort"
)

// Confidence is a probability written as a decimal string in (0, 1), such as
// "0.99". Kubernetes APIs avoid floating-point fields; parse it with
// strconv.ParseFloat.
//
// +kubebuilder:validation:Pattern=`^0\.[0-9]{1,6}$`
type Confidence string

// ResourceVector is an amount of each resource Foresight accounts for. An
// absent field means "not constrained" in a limit and "zero" in a usage.
type ResourceVector struct {
	// CPU in cores.
	// +optional
	CPU *resource.Quantity `json:"cpu,omitempty"`
	// Memory in bytes.
	// +optional
	Memory *resource.Quantity `json:"memory,omitempty"`
	// DiskIO is disk read plus write throughput in bytes per second.
	// +optional
	DiskIO *resource.Quantity `json:"diskIO,omitempty"`
	// Network is network receive plus transmit throughput in bytes per second.
	// +optional
	Network *resource.Quantity `json:"network,omitempty"`
}

// ResourceStatistics summarises the usage of one resource over a window.
type ResourceStatistics struct {
	// Current is the latest sample.
	// +optional
	Current *resource.Quantity `json:"current,omitempty"`
	// Mean over the window.
	// +optional
	Mean *resource.Quantity `json:"mean,omitempty"`
	// Peak is the maximum sample over the window.
	// +optional
	Peak *resource.Quantity `json:"peak,omitempty"`
	// P50 is the median.
	// +optional
	P50 *resource.Quantity `json:"p50,omitempty"`
	// P90 is the 90th percentile.
	// +optional
	P90 *resource.Quantity `json:"p90,omitempty"`
	// P95 is the 95th percentile.
	// +optional
	P95 *resource.Quantity `json:"p95,omitempty"`
	// P99 is the 99th percentile.
	// +optional
	P99 *resource.Quantity `json:"p99,omitempty"`
}

// UsageStatistics are the statistics of every resource of a container, a
// pod or a workload over one window.
type UsageStatistics struct {
	// Window is the span of history the statistics cover.
	// +optional
	Window *metav1.Duration `json:"window,omitempty"`
	// Samples is the number of samples behind the statistics.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Samples int64 `json:"samples,omitempty"`
	// +optional
	CPU *ResourceStatistics `json:"cpu,omitempty"`
	// +optional
	Memory *ResourceStatistics `json:"memory,omitempty"`
	// +optional
	DiskIO *ResourceStatistics `json:"diskIO,omitempty"`
	// +optional
	Network *ResourceStatistics `json:"network,omitempty"`
}

// ResourceName names one of the resources Foresight profiles.
//
// +kubebuilder:validation:Enum=cpu;memory;diskIO;network
type ResourceName string

// The resources Foresight profiles.
const (
	ResourceCPU     ResourceName = "cpu"
	ResourceMemory  ResourceName = "memory"
	ResourceDiskIO  ResourceName = "diskIO"
	ResourceNetwork ResourceName = "network"
)

// SeasonalShape is the recurring shape of one resource's usage over a period
// (a day or a week), as factors of the mean: 1000 is the mean, 1500 is 50%
// above it.
type SeasonalShape struct {
	// Resource the shape describes.
	// +required
	Resource ResourceName `json:"resource"`
	// Period of the shape.
	// +required
	Period metav1.Duration `json:"period"`
	// Resolution is the length of the period covered by each factor; the
	// number of factors times the resolution equals the period.
	// +required
	Resolution metav1.Duration `json:"resolution"`
	// FactorsPerMille are the usage of each slot of the period relative to
	// the mean, in thousandths.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=2016
	// +listType=atomic
	// +required
	FactorsPerMille []int32 `json:"factorsPerMille"`
	// Strength in [0, 1] tells how much of the variance the shape explains,
	// written as a decimal string; 0 means no such rhythm was detected.
	// +optional
	Strength Confidence `json:"strength,omitempty"`
}

// ForecastPoint is the prediction for one future instant.
type ForecastPoint struct {
	// Time the prediction is for.
	// +required
	Time metav1.Time `json:"time"`
	// Value is the point forecast.
	// +required
	Value resource.Quantity `json:"value"`
	// Lower bound of the prediction interval.
	// +optional
	Lower *resource.Quantity `json:"lower,omitempty"`
	// Upper bound of the prediction interval.
	// +optional
	Upper *resource.Quantity `json:"upper,omitempty"`
}

// ForecastAccuracy is how well a model predicted the recent past, measured
// by rolling-origin back-testing.
type ForecastAccuracy struct {
	// MASE is the mean absolute scaled error (below 1 beats the seasonal
	// naive forecast), as a decimal string.
	// +optional
	MASE string `json:"mase,omitempty"`
	// Coverage is the fraction of held-out samples that fell inside the
	// prediction interval, as a decimal string.
	// +optional
	Coverage string `json:"coverage,omitempty"`
	// PinballLoss at the interval's upper quantile, in the resource's unit.
	// +optional
	PinballLoss *resource.Quantity `json:"pinballLoss,omitempty"`
	// EvaluatedPoints is how many held-out samples the figures are based on.
	// +kubebuilder:validation:Minimum=0
	// +optional
	EvaluatedPoints int32 `json:"evaluatedPoints,omitempty"`
}

// Forecast is a model's prediction of one resource.
type Forecast struct {
	// Resource forecast.
	// +required
	Resource ResourceName `json:"resource"`
	// Model that produced the forecast, as chosen by back-testing.
	// +required
	Model string `json:"model"`
	// GeneratedAt is when the forecast was made.
	// +required
	GeneratedAt metav1.Time `json:"generatedAt"`
	// Confidence of the prediction interval.
	// +required
	Confidence Confidence `json:"confidence"`
	// Points of the forecast, in time order.
	// +kubebuilder:validation:MaxItems=288
	// +listType=atomic
	// +optional
	Points []ForecastPoint `json:"points,omitempty"`
	// Accuracy measured on the recent past.
	// +optional
	Accuracy *ForecastAccuracy `json:"accuracy,omitempty"`
}

// WorkloadReference names the owner of a set of pods (a Deployment,
// StatefulSet, Job template, ...).
type WorkloadReference struct {
	// APIVersion of the owner, such as apps/v1.
	// +required
	// +kubebuilder:validation:MinLength=1
	APIVersion string `json:"apiVersion"`
	// Kind of the owner, such as Deployment.
	// +required
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
	// Name of the owner.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}
