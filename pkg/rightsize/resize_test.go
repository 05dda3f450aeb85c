package rightsize

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
)

// resizeOutcome is what a test checks of a resize Decision.
type resizeOutcome struct {
	Decision outcome
	Grows    bool
	// Original per container, as format writes it.
	Original map[string]string
}

func resizeOutcomeOf(d Decision) resizeOutcome {
	o := resizeOutcome{Decision: outcomeOf(d), Grows: d.Grows}
	for _, c := range d.Containers {
		if o.Original == nil {
			o.Original = map[string]string{}
		}
		o.Original[c.Name] = format(c.Original)
	}
	return o
}

// cpuForecast is a profile of container app (appUsage's statistics) with a
// CPU forecast whose upper bounds are uppers at 1, 2, 3 … hours from now,
// and a flat memory forecast at 300Mi (below the 400Mi requested: memory
// shrinks by 25% as CPU grows).
func cpuForecast(uppers ...string) *foresightv1alpha1.WorkloadProfileStatus {
	c := appUsage
	cpu := foresightv1alpha1.Forecast{Resource: "cpu", Confidence: "0.99"}
	for i, u := range uppers {
		cpu.Points = append(cpu.Points, foresightv1alpha1.ForecastPoint{
			Time: metav1.NewTime(now.Add(time.Duration(i+1) * time.Hour)), Value: resource.MustParse("100m"), Upper: q(u)})
	}
	mem := foresightv1alpha1.Forecast{Resource: "memory", Confidence: "0.99", Points: []foresightv1alpha1.ForecastPoint{
		{Time: metav1.NewTime(now.Add(time.Hour)), Value: resource.MustParse("200Mi"), Upper: q("300Mi")},
	}}
	c.Forecasts = []foresightv1alpha1.Forecast{cpu, mem}
	return profileOf(c)
}

