package demand

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

type want struct {
	Upper  Vector
	Source Source
}

func TestPredict(t *testing.T) {
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
	base := Input{Now: now, Horizon: time.Hour, DefaultMilliCPU: 100, DefaultMemory: 200 << 20}

	tests := []struct {
		name       string
		pod        *v1.Pod
		profile    *foresightv1alpha1.WorkloadProfileStatus
		confidence float64
		minCPU     int64
		want       want
	}{
		{
			name:       "no profile: requests",
			pod:        st.MakePod().Req(requests).Obj(),
			confidence: 0.99,
			want:       want{Vector{2000, 4 << 30, 0, 0}, SourceRequests},
		},
		{
			name:       "no profile, no requests: default",
			pod:        st.MakePod().Container("pause").Obj(),
			confidence: 0.99,
			want:       want{Vector{100, 200 << 20, 0, 0}, SourceDefault},
		},
		{
			name:       "profile at 0.99: p99",
			pod:        podWithContainer("app", requests),
			profile:    &foresightv1alpha1.WorkloadProfileStatus{Containers: []foresightv1alpha1.ContainerProfile{appProfile}},
			confidence: 0.99,
			want:       want{Vector{400, 400 << 20, 0, 4000}, SourceProfile},
		},
		{
			name:       "profile at 0.999: peak",
			pod:        podWithContainer("app", requests),
			profile:    &foresightv1alpha1.WorkloadProfileStatus{Containers: []foresightv1alpha1.ContainerProfile{appProfile}},
			confidence: 0.999,
			want:       want{Vector{900, 1 << 30, 0, 10000}, SourceProfile},
		},
		{
			name:       "profile at 0.9: p90",
			pod:        podWithContainer("app", requests),
			profile:    &foresightv1alpha1.WorkloadProfileStatus{Containers: []foresightv1alpha1.ContainerProfile{appProfile}},
			confidence: 0.90,
			want:       want{Vector{200, 200 << 20, 0, 2000}, SourceProfile},
		},
		{
			name:       "forecast within the horizon wins over the profile",
			pod:        podWithContainer("app", requests),
			profile:    &foresightv1alpha1.WorkloadProfileStatus{Containers: []foresightv1alpha1.ContainerProfile{forecastProfile}},
			confidence: 0.99,
			// CPU: max upper in (now, now+1h] = 450m; memory: value (no upper) 256Mi.
			want: want{Vector{450, 256 << 20, 0, 0}, SourceForecast},
		},
		{
			name:       "forecast at a lower confidence than the class is not used",
			pod:        podWithContainer("app", requests),
			profile:    &foresightv1alpha1.WorkloadProfileStatus{Containers: []foresightv1alpha1.ContainerProfile{forecastProfile}},
			confidence: 0.999,
			want:       want{Vector{900, 1 << 30, 0, 10000}, SourceProfile},
		},
		{
			name:       "a container missing from the profile falls back to its requests",
			pod:        podWithContainer("sidecar", requests),
			profile:    &foresightv1alpha1.WorkloadProfileStatus{Containers: []foresightv1alpha1.ContainerProfile{appProfile}},
			confidence: 0.99,
			want:       want{Vector{2000, 4 << 30, 0, 0}, SourceRequests},
		},
		{
			name:       "CPU guarantee reserved in full",
			pod:        podWithContainer("app", requests),
			profile:    &foresightv1alpha1.WorkloadProfileStatus{Containers: []foresightv1alpha1.ContainerProfile{appProfile}},
			confidence: 0.99,
			minCPU:     1500,
			want:       want{Vector{1500, 400 << 20, 0, 4000}, SourceProfile},
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
			want:       want{Vector{3000, 400 << 20, 0, 4000}, SourceProfile},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := base
			in.Profile, in.Confidence, in.MinMilliCPU = tc.profile, tc.confidence, tc.minCPU
			got := Predict(tc.pod, in)
			if diff := cmp.Diff(tc.want, want{got.Upper, got.Source}); diff != "" {
				t.Errorf("Predict() mismatch (-want +got):\n%s", diff)
			}
			if !got.Expected.FitsIn(got.Upper) {
				t.Errorf("Expected %v above Upper %v", got.Expected, got.Upper)
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

func TestPredictExpectedAndDailyShape(t *testing.T) {
	c := foresightv1alpha1.ContainerProfile{
		Name: "app",
		Usage: foresightv1alpha1.UsageStatistics{
			CPU:    &foresightv1alpha1.ResourceStatistics{Mean: q("200m"), P50: q("150m"), P99: q("800m")},
			Memory: &foresightv1alpha1.ResourceStatistics{P50: q("100Mi"), P99: q("300Mi")},
		},
	}
	// 48 half-hour slots: busy 09:00–17:00 at 1.8× the mean, 0.2× otherwise.
	factors := make([]int32, 48)
	for i := range factors {
		factors[i] = 200
		if i >= 18 && i < 34 {
			factors[i] = 1800
		}
	}
	factors[35] = 2500 // a half-hour spike at 17:30 counts for the whole hour
	c.DailyShape = []foresightv1alpha1.SeasonalShape{{Resource: "cpu", Period: metav1.Duration{Duration: 24 * time.Hour}, Resolution: metav1.Duration{Duration: 30 * time.Minute}, FactorsPerMille: factors}}
	pod := podWithContainer("app", nil)
	got := Predict(pod, Input{Profile: &foresightv1alpha1.WorkloadProfileStatus{Containers: []foresightv1alpha1.ContainerProfile{c}}, Confidence: 0.99})
	if got.Upper[CPU] != 800 || got.Upper[Memory] != 300<<20 {
		t.Errorf("Upper = %v, want cpu 800m, memory 300Mi", got.Upper)
	}
	// No memory mean: the expected demand is the median for both resources.
	if got.Expected[CPU] != 150 || got.Expected[Memory] != 100<<20 {
		t.Errorf("Expected = %v, want the medians (150m, 100Mi)", got.Expected)
	}
	if got.Daily == nil {
		t.Fatal("Daily = nil, want the CPU shape")
	}
	if got.Daily[0][3] != 200 || got.Daily[0][10] != 1800 || got.Daily[0][17] != 2500 {
		t.Errorf("CPU shape at 03, 10, 17 h = %d, %d, %d; want 200, 1800, 2500", got.Daily[0][3], got.Daily[0][10], got.Daily[0][17])
	}
	if got.Daily[1][10] != 1000 {
		t.Errorf("memory shape = %d, want flat 1000", got.Daily[1][10])
	}
	if flat := Predict(pod, Input{Confidence: 0.99, DefaultMilliCPU: 100, DefaultMemory: 1}); flat.Daily != nil || flat.Expected != flat.Upper {
		t.Errorf("without a profile: Daily %v, Expected %v, Upper %v; want no shape and Expected = Upper", flat.Daily, flat.Expected, flat.Upper)
	}
}

func TestVectorRoundTrip(t *testing.T) {
	v := Vector{1500, 3 << 30, 10_000_000, 0}
	if got := FromResourceVector(v.ResourceVector()); got != v {
		t.Errorf("round trip = %v, want %v", got, v)
	}
	if s := v.String(); s != "cpu=1500m,memory=3Gi,diskIO=10M" {
		t.Errorf("String() = %q", s)
	}
}
