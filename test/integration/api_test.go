package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/generated/clientset/versioned"
	"github.com/foresight-dev/foresight/test/framework"
)

func validPool(name string) *foresightv1alpha1.ResourcePool {
	return &foresightv1alpha1.ResourcePool{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: foresightv1alpha1.ResourcePoolSpec{
			Tier:         foresightv1alpha1.PoolTierFixed,
			NodeSelector: metav1.LabelSelector{MatchLabels: map[string]string{"pool": name}},
		},
	}
}

func validPartition(name string) *foresightv1alpha1.Partition {
	return &foresightv1alpha1.Partition{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: foresightv1alpha1.PartitionSpec{
			NodeName: "node-a", PoolName: "fixed", SLAClass: foresightv1alpha1.SLAClassStandard,
			Size:       foresightv1alpha1.ResourceVector{CPU: ptr.To(resource.MustParse("2")), Memory: ptr.To(resource.MustParse("4Gi"))},
			Confidence: "0.99",
		},
	}
}

func validEvent(name string) *foresightv1alpha1.ScalingEvent {
	start := metav1.NewTime(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	return &foresightv1alpha1.ScalingEvent{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: foresightv1alpha1.ScalingEventSpec{
			Start: start, End: metav1.NewTime(start.Add(2 * time.Hour)),
			Selector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}},
			Change:   foresightv1alpha1.ExpectedChange{MultiplierPercent: ptr.To[int32](300)},
		},
	}
}

func validPolicy(name string) *foresightv1alpha1.TenantPolicy {
	return &foresightv1alpha1.TenantPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: foresightv1alpha1.TenantPolicySpec{
			AllowedClasses: []foresightv1alpha1.SLAClass{foresightv1alpha1.SLAClassBatch},
		},
	}
}

