package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2/ktesting"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
	listers "github.com/foresight-dev/foresight/pkg/generated/listers/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/rightsize"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func q(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }

func policy(namespace string, enabled bool) *foresightv1alpha1.TenantPolicy {
	return &foresightv1alpha1.TenantPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: foresightv1alpha1.TenantPolicyName},
		Spec: foresightv1alpha1.TenantPolicySpec{
			AllowedClasses: []foresightv1alpha1.SLAClass{"critical", "standard"},
			Rightsizing:    foresightv1alpha1.RightsizingPolicy{Enabled: enabled},
		},
	}
}

func profile(namespace, deployment string, updated time.Time) *foresightv1alpha1.WorkloadProfile {
	stats := func(p99 string) *foresightv1alpha1.ResourceStatistics {
		return &foresightv1alpha1.ResourceStatistics{P50: q(p99), P99: q(p99)}
	}
	return &foresightv1alpha1.WorkloadProfile{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: deployment},
		Spec:       foresightv1alpha1.WorkloadProfileSpec{Workload: foresightv1alpha1.WorkloadReference{APIVersion: "apps/v1", Kind: "Deployment", Name: deployment}},
		Status: foresightv1alpha1.WorkloadProfileStatus{
			LastUpdated: ptr.To(metav1.NewTime(updated)),
			Containers: []foresightv1alpha1.ContainerProfile{{Name: "app", Usage: foresightv1alpha1.UsageStatistics{
				CPU: stats("400m"), Memory: stats("400Mi"),
			}}},
		},
	}
}

// webPod is a pod of Deployment "web" (through ReplicaSet web-5d8f) with
// one container "app".
func webPod(namespace string) *st.PodWrapper {
	return st.MakePod().Namespace(namespace).GenerateName("web-5d8f-").
		Label("pod-template-hash", "5d8f").
		OwnerReference("web-5d8f", appsv1.SchemeGroupVersion.WithKind("ReplicaSet")).
		Containers([]v1.Container{{Name: "app", Image: "web", Resources: v1.ResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("2"), v1.ResourceMemory: resource.MustParse("4Gi")},
			Limits:   v1.ResourceList{v1.ResourceMemory: resource.MustParse("8Gi")},
		}}})
}

