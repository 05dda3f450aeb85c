package simulate

import (
	"bytes"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/forecast"
)

func TestSyntheticTraceIsRepeatable(t *testing.T) {
	a, b := SyntheticTrace(3, 5*time.Minute), SyntheticTrace(3, 5*time.Minute)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two calls differ (-first +second):\n%s", diff)
	}
	// A longer trace starts with the shorter one: days only add samples.
	long := SyntheticTrace(4, 5*time.Minute)
	for i := range a.Pods {
		if diff := cmp.Diff(a.Pods[i].CPU, long.Pods[i].CPU[:a.Steps]); diff != "" {
			t.Errorf("%s: CPU of 3 days is not the start of 4 days' (-3 days +4 days):\n%s", a.Pods[i].Name, diff)
		}
	}
}

func TestSyntheticTraceShape(t *testing.T) {
	tr := SyntheticTrace(9, 5*time.Minute)
	if err := tr.Normalize(); err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	if want := 9 * 288; tr.Steps != want {
		t.Errorf("Steps = %d, want %d", tr.Steps, want)
	}
	classes := map[foresightv1alpha1.SLAClass]int{}
	for _, p := range tr.Pods {
		classes[p.Class]++
		for i := range tr.Steps {
			if p.CPU[i] <= 0 || p.CPU[i] > float64(p.CPURequest) || p.Memory[i] <= 0 || p.Memory[i] > float64(p.MemoryRequest) {
				t.Fatalf("%s sample %d: %.0fm CPU, %.0f bytes: want positive usage within the requests %dm, %d", p.Name, i, p.CPU[i], p.Memory[i], p.CPURequest, p.MemoryRequest)
			}
		}
	}
	for _, c := range Classes {
		if classes[c] == 0 {
			t.Errorf("no workload of class %s", c)
		}
	}
	// Daily rhythms where the workloads have one, none where they do not.
	day := int(24 * time.Hour / tr.Step)
	for _, tc := range []struct {
		name  string
		daily bool
	}{{"checkout", true}, {"web-0", true}, {"etl-0", true}, {"cache", false}} {
		i := slices.IndexFunc(tr.Pods, func(p PodTrace) bool { return p.Name == tc.name })
		if i < 0 {
			t.Fatalf("no workload %s", tc.name)
		}
		periods, err := forecast.DetectPeriods(forecast.Series{Start: tr.Start, Step: tr.Step, Values: tr.Pods[i].CPU}, forecast.PeriodOptions{})
		if err != nil {
			t.Fatalf("%s: DetectPeriods: %v", tc.name, err)
		}
		if got := slices.Contains(periods, day); got != tc.daily {
			t.Errorf("%s: daily period detected = %v, want %v (periods %v)", tc.name, got, tc.daily, periods)
		}
	}
	// Requests sized for the peak and more: the aggregate peak is well
	// below the sum of the requests.
	s := prepare(tr)
	b := computeBounds(s, 0, tr.Steps, 8000, 32<<30)
	var requested float64
	for _, p := range tr.Pods {
		requested += float64(p.CPURequest)
	}
	if b.PeakCPU > requested/2 || b.SumPeakCPU >= requested {
		t.Errorf("aggregate CPU peak %.0fm, sum of peaks %.0fm: want under half and under all of the requests %.0fm", b.PeakCPU, b.SumPeakCPU, requested)
	}
}

func TestWriteCSVRoundTrip(t *testing.T) {
	tr := SyntheticTrace(2, 5*time.Minute)
	tr.Pods[1].CPU[5], tr.Pods[1].Memory[5] = math.NaN(), math.NaN() // a gap
	var b bytes.Buffer
	if err := WriteCSV(&b, tr); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	got, err := ReadCSV(&b, 5*time.Minute)
	if err != nil {
		t.Fatalf("ReadCSV: %v", err)
	}
	if got.Steps != tr.Steps || !got.Start.Equal(tr.Start) || len(got.Pods) != len(tr.Pods) {
		t.Fatalf("read %d workloads × %d samples from %s, want %d × %d from %s", len(got.Pods), got.Steps, got.Start, len(tr.Pods), tr.Steps, tr.Start)
	}
	for k, want := range tr.Pods {
		p := got.Pods[k]
		if p.Name != want.Name || p.Class != want.Class || p.CPURequest != want.CPURequest || p.MemoryRequest != want.MemoryRequest {
			t.Errorf("workload %d: got %s %s %dm %d, want %s %s %dm %d", k, p.Name, p.Class, p.CPURequest, p.MemoryRequest,
				want.Name, want.Class, want.CPURequest, want.MemoryRequest)
		}
		for i := range tr.Steps {
			if math.IsNaN(want.CPU[i]) {
				if !math.IsNaN(p.CPU[i]) || !math.IsNaN(p.Memory[i]) {
					t.Errorf("%s sample %d: got %v, %v for a gap", p.Name, i, p.CPU[i], p.Memory[i])
				}
				continue
			}
			if math.Abs(p.CPU[i]-want.CPU[i]) > 0.05 || math.Abs(p.Memory[i]-math.Round(want.Memory[i])) > 0 {
				t.Fatalf("%s sample %d: got %vm, %v bytes, want %vm, %v", p.Name, i, p.CPU[i], p.Memory[i], want.CPU[i], want.Memory[i])
			}
		}
	}
}
