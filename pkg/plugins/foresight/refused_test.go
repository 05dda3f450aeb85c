package foresight

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

type recordingActivator struct{ activated []string }

func (r *recordingActivator) Activate(_ klog.Logger, pods map[string]*v1.Pod) {
	for k := range pods {
		r.activated = append(r.activated, k)
	}
}

func TestRefusedPodsActivatedOnPolicyChange(t *testing.T) {
	logger, _ := ktesting.NewTestContext(t)
	r := newRefusedPods()
	r.add(st.MakePod().Namespace("a").Name("p1").Obj())
	r.add(st.MakePod().Namespace("b").Name("p2").Obj())
	fixed := st.MakePod().Namespace("a").Name("p3").Obj()
	r.add(fixed)
	r.remove(fixed) // scheduled since

	act := &recordingActivator{}
	h := r.activateOnPolicyChange(logger, act)
	h.OnAdd(&foresightv1alpha1.TenantPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "default"}}, false)
	if diff := cmp.Diff([]string{"a/p1"}, act.activated); diff != "" {
		t.Errorf("activated after a policy in namespace a (-want +got):\n%s", diff)
	}
	// Taken once: a second change has nothing left to retry in a.
	h.OnUpdate(nil, &foresightv1alpha1.TenantPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "default"}})
	if len(act.activated) != 1 {
		t.Errorf("pods activated twice: %v", act.activated)
	}
	h.OnDelete(&foresightv1alpha1.TenantPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "default"}})
	if diff := cmp.Diff([]string{"a/p1", "b/p2"}, act.activated); diff != "" {
		t.Errorf("activated after deleting the policy of namespace b (-want +got):\n%s", diff)
	}
}