// TestIntegrationAPIValidation creates invalid foresight.dev objects on a
// real API server with the shipped CRDs and checks each is refused for the
// right reason, and that valid ones are accepted with their defaults.
func TestIntegrationAPIValidation(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	cp := framework.StartControlPlane(t)
	if err := cp.InstallCRDs(ctx); err != nil {
		t.Fatal(err)
	}
	c := cp.Foresight.ForesightV1alpha1()

	tests := []struct {
		name    string
		create  func(context.Context, versioned.Interface) error
		wantErr string // empty: must be accepted
	}{
		{
			name: "valid pool",
			create: func(ctx context.Context, c versioned.Interface) error {
				_, err := c.ForesightV1alpha1().ResourcePools().Create(ctx, validPool("ok"), metav1.CreateOptions{})
				return err
			},
		},
		{
			name: "pool tier outside the enum",
			create: func(ctx context.Context, c versioned.Interface) error {
				p := validPool("bad-tier")
				p.Spec.Tier = "cheap"
				_, err := c.ForesightV1alpha1().ResourcePools().Create(ctx, p, metav1.CreateOptions{})
				return err
			},
			wantErr: `spec.tier: Unsupported value: "cheap": supported values: "fixed", "variable", "dedicated"`,
		},
		{
			name: "pool overcommit below 100%",
			create: func(ctx context.Context, c versioned.Interface) error {
				p := validPool("bad-ratio")
				p.Spec.Overcommit.MaxRatioPercent = 50
				_, err := c.ForesightV1alpha1().ResourcePools().Create(ctx, p, metav1.CreateOptions{})
				return err
			},
			wantErr: "spec.overcommit.maxRatioPercent: Invalid value: 50: spec.overcommit.maxRatioPercent in body should be greater than or equal to 100",
		},
		{
			name: "dedicated pool overcommitted",
			create: func(ctx context.Context, c versioned.Interface) error {
				p := validPool("bad-dedicated")
				p.Spec.Tier = foresightv1alpha1.PoolTierDedicated
				p.Spec.Overcommit.MaxRatioPercent = 150
				_, err := c.ForesightV1alpha1().ResourcePools().Create(ctx, p, metav1.CreateOptions{})
				return err
			},
			wantErr: "a dedicated pool is never overcommitted",
		},
		{
			name: "pool confidence not a probability",
			create: func(ctx context.Context, c versioned.Interface) error {
				p := validPool("bad-confidence")
				p.Spec.Overcommit.TargetConfidence = "99%"
				_, err := c.ForesightV1alpha1().ResourcePools().Create(ctx, p, metav1.CreateOptions{})
				return err
			},
			wantErr: "spec.overcommit.targetConfidence: Invalid value: \"99%\"",
		},
		{
			name: "valid partition",
			create: func(ctx context.Context, c versioned.Interface) error {
				_, err := c.ForesightV1alpha1().Partitions().Create(ctx, validPartition("ok"), metav1.CreateOptions{})
				return err
			},
		},
		{
			name: "partition without a node",
			create: func(ctx context.Context, c versioned.Interface) error {
				p := validPartition("no-node")
				p.Spec.NodeName = ""
				_, err := c.ForesightV1alpha1().Partitions().Create(ctx, p, metav1.CreateOptions{})
				return err
			},
			wantErr: "spec.nodeName: Invalid value: \"\": spec.nodeName in body should be at least 1 chars long",
		},
		{
			name: "partition with an unknown class",
			create: func(ctx context.Context, c versioned.Interface) error {
				p := validPartition("bad-class")
				p.Spec.SLAClass = "gold"
				_, err := c.ForesightV1alpha1().Partitions().Create(ctx, p, metav1.CreateOptions{})
				return err
			},
			wantErr: `spec.slaClass: Unsupported value: "gold"`,
		},
		{
			name: "partition moved to another node",
			create: func(ctx context.Context, c versioned.Interface) error {
				p, err := c.ForesightV1alpha1().Partitions().Create(ctx, validPartition("moved"), metav1.CreateOptions{})
				if err != nil {
					return err
				}
				p.Spec.NodeName = "node-b"
				_, err = c.ForesightV1alpha1().Partitions().Update(ctx, p, metav1.UpdateOptions{})
				return err
			},
			wantErr: "a partition cannot move to another node or pool",
		},
		{
			name: "valid scaling event",
			create: func(ctx context.Context, c versioned.Interface) error {
				_, err := c.ForesightV1alpha1().ScalingEvents("default").Create(ctx, validEvent("ok"), metav1.CreateOptions{})
				return err
			},
		},
		{
			name: "scaling event ending before it starts",
			create: func(ctx context.Context, c versioned.Interface) error {
				e := validEvent("backwards")
				e.Spec.End = metav1.NewTime(e.Spec.Start.Add(-time.Hour))
				_, err := c.ForesightV1alpha1().ScalingEvents("default").Create(ctx, e, metav1.CreateOptions{})
				return err
			},
			wantErr: "end must be after start",
		},
		{
			name: "scaling event without a change",
			create: func(ctx context.Context, c versioned.Interface) error {
				e := validEvent("no-change")
				e.Spec.Change = foresightv1alpha1.ExpectedChange{}
				_, err := c.ForesightV1alpha1().ScalingEvents("default").Create(ctx, e, metav1.CreateOptions{})
				return err
			},
			wantErr: "an expected change needs a multiplierPercent or an addition",
		},
		{
			name: "valid tenant policy",
			create: func(ctx context.Context, c versioned.Interface) error {
				_, err := c.ForesightV1alpha1().TenantPolicies("default").Create(ctx, validPolicy("default"), metav1.CreateOptions{})
				return err
			},
		},
		{
			name: "tenant policy not named default",
			create: func(ctx context.Context, c versioned.Interface) error {
				_, err := c.ForesightV1alpha1().TenantPolicies("default").Create(ctx, validPolicy("mine"), metav1.CreateOptions{})
				return err
			},
			wantErr: "a namespace's TenantPolicy must be named default",
		},
		{
			name: "tenant policy allowing no class",
			create: func(ctx context.Context, c versioned.Interface) error {
				p := validPolicy("default")
				p.Namespace = "kube-public"
				p.Spec.AllowedClasses = nil
				_, err := c.ForesightV1alpha1().TenantPolicies("kube-public").Create(ctx, p, metav1.CreateOptions{})
				return err
			},
			wantErr: "spec.allowedClasses: Required value",
		},
		{
			name: "tenant policy default class not allowed",
			create: func(ctx context.Context, c versioned.Interface) error {
				p := validPolicy("default")
				p.Namespace = "kube-public"
				p.Spec.DefaultClass = foresightv1alpha1.SLAClassCritical
				_, err := c.ForesightV1alpha1().TenantPolicies("kube-public").Create(ctx, p, metav1.CreateOptions{})
				return err
			},
			wantErr: "defaultClass must be one of allowedClasses",
		},
		{
			name: "node profile named after another node",
			create: func(ctx context.Context, c versioned.Interface) error {
				np := &foresightv1alpha1.NodeProfile{
					ObjectMeta: metav1.ObjectMeta{Name: "node-a"},
					Spec:       foresightv1alpha1.NodeProfileSpec{NodeName: "node-b"},
				}
				_, err := c.ForesightV1alpha1().NodeProfiles().Create(ctx, np, metav1.CreateOptions{})
				return err
			},
			wantErr: "a NodeProfile is named after its node",
		},
		{
			name: "workload profile without a workload",
			create: func(ctx context.Context, c versioned.Interface) error {
				wp := &foresightv1alpha1.WorkloadProfile{ObjectMeta: metav1.ObjectMeta{Name: "w", Namespace: "default"}}
				_, err := c.ForesightV1alpha1().WorkloadProfiles("default").Create(ctx, wp, metav1.CreateOptions{})
				return err
			},
			wantErr: "spec.workload.kind: Invalid value: \"\"",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.create(ctx, cp.Foresight)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("valid object refused: %v", err)
				}
				return
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("got error %v, want an Invalid error containing %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err.Error(), tc.wantErr)
			}
		})
	}

	// The API server applies the CRDs' defaults.
	got, err := c.ResourcePools().Get(ctx, "ok", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantDefaults := foresightv1alpha1.ResourcePoolSpec{
		Tier:         foresightv1alpha1.PoolTierFixed,
		NodeSelector: metav1.LabelSelector{MatchLabels: map[string]string{"pool": "ok"}},
		Cost:         foresightv1alpha1.CostModel{Currency: "USD"},
		Overcommit:   foresightv1alpha1.OvercommitPolicy{TargetConfidence: "0.95", MaxRatioPercent: 100},
		Partitioning: foresightv1alpha1.PartitioningPolicy{HeadroomPercent: 10},
		Enforcement:  foresightv1alpha1.EnforcementOff,
	}
	if diff := cmp.Diff(wantDefaults, got.Spec); diff != "" {
		t.Errorf("defaulted pool spec (-want +got):\n%s", diff)
	}
}
