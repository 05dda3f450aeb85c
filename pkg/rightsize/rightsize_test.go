package rightsize

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
	"k8s.io/utils/ptr"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func q(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }

// list parses "cpu=2,memory=4Gi" into a resource list; "" is nil.
func list(s string) v1.ResourceList {
	if s == "" {
		return nil
	}
	l := v1.ResourceList{}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		l[v1.ResourceName(k)] = resource.MustParse(v)
	}
	return l
}

// ctr is a container with requests and limits written as list reads them.
func ctr(name, requests, limits string) v1.Container {
	return v1.Container{Name: name, Image: "img", Resources: v1.ResourceRequirements{Requests: list(requests), Limits: list(limits)}}
}

func pod(containers ...v1.Container) *st.PodWrapper {
	return st.MakePod().Namespace("shop").Name("web-1").Containers(containers)
}

// usage is a container profile with the same quantiles for CPU and memory:
// p50, p90, p95, p99 and peak.
func usage(name string, cpu, mem [5]string) foresightv1alpha1.ContainerProfile {
	stats := func(v [5]string) *foresightv1alpha1.ResourceStatistics {
		return &foresightv1alpha1.ResourceStatistics{P50: q(v[0]), P90: q(v[1]), P95: q(v[2]), P99: q(v[3]), Peak: q(v[4])}
	}
	return foresightv1alpha1.ContainerProfile{Name: name, Usage: foresightv1alpha1.UsageStatistics{CPU: stats(cpu), Memory: stats(mem)}}
}

func profileOf(cs ...foresightv1alpha1.ContainerProfile) *foresightv1alpha1.WorkloadProfileStatus {
	return &foresightv1alpha1.WorkloadProfileStatus{LastUpdated: ptr.To(metav1.NewTime(now)), Containers: cs}
}

var (
	appUsage  = usage("app", [5]string{"100m", "200m", "300m", "400m", "900m"}, [5]string{"100Mi", "200Mi", "300Mi", "400Mi", "1Gi"})
	sideUsage = usage("side", [5]string{"10m", "20m", "30m", "100m", "200m"}, [5]string{"10Mi", "20Mi", "30Mi", "64Mi", "100Mi"})

	enabled = &foresightv1alpha1.TenantPolicySpec{
		AllowedClasses: []foresightv1alpha1.SLAClass{"critical", "standard", "batch", "best-effort"},
		DefaultClass:   "standard",
		MaxPriority:    1000,
		MaxGuarantees:  foresightv1alpha1.Guarantees{CPU: q("4")},
		Rightsizing:    foresightv1alpha1.RightsizingPolicy{Enabled: true},
	}
)

// outcome is what a test checks of a Decision: the requests per container
// written as "cpu=400m,memory=400Mi" (nil when none were computed).
type outcome struct {
	Changed  bool
	Reason   Reason
	Class    foresightv1alpha1.SLAClass
	Source   demand.Source
	Requests map[string]string
}

func outcomeOf(d Decision) outcome {
	o := outcome{Changed: d.Changed, Reason: d.Reason, Class: d.Class, Source: d.Source}
	for _, c := range d.Containers {
		if o.Requests == nil {
			o.Requests = map[string]string{}
		}
		o.Requests[c.Name] = format(c.Requests)
	}
	return o
}

