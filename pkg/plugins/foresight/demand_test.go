package foresight

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
	"k8s.io/utils/ptr"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

func q(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }

func stats(p50, p90, p95, p99, peak string) *foresightv1alpha1.ResourceStatistics {
	return &foresightv1alpha1.ResourceStatistics{P50: q(p50), P90: q(p90), P95: q(p95), P99: q(p99), Peak: q(peak)}
}

func TestPredictDemand(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	appProfile := foresightv1alpha1.ContainerProfile{
		Name: "app",
		Usage: foresightv1alpha1.UsageStatistics{
			CPU:     stats("100m", "200m", "300m", "400m", "900m"),
			Memory:  stats("100Mi", "200Mi", "300Mi", "400Mi", "1Gi"),
			Network: stats("1k", "2k", "3k", "4k", "10k"),
		},
	}
	forecastProfile := appProfile
	forecastProfile.Forecasts = []foresightv1alpha1.Forecast{
		{Resource: "cpu", Confidence: "0.99", Points: []foresightv1alpha1.ForecastPoint{
			{Time: metav1.NewTime(now.Add(-time.Minute)), Value: resource.MustParse("5"), Upper: q("9")}, // past: ignored
			{Time: metav1.NewTime(now.Add(10 * time.Minute)), Value: resource.MustParse("250m"), Upper: q("350m")},
			{Time: metav1.NewTime(now.Add(40 * time.Minute)), Value: resource.MustParse("300m"), Upper: q("450m")},
			{Time: metav1.NewTime(now.Add(3 * time.Hour)), Value: resource.MustParse("2"), Upper: q("3")}, // beyond the horizon
		}},
		{Resource: "memory", Confidence: "0.99", Points: []foresightv1alpha1.ForecastPoint{
			{Time: metav1.NewTime(now.Add(10 * time.Minute)), Value: resource.MustParse("256Mi")},
		}},
	}
	requests := map[v1.ResourceName]string{v1.ResourceCPU: "2", v1.ResourceMemory: "4Gi"}
	base := demandInput{now: now, horizon: time.Hour, defaultMilliCPU: 100, defaultMemory: 200 << 20}

	tests := []struct {
		name       string
		pod        *v1.Pod
		profile    *foresightv1alpha1.WorkloadProfileStatus
		confidence float64
		minCPU     int64
		want       Demand
	}{
		{
			name:       "no profile: requests",
			pod:        st.MakePod().Req(requests).Obj(),
			confidence: 0.99,
			want:       Demand{Vector: Vector{2000, 4 << 30, 0, 0}, Source: SourceRequests},
		},
		{
			name:       "no profile, no requests: default",
			pod:        st.MakePod().Container("pause").Obj(),
			confidence: 0.99,
			want:       Demand{Vector: Vector{100, 200 << 20, 0, 0}, Source: SourceDefault},
		},
		{
			name:       "profile at 0.99: p99",
			pod:        podWithContainer("app", requests),
			profile:    &foresightv1alpha1.WorkloadProfileStatus{Containers: []foresightv1alpha1.ContainerProfile{appProfile}},
			confidence: 0.99,
			want:       Demand{Vector: Vector{400, 400 << 20, 0, 4000}, Source: SourceProfile},
		},
		{
			name:       "profile at 0.999: peak",
			pod:        podWithContainer("app", requests),
			profile:    &foresightv1alpha1.WorkloadProfileStatus{Containers: []foresightv1alpha1.ContainerProfile{appProfile}},
			confidence: 0.999,
			want:       Demand{Vector: Vector{900, 1 << 30, 0, 10000}, Source: SourceProfile},
		},
		{
			name:       "profile at 0.9: p90",
			pod:        podWithContainer("app", requests),
			profile:    &foresightv1alpha1.WorkloadProfileStatus{Containers: []foresightv1alpha1.ContainerProfile{appProfile}},
			confidence: 0.90,
			want:       Demand{Vector: Vector{200, 200 << 20, 0, 2000}, Source: SourceProfile},
		},
		{
			name:       "forecast within the horizon wins over the profile",
			pod:        podWithContainer("app", requests),
			profile:    &foresightv1alpha1.WorkloadProfileStatus{Containers: []foresightv1alpha1.ContainerProfile{forecastProfile}},
			confidence: 0.99,
			// CPU: max upper in (now, now+1h] = 450m; memory: value (no upper) 256Mi.
			want: Demand{Vector: Vector{450, 256 << 20, 0, 0}, Source: SourceForecast},
		},
		{
			name:       "forecast at a lower confidence than the class is not used",
			pod:        podWithContainer("app", requests),
			profile:    &foresightv1alpha1.WorkloadProfileStatus{Containers: []foresightv1alpha1.ContainerProfile{forecastProfile}},
			confidence: 0.999,
			want:       Demand{Vector: Vector{900, 1 << 30, 0, 10000}, Source: SourceProfile},
		},
		{
			name:       "a container missing from the profile falls back to its requests",
			pod:        podWithContainer("sidecar", requests),
			profile:    &foresightv1alpha1.WorkloadProfileStatus{Containers: []foresightv1alpha1.ContainerProfile{appProfile}},
			confidence: 0.99,
			want:       Demand{Vector: Vector{2000, 4 << 30, 0, 0}, Source: SourceRequests},
		},
		{
			name:       "CPU guarantee reserved in full",
			pod:        podWithContainer("app", requests),
			profile:    &foresightv1alpha1.WorkloadProfileStatus{Containers: []foresightv1alpha1.ContainerProfile{appProfile}},
			confidence: 0.99,
			minCPU:     1500,
			want:       Demand{Vector: Vector{1500, 400 << 20, 0, 4000}, Source: SourceProfile},
		},
		{
			name: "init container larger than the app counts",
			pod: func() *v1.Pod {
				p := podWithContainer("app", requests)
				p.Spec.InitContainers = []v1.Container{{Name: "init", Resources: v1.ResourceRequirements{Requests: v1.ResourceList{
					v1.ResourceCPU: resource.MustParse("3"), v1.ResourceMemory: resource.MustParse("1Mi")}}}}
				return p
			}(),
			profile:    &foresightv1alpha1.WorkloadProfileStatus{Containers: []foresightv1alpha1.ContainerProfile{appProfile}},
			confidence: 0.99,
			want:       Demand{Vector: Vector{3000, 400 << 20, 0, 4000}, Source: SourceProfile},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := base
			in.profile, in.confidence, in.minMilliCPU = tc.profile, tc.confidence, tc.minCPU
			if diff := cmp.Diff(tc.want, predictDemand(tc.pod, in)); diff != "" {
				t.Errorf("predictDemand() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func podWithContainer(name string, requests map[v1.ResourceName]string) *v1.Pod {
	list := v1.ResourceList{}
	for k, v := range requests {
		list[k] = resource.MustParse(v)
	}
	p := st.MakePod().Name("p").Obj()
	p.Spec.Containers = []v1.Container{{Name: name, Resources: v1.ResourceRequirements{Requests: list}}}
	return p
}
