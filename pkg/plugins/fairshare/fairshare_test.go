package fairshare

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/foresight-dev/foresight/pkg/annotations"
)

func queued(t *testing.T, pod *v1.Pod, at time.Time) *framework.QueuedPodInfo {
	t.Helper()
	pi, err := framework.NewPodInfo(pod)
	if err != nil {
		t.Fatal(err)
	}
	return &framework.QueuedPodInfo{PodInfo: pi, QueueingParams: framework.QueueingParams{Timestamp: at}}
}

func TestLess(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Second)
	tests := []struct {
		name string
		a, b *v1.Pod
		ta   time.Time
		tb   time.Time
		want bool
	}{
		{
			name: "higher priority first, whatever the class",
			a:    st.MakePod().Name("a").Priority(10).Annotation(annotations.SLAClass, "best-effort").Obj(),
			b:    st.MakePod().Name("b").Priority(5).Annotation(annotations.SLAClass, "critical").Obj(),
			ta:   t1, tb: t0,
			want: true,
		},
		{
			name: "same priority: critical before standard",
			a:    st.MakePod().Name("a").Annotation(annotations.SLAClass, "critical").Obj(),
			b:    st.MakePod().Name("b").Obj(),
			ta:   t1, tb: t0,
			want: true,
		},
		{
			name: "same priority: standard (default) before batch",
			a:    st.MakePod().Name("a").Obj(),
			b:    st.MakePod().Name("b").Annotation(annotations.SLAClass, "batch").Obj(),
			ta:   t1, tb: t0,
			want: true,
		},
		{
			name: "invalid class ranks last",
			a:    st.MakePod().Name("a").Annotation(annotations.SLAClass, "gold").Obj(),
			b:    st.MakePod().Name("b").Annotation(annotations.SLAClass, "best-effort").Obj(),
			ta:   t0, tb: t1,
			want: false,
		},
		{
			name: "same priority and class: older first",
			a:    st.MakePod().Name("a").Annotation(annotations.SLAClass, "batch").Obj(),
			b:    st.MakePod().Name("b").Annotation(annotations.SLAClass, "batch").Obj(),
			ta:   t0, tb: t1,
			want: true,
		},
		{
			name: "same priority and class: younger second",
			a:    st.MakePod().Name("a").Obj(),
			b:    st.MakePod().Name("b").Obj(),
			ta:   t1, tb: t0,
			want: false,
		},
	}
	pl := &FairShare{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := pl.Less(queued(t, tc.a, tc.ta), queued(t, tc.b, tc.tb)); got != tc.want {
				t.Errorf("Less() = %v, want %v", got, tc.want)
			}
		})
	}
}