func format(l v1.ResourceList) string {
	var parts []string
	for k, v := range l {
		parts = append(parts, string(k)+"="+v.String())
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func TestDecide(t *testing.T) {
	disabled := enabled.DeepCopy()
	disabled.Rightsizing.Enabled = false
	noGuarantees := enabled.DeepCopy()
	noGuarantees.MaxGuarantees = foresightv1alpha1.Guarantees{}
	appProfile := profileOf(appUsage)
	forecast := appUsage
	forecast.Forecasts = []foresightv1alpha1.Forecast{
		{Resource: "cpu", Confidence: "0.99", Points: []foresightv1alpha1.ForecastPoint{
			{Time: metav1.NewTime(now.Add(time.Hour)), Value: resource.MustParse("150m"), Upper: q("250m")},
			{Time: metav1.NewTime(now.Add(20 * time.Hour)), Value: resource.MustParse("300m"), Upper: q("650m")}, // tomorrow's peak
			{Time: metav1.NewTime(now.Add(30 * time.Hour)), Value: resource.MustParse("5"), Upper: q("9")},       // beyond a day
		}},
		{Resource: "memory", Confidence: "0.99", Points: []foresightv1alpha1.ForecastPoint{
			{Time: metav1.NewTime(now.Add(time.Hour)), Value: resource.MustParse("200Mi"), Upper: q("256Mi")},
		}},
	}
	burstable := "cpu=2,memory=4Gi"

	tests := []struct {
		name    string
		pod     *v1.Pod
		policy  *foresightv1alpha1.TenantPolicySpec
		profile *foresightv1alpha1.WorkloadProfileStatus
		want    outcome
	}{
		{
			name:    "no limits: requests lowered to p99 (standard)",
			pod:     pod(ctr("app", burstable, "")).Obj(),
			policy:  enabled,
			profile: appProfile,
			want: outcome{Changed: true, Reason: Rightsized, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=400m,memory=400Mi"}},
		},
		{
			name:    "with limits: same requests, limits untouched",
			pod:     pod(ctr("app", burstable, "cpu=4,memory=8Gi")).Obj(),
			policy:  enabled,
			profile: appProfile,
			want: outcome{Changed: true, Reason: Rightsized, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=400m,memory=400Mi"}},
		},
		{
			name:    "CPU request equal to its limit, memory not: the pod is Burstable and both are lowered",
			pod:     pod(ctr("app", burstable, "cpu=2")).Obj(),
			policy:  enabled,
			profile: appProfile,
			want: outcome{Changed: true, Reason: Rightsized, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=400m,memory=400Mi"}},
		},
		{
			name:    "batch: p95",
			pod:     pod(ctr("app", burstable, "")).Annotation(annotations.SLAClass, "batch").Obj(),
			policy:  enabled,
			profile: appProfile,
			want: outcome{Changed: true, Reason: Rightsized, Class: "batch", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=300m,memory=300Mi"}},
		},
		{
			name:    "best-effort: p90",
			pod:     pod(ctr("app", burstable, "")).Annotation(annotations.SLAClass, "best-effort").Obj(),
			policy:  enabled,
			profile: appProfile,
			want: outcome{Changed: true, Reason: Rightsized, Class: "best-effort", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=200m,memory=200Mi"}},
		},
		{
			name:    "forecast: the largest upper bound within a day",
			pod:     pod(ctr("app", burstable, "")).Obj(),
			policy:  enabled,
			profile: profileOf(forecast),
			want: outcome{Changed: true, Reason: Rightsized, Class: "standard", Source: demand.SourceForecast,
				Requests: map[string]string{"app": "cpu=650m,memory=256Mi"}},
		},
		{
			name:    "never raised: predictions above the requests",
			pod:     pod(ctr("app", "cpu=200m,memory=100Mi", "")).Obj(),
			policy:  enabled,
			profile: appProfile,
			want: outcome{Reason: AtPrediction, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=200m,memory=100Mi"}},
		},
		{
			name:    "one resource lowered, the other kept where its prediction is higher",
			pod:     pod(ctr("app", "cpu=2,memory=300Mi", "")).Obj(),
			policy:  enabled,
			profile: appProfile,
			want: outcome{Changed: true, Reason: Rightsized, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=400m,memory=300Mi"}},
		},
		{
			name:    "changes under 5% are not made",
			pod:     pod(ctr("app", "cpu=420m,memory=420Mi", "")).Obj(), // 4.8% above the predictions
			policy:  enabled,
			profile: appProfile,
			want: outcome{Reason: AtPrediction, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=420m,memory=420Mi"}},
		},
		{
			name:   "floors: an idle container keeps 10m and 16Mi",
			pod:    pod(ctr("app", burstable, "")).Obj(),
			policy: enabled,
			profile: profileOf(usage("app", [5]string{"0", "0", "0", "1m", "2m"},
				[5]string{"1Mi", "1Mi", "1Mi", "1Mi", "2Mi"})),
			want: outcome{Changed: true, Reason: Rightsized, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=10m,memory=16Mi"}},
		},
		{
			name:   "memory rounded up to a MiB",
			pod:    pod(ctr("app", burstable, "")).Obj(),
			policy: enabled,
			profile: profileOf(usage("app", [5]string{"0", "0", "0", "1500m", "2"},
				[5]string{"1Mi", "1Mi", "1Mi", "419954688", "1Gi"})), // 400.5Mi
			want: outcome{Changed: true, Reason: Rightsized, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=1500m,memory=401Mi"}},
		},
		{
			name:    "CPU guarantee: the shortfall goes back to the first container, up to its request",
			pod:     pod(ctr("app", burstable, ""), ctr("side", "cpu=500m,memory=128Mi", "")).Annotation(annotations.MinCPU, "1").Obj(),
			policy:  enabled,
			profile: profileOf(appUsage, sideUsage),
			// Predicted 400m + 100m = 500m < 1: app gets the missing 500m.
			want: outcome{Changed: true, Reason: Rightsized, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=900m,memory=400Mi", "side": "cpu=100m,memory=64Mi"}},
		},
		{
			name:    "CPU guarantee spills over to the next container",
			pod:     pod(ctr("app", "cpu=600m,memory=4Gi", ""), ctr("side", "cpu=1,memory=128Mi", "")).Annotation(annotations.MinCPU, "1200m").Obj(),
			policy:  enabled,
			profile: profileOf(appUsage, sideUsage),
			// 400m + 100m predicted; app back to its 600m, side takes the other 600m.
			want: outcome{Changed: true, Reason: Rightsized, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=600m,memory=400Mi", "side": "cpu=600m,memory=64Mi"}},
		},
		{
			name:    "CPU guarantee above the requests: CPU kept, never raised to it",
			pod:     pod(ctr("app", burstable, "")).Annotation(annotations.MinCPU, "3").Obj(),
			policy:  enabled,
			profile: appProfile,
			want: outcome{Changed: true, Reason: Rightsized, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=2,memory=400Mi"}},
		},
		{
			name:    "a container missing from the profile keeps its requests",
			pod:     pod(ctr("app", burstable, ""), ctr("other", "cpu=1,memory=1Gi", "")).Obj(),
			policy:  enabled,
			profile: appProfile,
			want: outcome{Changed: true, Reason: Rightsized, Class: "standard", Source: demand.SourceRequests,
				Requests: map[string]string{"app": "cpu=400m,memory=400Mi", "other": "cpu=1,memory=1Gi"}},
		},
		{
			name:    "a resource without a request gets none",
			pod:     pod(ctr("app", "cpu=2", "")).Obj(),
			policy:  enabled,
			profile: appProfile,
			want: outcome{Changed: true, Reason: Rightsized, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=400m"}},
		},
		{
			name:    "other resources are not rightsized",
			pod:     pod(ctr("app", "cpu=2,memory=4Gi,ephemeral-storage=1Gi,example.com/gpu=1", "example.com/gpu=1")).Obj(),
			policy:  enabled,
			profile: appProfile,
			want: outcome{Changed: true, Reason: Rightsized, Class: "standard", Source: demand.SourceProfile,
				Requests: map[string]string{"app": "cpu=400m,memory=400Mi"}},
		},
		{
			name:    "already rightsized: idempotent",
			pod:     pod(ctr("app", burstable, "")).Annotation(annotations.OriginalRequests, `{"app":{"cpu":"4"}}`).Obj(),
			policy:  enabled,
			profile: appProfile,
			want:    outcome{Reason: AlreadyRightsized},
		},
		{
			name:    "namespace without a policy",
			pod:     pod(ctr("app", burstable, "")).Obj(),
			profile: appProfile,
			want:    outcome{Reason: Disabled},
		},
		{
			name:    "policy without rightsizing",
			pod:     pod(ctr("app", burstable, "")).Obj(),
			policy:  disabled,
			profile: appProfile,
			want:    outcome{Reason: Disabled},
		},
		{
			name:    "annotations refused by the policy",
			pod:     pod(ctr("app", burstable, "")).Annotation(annotations.MinCPU, "1").Obj(),
			policy:  noGuarantees,
			profile: appProfile,
			want:    outcome{Reason: AnnotationsRefused},
		},
		{
			name:    "critical: never rightsized",
			pod:     pod(ctr("app", burstable, "")).Annotation(annotations.SLAClass, "critical").Obj(),
			policy:  enabled,
			profile: appProfile,
			want:    outcome{Reason: NotOvercommittable, Class: "critical"},
		},
		{
			name:    "Guaranteed QoS is left alone",
			pod:     pod(ctr("app", burstable, burstable)).Obj(),
			policy:  enabled,
			profile: appProfile,
			want:    outcome{Reason: GuaranteedQoS, Class: "standard"},
		},
		{
			name:    "Guaranteed QoS with an init container is left alone",
			pod:     pod(ctr("app", burstable, burstable)).InitReq(map[v1.ResourceName]string{"cpu": "1", "memory": "1Gi"}).Obj(),
			policy:  enabled,
			profile: appProfile,
			want:    outcome{Reason: GuaranteedQoS, Class: "standard"},
		},
		{
			name:    "pod-level requests",
			pod:     pod(ctr("app", burstable, "")).PodLevelResourceRequests(map[v1.ResourceName]string{"cpu": "2", "memory": "4Gi"}).Obj(),
			policy:  enabled,
			profile: appProfile,
			want:    outcome{Reason: PodLevelResources, Class: "standard"},
		},
		{
			name:    "request above its limit: left for validation to refuse",
			pod:     pod(ctr("app", burstable, "cpu=1")).Obj(),
			policy:  enabled,
			profile: appProfile,
			want:    outcome{Reason: InvalidRequests, Class: "standard"},
		},
		{
			name:    "no requests (BestEffort)",
			pod:     pod(ctr("app", "", "")).Obj(),
			policy:  enabled,
			profile: appProfile,
			want:    outcome{Reason: NoRequests, Class: "standard"},
		},
		{
			name:   "no profile: requests kept",
			pod:    pod(ctr("app", burstable, "")).Obj(),
			policy: enabled,
			want:   outcome{Reason: NoProfile, Class: "standard"},
		},
		{
			name:    "a profile of other containers only: requests kept",
			pod:     pod(ctr("app", burstable, "")).Obj(),
			policy:  enabled,
			profile: profileOf(sideUsage),
			want:    outcome{Reason: NoProfile, Class: "standard"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.pod.DeepCopy()
			d := Decide(tc.pod, tc.policy, tc.profile, DefaultOptions(now))
			if diff := cmp.Diff(tc.want, outcomeOf(d)); diff != "" {
				t.Errorf("Decide() mismatch (-want +got):\n%s\nmessage: %s", diff, d.Message)
			}
			if d.Message == "" {
				t.Error("empty message")
			}
			if diff := cmp.Diff(before, tc.pod); diff != "" {
				t.Errorf("Decide() changed the pod (-before +after):\n%s", diff)
			}
			checkInvariants(t, tc.pod, d)
		})
	}
}

// checkInvariants checks what must hold of any decision: requests only go
// down, stay within limits, keep the set of requested resources, and a
// decided pod keeps its QoS class and is not rightsized again.
func checkInvariants(t *testing.T, pod *v1.Pod, d Decision) {
	t.Helper()
	if !d.Changed {
		ops, err := Patch(pod, d)
		if err != nil || ops != nil {
			t.Errorf("Patch() of an unchanged decision = %v, %v; want nothing", ops, err)
		}
		return
	}
	for i, c := range d.Containers {
		spec := pod.Spec.Containers[i].Resources
		if len(c.Requests) != len(c.Original) {
			t.Errorf("%s: requests %v, original %v: resources added or removed", c.Name, c.Requests, c.Original)
		}
		for name, next := range c.Requests {
			if orig := spec.Requests[name]; next.Cmp(orig) > 0 {
				t.Errorf("%s: %s raised from %s to %s", c.Name, name, orig.String(), next.String())
			}
			if lim, ok := spec.Limits[name]; ok && next.Cmp(lim) > 0 {
				t.Errorf("%s: %s %s above its limit %s", c.Name, name, next.String(), lim.String())
			}
		}
	}
	after := pod.DeepCopy()
	if err := Apply(after, d); err != nil {
		t.Fatal(err)
	}
	for i := range pod.Spec.Containers {
		if diff := cmp.Diff(pod.Spec.Containers[i].Resources.Limits, after.Spec.Containers[i].Resources.Limits); diff != "" {
			t.Errorf("limits changed (-before +after):\n%s", diff)
		}
		for name, q := range pod.Spec.Containers[i].Resources.Requests {
			if name == v1.ResourceCPU || name == v1.ResourceMemory {
				continue
			}
			if got := after.Spec.Containers[i].Resources.Requests[name]; got.Cmp(q) != 0 {
				t.Errorf("%s request changed from %s to %s", name, q.String(), got.String())
			}
		}
	}
	if was, is := qosOf(pod), qosOf(after); was != is {
		t.Errorf("QoS class changed from %s to %s", was, is)
	}
	if again := Decide(after, enabled, nil, DefaultOptions(now)); again.Reason != AlreadyRightsized {
		t.Errorf("second Decide() = %s, want %s", again.Reason, AlreadyRightsized)
	}
	orig, err := OriginalRequests(after)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pod.Spec.Containers {
		if diff := cmp.Diff(format(pod.Spec.Containers[i].Resources.Requests), format(orig[i])); diff != "" {
			t.Errorf("OriginalRequests() of container %d mismatch (-want +got):\n%s", i, diff)
		}
	}
}

func qosOf(pod *v1.Pod) v1.PodQOSClass {
	guaranteed, best := true, true
	for _, c := range pod.Spec.Containers {
		for _, r := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			if (hasReq && !req.IsZero()) || (hasLim && !lim.IsZero()) {
				best = false
			}
			if !hasLim || !hasReq || req.Cmp(lim) != 0 {
				guaranteed = false
			}
		}
	}
	switch {
	case best:
		return v1.PodQOSBestEffort
	case guaranteed:
		return v1.PodQOSGuaranteed
	}
	return v1.PodQOSBurstable
}

func TestDecideIdleBurstablePodStaysBurstable(t *testing.T) {
	// A pod profiled while idle would be predicted to need nothing; the
	// floors keep it from being admitted with empty requests as a
	// BestEffort pod.
	p := pod(ctr("app", "cpu=1,memory=1Gi", "")).Obj()
	idle := profileOf(usage("app", [5]string{"0", "0", "0", "0", "0"}, [5]string{"0", "0", "0", "0", "0"}))
	d := Decide(p, enabled, idle, DefaultOptions(now))
	if diff := cmp.Diff(map[string]string{"app": "cpu=10m,memory=16Mi"}, outcomeOf(d).Requests); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
	after := p.DeepCopy()
	if err := Apply(after, d); err != nil {
		t.Fatal(err)
	}
	if got := qosOf(after); got != v1.PodQOSBurstable {
		t.Errorf("QoS = %s, want Burstable", got)
	}
}
