package simulate

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

func TestReadCSV(t *testing.T) {
	in := `# a Prometheus export, per container
timestamp,pod,container,cpu,memory,cpu_request,memory_request,class
2024-01-01T00:00:00Z,web,app,0.5,1048576,1,2097152,batch
2024-01-01T00:00:00Z,web,sidecar,0.1,1048576,0.1,1048576,
1704067500,web,app,0.7,1048576,1,2097152,
2024-01-01T00:00:00Z,db,,2,4194304,,,
`
	tr, err := ReadCSV(strings.NewReader(in), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	want := &Trace{
		Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Step: 5 * time.Minute, Steps: 2,
		Pods: []PodTrace{
			{Name: "web", Workload: "web", Class: foresightv1alpha1.SLAClassBatch, CPURequest: 1100, MemoryRequest: 3 << 20,
				CPU: []float64{600, 700}, Memory: []float64{2 << 20, 1 << 20}},
			// No requests: its peak usage; no class: by index (1 → standard).
			{Name: "db", Workload: "db", Class: foresightv1alpha1.SLAClassStandard, CPURequest: 2000, MemoryRequest: 4 << 20,
				CPU: []float64{2000, nan}, Memory: []float64{4 << 20, nan}},
		},
	}
	if diff := cmp.Diff(want, tr, cmp.Comparer(func(a, b float64) bool {
		return a == b || (math.IsNaN(a) && math.IsNaN(b)) || math.Abs(a-b) < 1e-6
	})); diff != "" {
		t.Errorf("ReadCSV (-want +got):\n%s", diff)
	}
}

func TestReadCSVErrors(t *testing.T) {
	const head = "timestamp,pod,cpu,memory\n"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "empty input"},
		{"no rows", head, "no data rows"},
		{"missing column", "timestamp,pod,cpu\n1,a,1\n", `line 1: missing required column "memory"`},
		{"unknown column", "timestamp,pod,cpu,memory,cpus\n", `line 1: unknown column "cpus"`},
		{"duplicate column", "timestamp,pod,cpu,memory,CPU\n", `column "cpu" appears twice`},
		{"not a number", head + "0,a,1,2\n300,a,x,2\n", `line 3: column "cpu": "x" is not a finite number`},
		{"negative", head + "# comment\n0,a,1,-2\n", `line 3: column "memory": "-2" is negative`},
		{"infinite", head + "0,a,Inf,2\n", `line 2: column "cpu": "Inf" is not a finite number`},
		{"empty value", head + "0,a,,2\n", `line 2: column "cpu" is empty`},
		{"empty pod", head + "0,,1,2\n", `line 2: column "pod" is empty`},
		{"bad timestamp", head + "yesterday,a,1,2\n", `line 2: column "timestamp": "yesterday" is neither RFC 3339 nor Unix seconds`},
		{"duplicate sample", head + "0,a,1,2\n0,a,1,2\n", `line 3: pod "a" already has a sample at 1970-01-01T00:00:00Z (line 2)`},
		{"unknown class", "timestamp,pod,cpu,memory,class\n0,a,1,2,gold\n", `line 2: column "class": unknown SLA class "gold"`},
		{"class changes", "timestamp,pod,cpu,memory,class\n0,a,1,2,batch\n300,a,1,2,standard\n", `line 3: pod "a" has class "standard", but "batch" on line 2`},
		{"short row", head + "0,a,1\n", "record on line 2: wrong number of fields"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tc.in), 5*time.Minute)
			if err == nil {
				t.Fatalf("ReadCSV succeeded, want an error with %q", tc.want)
			}
			if !errors.Is(err, ErrCSV) {
				t.Errorf("error %v does not wrap ErrCSV", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}
