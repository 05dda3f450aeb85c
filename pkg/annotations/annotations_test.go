package annotations

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
	"k8s.io/utils/ptr"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		want        Spec
		wantErrs    []string // substrings, one per expected error, in order
	}{
		{
			name: "no annotations",
		},
		{
			name:        "foreign annotations are ignored",
			annotations: map[string]string{"example.com/sla-class": "gold", "foresight.devx/priority": "x"},
		},
		{
			name: "every key",
			annotations: map[string]string{
				SLAClass: "batch", Priority: "42", MinCPU: "250m", MemoryBandwidth: "2Gi", Migration: "disabled",
			},
			want: Spec{
				Class: foresightv1alpha1.SLAClassBatch, Priority: 42,
				MinCPU: resource.MustParse("250m"), MemoryBandwidth: resource.MustParse("2Gi"), MigrationDisabled: true,
			},
		},
		{
			name:        "migration allowed is the default",
			annotations: map[string]string{Migration: "allowed"},
		},
		{
			name:        "system annotations are not user errors",
			annotations: map[string]string{OriginalRequests: "{}", Placement: "x", PartitionName: "p"},
		},
		{
			name:        "unknown class",
			annotations: map[string]string{SLAClass: "gold"},
			wantErrs:    []string{`metadata.annotations[foresight.dev/sla-class]: Unsupported value: "gold": supported values: "critical", "standard", "batch", "best-effort"`},
		},
		{
			name:        "priority not a number",
			annotations: map[string]string{Priority: "high"},
			wantErrs:    []string{"foresight.dev/priority]: Invalid value: \"high\": must be an integer"},
		},
		{
			name:        "priority out of range",
			annotations: map[string]string{Priority: "1001"},
			wantErrs:    []string{"must be between 0 and 1000"},
		},
		{
			name:        "negative priority",
			annotations: map[string]string{Priority: "-1"},
			wantErrs:    []string{"must be between 0 and 1000"},
		},
		{
			name:        "bad quantity",
			annotations: map[string]string{MinCPU: "lots"},
			wantErrs:    []string{"foresight.dev/min-cpu]: Invalid value: \"lots\": must be a quantity"},
		},
		{
			name:        "zero guarantee",
			annotations: map[string]string{MemoryBandwidth: "0"},
			wantErrs:    []string{"foresight.dev/memory-bandwidth]: Invalid value: \"0\": must be greater than zero"},
		},
		{
			name:        "negative guarantee",
			annotations: map[string]string{MinCPU: "-1"},
			wantErrs:    []string{"must be greater than zero"},
		},
		{
			name:        "bad migration value",
			annotations: map[string]string{Migration: "no"},
			wantErrs:    []string{`supported values: "allowed", "disabled"`},
		},
		{
			name:        "misspelt key",
			annotations: map[string]string{"foresight.dev/sla_class": "batch"},
			wantErrs:    []string{`Unsupported value: "foresight.dev/sla_class"`},
		},
		{
			name:        "every error is reported, in key order",
			annotations: map[string]string{SLAClass: "gold", Priority: "x"},
			wantErrs:    []string{"foresight.dev/priority", "foresight.dev/sla-class"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := Parse(tc.annotations)
			if len(errs) != len(tc.wantErrs) {
				t.Fatalf("got %d errors %v, want %d", len(errs), errs, len(tc.wantErrs))
			}
			for i, want := range tc.wantErrs {
				if !strings.Contains(errs[i].Error(), want) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i].Error(), want)
				}
			}
			if len(tc.wantErrs) == 0 {
				if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })); diff != "" {
					t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestForPod(t *testing.T) {
	permissive := &foresightv1alpha1.TenantPolicySpec{
		AllowedClasses: []foresightv1alpha1.SLAClass{foresightv1alpha1.SLAClassCritical, foresightv1alpha1.SLAClassBatch},
		DefaultClass:   foresightv1alpha1.SLAClassBatch,
		MaxPriority:    100,
		MaxGuarantees: foresightv1alpha1.Guarantees{
			CPU:             ptr.To(resource.MustParse("2")),
			MemoryBandwidth: ptr.To(resource.MustParse("1Gi")),
		},
		AllowMigrationOptOut: ptr.To(false),
	}
	tests := []struct {
		name      string
		pod       *v1.Pod
		policy    *foresightv1alpha1.TenantPolicySpec
		wantClass foresightv1alpha1.SLAClass
		wantErr   string
	}{
		{
			name:      "no policy, no annotation: standard",
			pod:       st.MakePod().Name("p").Obj(),
			wantClass: foresightv1alpha1.SLAClassStandard,
		},
		{
			name:    "no policy: critical is refused",
			pod:     st.MakePod().Name("p").Annotation(SLAClass, "critical").Obj(),
			wantErr: "the namespace's TenantPolicy allows only standard, batch, best-effort",
		},
		{
			name:    "no policy: no guarantees",
			pod:     st.MakePod().Name("p").Annotation(MinCPU, "100m").Obj(),
			wantErr: "allows no cpu guarantee",
		},
		{
			name:      "no policy: migration opt-out allowed",
			pod:       st.MakePod().Name("p").Annotation(Migration, "disabled").Obj(),
			wantClass: foresightv1alpha1.SLAClassStandard,
		},
		{
			name:      "policy default class",
			pod:       st.MakePod().Name("p").Obj(),
			policy:    permissive,
			wantClass: foresightv1alpha1.SLAClassBatch,
		},
		{
			name:      "policy allows critical with guarantees",
			pod:       st.MakePod().Name("p").Annotations(map[string]string{SLAClass: "critical", MinCPU: "2", MemoryBandwidth: "512Mi", Priority: "100"}).Obj(),
			policy:    permissive,
			wantClass: foresightv1alpha1.SLAClassCritical,
		},
		{
			name:    "class outside the policy",
			pod:     st.MakePod().Name("p").Annotation(SLAClass, "standard").Obj(),
			policy:  permissive,
			wantErr: "allows only critical, batch",
		},
		{
			name:    "priority above the policy",
			pod:     st.MakePod().Name("p").Annotation(Priority, "101").Obj(),
			policy:  permissive,
			wantErr: "101 exceeds the namespace's maxPriority 100",
		},
		{
			name:    "guarantee above the policy",
			pod:     st.MakePod().Name("p").Annotation(MinCPU, "2500m").Obj(),
			policy:  permissive,
			wantErr: "2500m exceeds the namespace's maximum cpu guarantee 2",
		},
		{
			name:    "bandwidth above the policy",
			pod:     st.MakePod().Name("p").Annotation(MemoryBandwidth, "2Gi").Obj(),
			policy:  permissive,
			wantErr: "2Gi exceeds the namespace's maximum memoryBandwidth guarantee 1Gi",
		},
		{
			name:    "migration opt-out forbidden",
			pod:     st.MakePod().Name("p").Annotation(Migration, "disabled").Obj(),
			policy:  permissive,
			wantErr: "does not allow opting out of migration",
		},
		{
			name: "guarantee above the pod's limits",
			pod: st.MakePod().Name("p").Annotation(MinCPU, "1500m").
				Lim(map[v1.ResourceName]string{v1.ResourceCPU: "500m"}).
				Lim(map[v1.ResourceName]string{v1.ResourceCPU: "500m"}).Obj(),
			policy:  permissive,
			wantErr: "exceeds the pod's total CPU limit 1",
		},
		{
			name: "guarantee within the pod's limits",
			pod: st.MakePod().Name("p").Annotation(MinCPU, "1").
				Lim(map[v1.ResourceName]string{v1.ResourceCPU: "500m"}).
				Lim(map[v1.ResourceName]string{v1.ResourceCPU: "500m"}).Obj(),
			policy:    permissive,
			wantClass: foresightv1alpha1.SLAClassBatch,
		},
		{
			name: "a container without a CPU limit leaves the guarantee unbounded by limits",
			pod: st.MakePod().Name("p").Annotation(MinCPU, "2").
				Lim(map[v1.ResourceName]string{v1.ResourceCPU: "500m"}).
				Container("pause").Obj(),
			policy:    permissive,
			wantClass: foresightv1alpha1.SLAClassBatch,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ForPod(tc.pod, tc.policy)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ForPod() error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ForPod() unexpected error: %v", err)
			}
			if diff := cmp.Diff(tc.wantClass, got.Class); diff != "" {
				t.Errorf("class mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultClass(t *testing.T) {
	tests := []struct {
		name    string
		allowed []foresightv1alpha1.SLAClass
		dflt    foresightv1alpha1.SLAClass
		want    foresightv1alpha1.SLAClass
	}{
		{name: "explicit", allowed: []foresightv1alpha1.SLAClass{"batch", "critical"}, dflt: "critical", want: "critical"},
		{name: "standard when allowed", allowed: []foresightv1alpha1.SLAClass{"critical", "standard"}, want: "standard"},
		{name: "lowest otherwise", allowed: []foresightv1alpha1.SLAClass{"critical", "best-effort", "batch"}, want: "best-effort"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DefaultClass(&foresightv1alpha1.TenantPolicySpec{AllowedClasses: tc.allowed, DefaultClass: tc.dflt})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("DefaultClass() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzForPod feeds arbitrary annotation values and policies through the
// whole contract: it must never panic, and an accepted spec must respect the
// policy it was checked against.
func FuzzForPod(f *testing.F) {
	f.Add("critical", "5", "500m", "1Gi", "disabled", "foresight.dev/x", "1", "2", "standard")
	f.Add("", "", "", "", "", "", "", "", "")
	f.Add("gold", "-9999999999999", "1e100", "-0", "no", "foresight.dev/", "9e18", "0.0000001", "batch")
	f.Add("batch", "1000", "0.1m", "18446744073709551617", "allowed", "other/key", "100Ei", "1n", "best-effort")
	f.Fuzz(func(t *testing.T, class, priority, minCPU, bandwidth, migration, extraKey, maxCPU, maxBW, allowed string) {
		pod := st.MakePod().Name("p").Annotations(map[string]string{
			SLAClass: class, Priority: priority, MinCPU: minCPU, MemoryBandwidth: bandwidth, Migration: migration, extraKey: "v",
		}).Lim(map[v1.ResourceName]string{v1.ResourceCPU: "4"}).Obj()
		policy := &foresightv1alpha1.TenantPolicySpec{
			AllowedClasses: []foresightv1alpha1.SLAClass{foresightv1alpha1.SLAClass(allowed)},
			MaxPriority:    500,
		}
		if q, err := resource.ParseQuantity(maxCPU); err == nil {
			policy.MaxGuarantees.CPU = &q
		}
		if q, err := resource.ParseQuantity(maxBW); err == nil {
			policy.MaxGuarantees.MemoryBandwidth = &q
		}
		spec, err := ForPod(pod, policy)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if Rank(spec.Class) < 0 && spec.Class != foresightv1alpha1.SLAClass(allowed) {
			t.Fatalf("accepted unknown class %q", spec.Class)
		}
		if spec.Priority < 0 || spec.Priority > 500 {
			t.Fatalf("accepted priority %d outside [0, 500]", spec.Priority)
		}
		if !spec.MinCPU.IsZero() && (policy.MaxGuarantees.CPU == nil || spec.MinCPU.Cmp(*policy.MaxGuarantees.CPU) > 0) {
			t.Fatalf("accepted cpu guarantee %s above the policy", spec.MinCPU.String())
		}
		if !spec.MemoryBandwidth.IsZero() && (policy.MaxGuarantees.MemoryBandwidth == nil || spec.MemoryBandwidth.Cmp(*policy.MaxGuarantees.MemoryBandwidth) > 0) {
			t.Fatalf("accepted bandwidth guarantee %s above the policy", spec.MemoryBandwidth.String())
		}
	})
}