func newTestHandler(t *testing.T, reg prometheus.Registerer) *Handler {
	t.Helper()
	policies := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	profiles := cache.NewIndexer(cache.MetaNamespaceKeyFunc, demand.ProfileIndexers())
	for _, o := range []*foresightv1alpha1.TenantPolicy{policy("shop", true), policy("stale", true), policy("off", false)} {
		if err := policies.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []*foresightv1alpha1.WorkloadProfile{profile("shop", "web", now), profile("off", "web", now), profile("stale", "web", now.Add(-time.Hour))} {
		if err := profiles.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	metrics, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(Config{
		Policies: listers.NewTenantPolicyLister(policies), Profiles: profiles,
		ProfileStalenessLimit: 5 * time.Minute, Options: rightsize.DefaultOptions(time.Time{}),
		Metrics: metrics, Clock: clocktesting.NewFakePassiveClock(now),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func review(t *testing.T, op admissionv1.Operation, resource metav1.GroupVersionResource, subresource string, obj any) []byte {
	t.Helper()
	raw, ok := obj.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(obj); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(&admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: types.UID("req-1"), Operation: op, Resource: resource, SubResource: subresource,
			Namespace: "shop", Object: runtime.RawExtension{Raw: raw},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func podJSON(p *v1.Pod) *v1.Pod {
	p.APIVersion, p.Kind = "v1", "Pod"
	return p
}

func TestHandler(t *testing.T) {
	pods := metav1.GroupVersionResource{Version: "v1", Resource: "pods"}
	wantPatch := `[{"op":"replace","path":"/spec/containers/0/resources/requests/cpu","value":"400m"},` +
		`{"op":"replace","path":"/spec/containers/0/resources/requests/memory","value":"400Mi"},` +
		`{"op":"add","path":"/metadata/annotations","value":{"foresight.dev/original-requests":"{\"app\":{\"cpu\":\"2\",\"memory\":\"4Gi\"}}"}}]`
	type want struct {
		Decision string
		Patch    string
		Warning  string // substring of the only warning; "" for none
		Result   string
	}
	tests := []struct {
		name string
		body []byte
		want want
	}{
		{
			name: "rightsized",
			body: review(t, admissionv1.Create, pods, "", podJSON(webPod("shop").Obj())),
			want: want{Decision: "rightsized", Patch: wantPatch, Result: "rightsized"},
		},
		{
			name: "namespace comes from the request",
			body: review(t, admissionv1.Create, pods, "", podJSON(webPod("").Obj())),
			want: want{Decision: "rightsized", Patch: wantPatch, Result: "rightsized"},
		},
		{
			name: "namespace without a policy: no warning",
			body: review(t, admissionv1.Create, pods, "", podJSON(webPod("other").Obj())),
			want: want{Decision: "disabled", Result: "disabled"},
		},
		{
			name: "rightsizing not enabled: no warning",
			body: review(t, admissionv1.Create, pods, "", podJSON(webPod("off").Obj())),
			want: want{Decision: "disabled", Result: "disabled"},
		},
		{
			name: "critical: warned",
			body: review(t, admissionv1.Create, pods, "", podJSON(webPod("shop").Annotation(annotations.SLAClass, "critical").Obj())),
			want: want{Decision: "not-overcommittable", Warning: "requests kept: SLA class critical is never overcommitted", Result: "not-overcommittable"},
		},
		{
			name: "no profile: warned with the reason",
			body: review(t, admissionv1.Create, pods, "", podJSON(webPod("shop").OwnerReference("api-5d8f", appsv1.SchemeGroupVersion.WithKind("ReplicaSet")).Obj())),
			want: want{Decision: "no-profile", Warning: "(profile missing)", Result: "no-profile"},
		},
		{
			name: "stale profile",
			body: review(t, admissionv1.Create, pods, "", podJSON(webPod("stale").Obj())),
			want: want{Decision: "no-profile", Warning: "(profile stale)", Result: "no-profile"},
		},
		{
			name: "already rightsized: no warning",
			body: review(t, admissionv1.Create, pods, "", podJSON(webPod("shop").Annotation(annotations.OriginalRequests, "{}").Obj())),
			want: want{Decision: "already-rightsized", Result: "already-rightsized"},
		},
		{
			name: "update: ignored",
			body: review(t, admissionv1.Update, pods, "", podJSON(webPod("shop").Obj())),
			want: want{Result: ResultIgnored},
		},
		{
			name: "subresource: ignored",
			body: review(t, admissionv1.Create, pods, "binding", []byte(`{"apiVersion":"v1","kind":"Binding"}`)),
			want: want{Result: ResultIgnored},
		},
		{
			name: "other resource: ignored",
			body: review(t, admissionv1.Create, metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "", []byte(`{}`)),
			want: want{Result: ResultIgnored},
		},
		{
			name: "undecodable pod: allowed, warned",
			body: review(t, admissionv1.Create, pods, "", []byte(`{"apiVersion":"v1","kind":"Pod","spec":{"containers":"x"}}`)),
			want: want{Warning: "cannot decode the pod", Result: ResultError},
		},
	}
	reg := prometheus.NewPedanticRegistry()
	h := newTestHandler(t, reg)
	results := map[string]float64{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			rec := httptest.NewRecorder()
			req := httptest.NewRequestWithContext(ctx, http.MethodPost, Path, bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(rec, req)
			results[tc.want.Result]++
			if rec.Code != http.StatusOK {
				t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
			}
			var out admissionv1.AdmissionReview
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response == nil {
				t.Fatalf("response %s is not an admission.k8s.io/v1 AdmissionReview response", rec.Body)
			}
			r := out.Response
			if !r.Allowed || r.UID != "req-1" {
				t.Errorf("allowed %v, UID %q; want allowed, req-1", r.Allowed, r.UID)
			}
			var warning string
			if len(r.Warnings) > 1 {
				t.Errorf("warnings %q, want one at most", r.Warnings)
			} else if len(r.Warnings) == 1 {
				warning = r.Warnings[0]
			}
			got := want{Decision: r.AuditAnnotations[AuditDecision], Patch: string(r.Patch), Warning: tc.want.Warning, Result: tc.want.Result}
			if !strings.Contains(warning, tc.want.Warning) || (tc.want.Warning == "") != (warning == "") {
				got.Warning = warning
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
			if (r.PatchType != nil) != (len(r.Patch) > 0) || (r.PatchType != nil && *r.PatchType != admissionv1.PatchTypeJSONPatch) {
				t.Errorf("patch type %v with a patch of %d bytes", r.PatchType, len(r.Patch))
			}
		})
	}
	for result, n := range results {
		if got := testutil.ToFloat64(h.cfg.Metrics.requests.WithLabelValues(result)); got != n {
			t.Errorf("foresight_webhook_requests_total{result=%q} = %v, want %v", result, got, n)
		}
	}
	if got := testutil.CollectAndCount(reg, "foresight_webhook_requests_total"); got != len(rightsize.Reasons)+2 {
		t.Errorf("%d result series, want every reason, ignored and error (%d)", got, len(rightsize.Reasons)+2)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric lint: %s: %s", p.Metric, p.Text)
	}
}

func TestHandlerHTTPErrors(t *testing.T) {
	h := newTestHandler(t, prometheus.NewRegistry())
	tests := []struct {
		name, method, contentType, body string
		want                            int
	}{
		{name: "GET", method: http.MethodGet, contentType: "application/json", want: http.StatusMethodNotAllowed},
		{name: "not JSON", method: http.MethodPost, contentType: "text/plain", body: "{}", want: http.StatusUnsupportedMediaType},
		{name: "not an AdmissionReview", method: http.MethodPost, contentType: "application/json", body: "{", want: http.StatusBadRequest},
		{name: "no request", method: http.MethodPost, contentType: "application/json; charset=utf-8", body: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, want: http.StatusBadRequest},
		{name: "too large", method: http.MethodPost, contentType: "application/json", body: `{"x":"` + strings.Repeat("x", maxBodyBytes) + `"}`, want: http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			rec := httptest.NewRecorder()
			req := httptest.NewRequestWithContext(ctx, tc.method, Path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("HTTP %d (%s), want %d", rec.Code, strings.TrimSpace(rec.Body.String()), tc.want)
			}
		})
	}
	if got := testutil.ToFloat64(h.cfg.Metrics.requests.WithLabelValues(ResultError)); got != float64(len(tests)) {
		t.Errorf("errors counted %v, want %d", got, len(tests))
	}
}

func TestNewHandlerNeedsTheProfileIndex(t *testing.T) {
	policies := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	_, err := NewHandler(Config{Policies: listers.NewTenantPolicyLister(policies), Profiles: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})})
	if err == nil || !strings.Contains(err.Error(), demand.ProfileIndex) {
		t.Errorf("NewHandler() error = %v, want one naming the index", err)
	}
}
