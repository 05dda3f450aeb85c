package rightsize

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"

	"github.com/foresight-dev/foresight/pkg/annotations"
	"github.com/foresight-dev/foresight/pkg/demand"
)

func TestPatch(t *testing.T) {
	tests := []struct {
		name string
		pod  *v1.Pod
		want string // the patch as JSON
	}{
		{
			name: "pod without annotations: the map is added",
			pod:  pod(ctr("app", "cpu=2,memory=4Gi", "")).Obj(),
			want: `[{"op":"replace","path":"/spec/containers/0/resources/requests/cpu","value":"400m"},` +
				`{"op":"replace","path":"/spec/containers/0/resources/requests/memory","value":"400Mi"},` +
				`{"op":"add","path":"/metadata/annotations","value":{"foresight.dev/original-requests":"{\"app\":{\"cpu\":\"2\",\"memory\":\"4Gi\"}}"}}]`,
		},
		{
			name: "pod with annotations: the key is added, its slash escaped",
			pod:  pod(ctr("app", "cpu=2,memory=4Gi", "")).Annotation(annotations.SLAClass, "standard").Obj(),
			want: `[{"op":"replace","path":"/spec/containers/0/resources/requests/cpu","value":"400m"},` +
				`{"op":"replace","path":"/spec/containers/0/resources/requests/memory","value":"400Mi"},` +
				`{"op":"add","path":"/metadata/annotations/foresight.dev~1original-requests","value":"{\"app\":{\"cpu\":\"2\",\"memory\":\"4Gi\"}}"}]`,
		},
		{
			name: "only what changes is replaced; every container is recorded",
			pod:  pod(ctr("init-like", "cpu=100m", ""), ctr("app", "cpu=300m,memory=4Gi", "")).Obj(),
			want: `[{"op":"replace","path":"/spec/containers/1/resources/requests/memory","value":"400Mi"},` +
				`{"op":"add","path":"/metadata/annotations","value":{"foresight.dev/original-requests":"{\"app\":{\"cpu\":\"300m\",\"memory\":\"4Gi\"},\"init-like\":{\"cpu\":\"100m\"}}"}}]`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.pod, enabled, profileOf(appUsage), DefaultOptions(now))
			if !d.Changed {
				t.Fatalf("Decide() = %s (%s), want a change", d.Reason, d.Message)
			}
			ops, err := Patch(tc.pod, d)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(ops)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("Patch() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPatchRefusesAMismatchedPod(t *testing.T) {
	p := pod(ctr("app", "cpu=2,memory=4Gi", "")).Obj()
	d := Decide(p, enabled, profileOf(appUsage), DefaultOptions(now))
	other := pod(ctr("app", "cpu=2", ""), ctr("b", "cpu=1", "")).Obj()
	if _, err := Patch(other, d); err == nil {
		t.Error("Patch() of another pod: no error")
	}
	if err := Apply(other, d); err == nil {
		t.Error("Apply() to another pod: no error")
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{"a/b": "a~1b", "a~b": "a~0b", "~/": "~0~1", "cpu": "cpu"} {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOriginalRequests(t *testing.T) {
	tests := []struct {
		name       string
		annotation string // "" for none
		want       []string
		wantErr    string
	}{
		{name: "never rightsized: current requests", want: []string{"cpu=400m,memory=400Mi,example.com/gpu=1", "cpu=100m"}},
		{
			name:       "recorded",
			annotation: `{"app":{"cpu":"2","memory":"4Gi"},"side":{"cpu":"100m"}}`,
			want:       []string{"cpu=2,example.com/gpu=1,memory=4Gi", "cpu=100m"},
		},
		{
			name:       "a recorded request below the current one does not count",
			annotation: `{"app":{"cpu":"100m","memory":"4Gi"},"side":{"cpu":"50m","memory":"1Gi"}}`,
			want:       []string{"cpu=400m,example.com/gpu=1,memory=4Gi", "cpu=100m,memory=1Gi"},
		},
		{
			name:       "only CPU and memory are read from it",
			annotation: `{"app":{"example.com/gpu":"8"}}`,
			want:       []string{"cpu=400m,example.com/gpu=1,memory=400Mi", "cpu=100m"},
		},
		{
			name:       "malformed",
			annotation: `{"app":`,
			want:       []string{"cpu=400m,example.com/gpu=1,memory=400Mi", "cpu=100m"},
			wantErr:    "foresight.dev/original-requests: unexpected end of JSON input",
		},
		{
			name:       "not a quantity",
			annotation: `{"app":{"cpu":"lots"}}`,
			want:       []string{"cpu=400m,example.com/gpu=1,memory=400Mi", "cpu=100m"},
			wantErr:    "quantities must match the regular expression",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := pod(ctr("app", "cpu=400m,memory=400Mi,example.com/gpu=1", "example.com/gpu=1"), ctr("side", "cpu=100m", ""))
			if tc.annotation != "" {
				w = w.Annotation(annotations.OriginalRequests, tc.annotation)
			}
			got, err := OriginalRequests(w.Obj())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error = %v, want one containing %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			var gotStrings []string
			for _, l := range got {
				gotStrings = append(gotStrings, format(l))
			}
			want := make([]string, len(tc.want))
			for i, s := range tc.want {
				want[i] = format(list(s))
			}
			if diff := cmp.Diff(want, gotStrings); diff != "" {
				t.Errorf("OriginalRequests() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOriginalPodRequests(t *testing.T) {
	tests := []struct {
		name       string
		pod        *v1.Pod
		annotation string
		want       demand.Vector
		wantErr    bool
	}{
		{
			name: "never rightsized: its requests, overhead included",
			pod:  pod(ctr("app", "cpu=400m,memory=400Mi", ""), ctr("side", "cpu=100m", "")).Overhead(list("cpu=50m")).Obj(),
			want: demand.Vector{550, 400 << 20},
		},
		{
			name:       "rightsized: the original requests of its containers",
			pod:        pod(ctr("app", "cpu=400m,memory=400Mi", ""), ctr("side", "cpu=100m", "")).Overhead(list("cpu=50m")).Obj(),
			annotation: `{"app":{"cpu":"2","memory":"4Gi"},"side":{"cpu":"100m"}}`,
			want:       demand.Vector{2150, 4 << 30},
		},
		{
			name:       "an init container larger than the original app containers counts",
			pod:        pod(ctr("app", "cpu=400m,memory=400Mi", "")).InitReq(map[v1.ResourceName]string{"cpu": "3", "memory": "1Gi"}).Obj(),
			annotation: `{"app":{"cpu":"2","memory":"4Gi"}}`,
			want:       demand.Vector{3000, 4 << 30},
		},
		{
			name:       "malformed: current requests and an error",
			pod:        pod(ctr("app", "cpu=400m,memory=400Mi", "")).Obj(),
			annotation: `[`,
			want:       demand.Vector{400, 400 << 20},
			wantErr:    true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.pod
			if tc.annotation != "" {
				p.Annotations = map[string]string{annotations.OriginalRequests: tc.annotation}
			}
			before := p.DeepCopy()
			got, err := OriginalPodRequests(p)
			if (err != nil) != tc.wantErr {
				t.Errorf("error = %v, want one: %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("OriginalPodRequests() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, p); diff != "" {
				t.Errorf("the pod changed (-before +after):\n%s", diff)
			}
		})
	}
}

// ExampleDecide rightsizes a pod of a Deployment whose containers were
// seen to use at most 400m and 400Mi 99% of the time.
func ExampleDecide() {
	p := pod(ctr("app", "cpu=2,memory=4Gi", "cpu=4,memory=8Gi")).Obj()
	d := Decide(p, enabled, profileOf(appUsage), DefaultOptions(now))
	fmt.Println(d.Reason)
	fmt.Println(d.Message)
	value, _ := EncodeOriginalRequests(d)
	fmt.Println(value)
	// Output:
	// rightsized
	// requests lowered to the predicted demand at 99% confidence (profile): app cpu 2→400m, app memory 4Gi→400Mi
	// {"app":{"cpu":"2","memory":"4Gi"}}
}