func TestDecideResize(t *testing.T) {
	// A pod the webhook admitted at 400m/400Mi from 2 cores and 4Gi.
	const admitted = `{"app":{"cpu":"2","memory":"4Gi"}}`
	rightsized := func(requests, limits string) *v1.Pod {
		return pod(ctr("app", requests, limits)).Annotation(annotations.OriginalRequests, admitted).Obj()
	}
	orig := map[string]string{"app": "cpu=2,memory=4Gi"}

	tests := []struct {
		name    string
		pod     *v1.Pod
		policy  *foresightv1alpha1.TenantPolicySpec
		profile *foresightv1alpha1.WorkloadProfileStatus
		want    resizeOutcome
	}{
		{
			name:    "at the prediction: nothing to do",
			pod:     rightsized("cpu=400m,memory=400Mi", ""),
			policy:  enabled,
			profile: profileOf(appUsage),
			want: resizeOutcome{Decision: outcome{Reason: AtPrediction, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=400m,memory=400Mi"}}, Original: orig},
		},
		{
			name:    "forecast rises within the horizon: grows",
			pod:     rightsized("cpu=400m,memory=400Mi", ""),
			policy:  enabled,
			profile: cpuForecast("300m", "1500m", "9"), // 9 cores 3 hours ahead: beyond the 2-hour horizon
			want: resizeOutcome{Decision: outcome{Changed: true, Reason: Resized, Class: "standard", Source: demand.SourceForecast,
				Requests: map[string]string{"app": "cpu=1500m,memory=300Mi"}}, Grows: true, Original: orig},
		},
		{
			name:    "growth stops at the original request",
			pod:     rightsized("cpu=400m,memory=400Mi", ""),
			policy:  enabled,
			profile: cpuForecast("3"),
			want: resizeOutcome{Decision: outcome{Changed: true, Reason: Resized, Class: "standard", Source: demand.SourceForecast,
				Requests: map[string]string{"app": "cpu=2,memory=300Mi"}}, Grows: true, Original: orig},
		},
		{
			name:    "growth stops at the limit",
			pod:     rightsized("cpu=400m,memory=400Mi", "cpu=1"),
			policy:  enabled,
			profile: cpuForecast("1500m"),
			want: resizeOutcome{Decision: outcome{Changed: true, Reason: Resized, Class: "standard", Source: demand.SourceForecast,
				Requests: map[string]string{"app": "cpu=1,memory=300Mi"}}, Grows: true, Original: orig},
		},
		{
			name:    "a small fall is kept (hysteresis: under 10%)",
			pod:     rightsized("cpu=440m,memory=420Mi", ""),
			policy:  enabled,
			profile: profileOf(appUsage),
			want: resizeOutcome{Decision: outcome{Reason: AtPrediction, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=440m,memory=420Mi"}}, Original: orig},
		},
		{
			name:    "a fall of 10% or more shrinks",
			pod:     rightsized("cpu=1500m,memory=420Mi", ""),
			policy:  enabled,
			profile: profileOf(appUsage),
			want: resizeOutcome{Decision: outcome{Changed: true, Reason: Resized, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=400m,memory=420Mi"}}, Original: orig},
		},
		{
			name:    "never below the CPU guarantee",
			pod:     pod(ctr("app", "cpu=1500m,memory=400Mi", "")).Annotation(annotations.OriginalRequests, admitted).Annotation(annotations.MinCPU, "1").Obj(),
			policy:  enabled,
			profile: profileOf(appUsage),
			want: resizeOutcome{Decision: outcome{Changed: true, Reason: Resized, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=1,memory=400Mi"}}, Original: orig},
		},
		{
			name:    "never rightsized: its requests are the originals",
			pod:     pod(ctr("app", "cpu=2,memory=4Gi", "")).Obj(),
			policy:  enabled,
			profile: profileOf(appUsage),
			want: resizeOutcome{Decision: outcome{Changed: true, Reason: Resized, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=400m,memory=400Mi"}}, Original: orig},
		},
		{
			name:    "critical: never resized",
			pod:     pod(ctr("app", "cpu=2,memory=4Gi", "")).Annotation(annotations.SLAClass, "critical").Obj(),
			policy:  enabled,
			profile: cpuForecast("100m"),
			want:    resizeOutcome{Decision: outcome{Reason: NotOvercommittable, Class: "critical"}},
		},
		{
			name:    "unreadable original requests: no ceiling, no resize",
			pod:     pod(ctr("app", "cpu=400m,memory=400Mi", "")).Annotation(annotations.OriginalRequests, "{").Obj(),
			policy:  enabled,
			profile: cpuForecast("1500m"),
			want:    resizeOutcome{Decision: outcome{Reason: BadOriginalRequests, Class: "standard"}},
		},
		{
			name:    "no profile: requests kept",
			pod:     rightsized("cpu=400m,memory=400Mi", ""),
			policy:  enabled,
			profile: nil,
			want:    resizeOutcome{Decision: outcome{Reason: NoProfile, Class: "standard"}},
		},
		{
			name:    "rightsizing disabled",
			pod:     rightsized("cpu=400m,memory=400Mi", ""),
			policy:  &foresightv1alpha1.TenantPolicySpec{DefaultClass: "standard"},
			profile: profileOf(appUsage),
			want:    resizeOutcome{Decision: outcome{Reason: Disabled}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := DecideResize(tc.pod, tc.policy, tc.profile, DefaultResizeOptions(now))
			if diff := cmp.Diff(tc.want, resizeOutcomeOf(d)); diff != "" {
				t.Errorf("DecideResize mismatch (-want +got):\n%s\n%s", diff, d.Message)
			}
			resized, err := Resize(tc.pod, d)
			if err != nil {
				t.Fatalf("Resize: %v", err)
			}
			if !d.Changed {
				if resized != nil {
					t.Errorf("Resize of an unchanged decision returned a pod")
				}
				return
			}
			for i, c := range d.Containers {
				if diff := cmp.Diff(format(c.Requests), format(resized.Spec.Containers[i].Resources.Requests)); diff != "" {
					t.Errorf("container %s of the resized pod (-decided +resized):\n%s", c.Name, diff)
				}
			}
			// The originals are recorded, or kept when they were.
			wantAnnotation, err := EncodeOriginalRequests(d)
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := tc.pod.Annotations[annotations.OriginalRequests]; ok {
				wantAnnotation = v
			}
			if diff := cmp.Diff(wantAnnotation, resized.Annotations[annotations.OriginalRequests]); diff != "" {
				t.Errorf("%s of the resized pod (-want +got):\n%s", annotations.OriginalRequests, diff)
			}
		})
	}
}

// TestDecideResizeFollowsTheForecast replays a day of hourly decisions on a
// forecast that rises and falls: requests grow ahead of the peak (the
// horizon looks two hours on) and shrink after it, one step at a time.
func TestDecideResizeFollowsTheForecast(t *testing.T) {
	// Upper CPU bound, millicores, per hour from 00:00.
	uppers := []int64{300, 300, 300, 1200, 1800, 1800, 600, 300, 300, 300}
	p := pod(ctr("app", "cpu=2,memory=4Gi", "")).Obj()
	var got []string
	for h := range 8 {
		at := now.Add(time.Duration(h) * time.Hour)
		c := appUsage
		fc := foresightv1alpha1.Forecast{Resource: "cpu", Confidence: "0.99"}
		mem := foresightv1alpha1.Forecast{Resource: "memory", Confidence: "0.99"}
		for k := h; k < len(uppers); k++ {
			at := metav1.NewTime(now.Add(time.Duration(k) * time.Hour))
			fc.Points = append(fc.Points, foresightv1alpha1.ForecastPoint{Time: at,
				Value: resource.MustParse("100m"), Upper: resource.NewMilliQuantity(uppers[k], resource.DecimalSI)})
			mem.Points = append(mem.Points, foresightv1alpha1.ForecastPoint{Time: at, Value: resource.MustParse("200Mi"), Upper: q("300Mi")})
		}
		c.Forecasts = []foresightv1alpha1.Forecast{fc, mem}
		d := DecideResize(p, enabled, profileOf(c), DefaultResizeOptions(at))
		if d.Changed {
			next, err := Resize(p, d)
			if err != nil {
				t.Fatal(err)
			}
			p = next
		}
		cpu := p.Spec.Containers[0].Resources.Requests[v1.ResourceCPU]
		got = append(got, cpu.String())
	}
	// At hour h the horizon holds the bounds of hours h, h+1 and h+2: the
	// request reaches 1200m an hour before the forecast does, 1800m two
	// hours before, and falls once the peak has left the horizon.
	want := []string{"300m", "1200m", "1800m", "1800m", "1800m", "1800m", "600m", "300m"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CPU request hour by hour (-want +got):\n%s", diff)
	}
}
