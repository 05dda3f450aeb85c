package demand

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

func ownedPod(kind, name string, labels map[string]string) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{
		Namespace: "shop", Name: "p", Labels: labels,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, Controller: ptr.To(true)}},
	}}
}

func TestWorkloadOf(t *testing.T) {
	tests := []struct {
		name     string
		pod      *v1.Pod
		wantKind string
		wantName string
		wantOK   bool
	}{
		{"deployment through its ReplicaSet", ownedPod("ReplicaSet", "web-5d8f9c", map[string]string{"pod-template-hash": "5d8f9c"}), "Deployment", "web", true},
		{"bare ReplicaSet", ownedPod("ReplicaSet", "web", nil), "ReplicaSet", "web", true},
		{"hash that is not the suffix", ownedPod("ReplicaSet", "web-1", map[string]string{"pod-template-hash": "2"}), "ReplicaSet", "web-1", true},
		{"statefulset", ownedPod("StatefulSet", "db", nil), "StatefulSet", "db", true},
		{"no owner", &v1.Pod{}, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, ok := WorkloadOf(tc.pod)
			if ok != tc.wantOK || w.Kind != tc.wantKind || w.Name != tc.wantName {
				t.Errorf("WorkloadOf() = %+v, %v; want %s/%s, %v", w, ok, tc.wantKind, tc.wantName, tc.wantOK)
			}
		})
	}
}

func TestProfileFor(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	profile := func(name string, age time.Duration, containers int) *foresightv1alpha1.WorkloadProfile {
		wp := &foresightv1alpha1.WorkloadProfile{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name},
			Spec:       foresightv1alpha1.WorkloadProfileSpec{Workload: foresightv1alpha1.WorkloadReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}},
			Status:     foresightv1alpha1.WorkloadProfileStatus{LastUpdated: ptr.To(metav1.NewTime(now.Add(-age)))},
		}
		for range containers {
			wp.Status.Containers = append(wp.Status.Containers, foresightv1alpha1.ContainerProfile{Name: "app"})
		}
		return wp
	}
	pod := ownedPod("ReplicaSet", "web-abc", map[string]string{"pod-template-hash": "abc"})
	tests := []struct {
		name     string
		objs     []*foresightv1alpha1.WorkloadProfile
		pod      *v1.Pod
		wantName string
		wantWhy  string
	}{
		{"fresh", []*foresightv1alpha1.WorkloadProfile{profile("a", time.Minute, 1)}, pod, "a", ""},
		{"newest of two", []*foresightv1alpha1.WorkloadProfile{profile("old", 3*time.Minute, 1), profile("new", time.Minute, 1)}, pod, "new", ""},
		{"stale", []*foresightv1alpha1.WorkloadProfile{profile("a", time.Hour, 1)}, pod, "", FallbackStale},
		{"empty", []*foresightv1alpha1.WorkloadProfile{profile("a", time.Minute, 0)}, pod, "", FallbackEmpty},
		{"missing", nil, pod, "", FallbackMissing},
		{"other namespace", []*foresightv1alpha1.WorkloadProfile{func() *foresightv1alpha1.WorkloadProfile {
			wp := profile("a", time.Minute, 1)
			wp.Namespace = "other"
			return wp
		}()}, pod, "", FallbackMissing},
		{"no workload", nil, &v1.Pod{}, "", FallbackNoWorkload},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, ProfileIndexers())
			for _, o := range tc.objs {
				if err := idx.Add(o); err != nil {
					t.Fatal(err)
				}
			}
			got, why := ProfileFor(idx, tc.pod, now, 5*time.Minute)
			gotName := ""
			if got != nil {
				gotName = got.Name
			}
			if gotName != tc.wantName || why != tc.wantWhy {
				t.Errorf("ProfileFor() = %q, %q; want %q, %q", gotName, why, tc.wantName, tc.wantWhy)
			}
		})
	}
}
