package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReadFiles reads v1 and v2 cgroup files laid out in a temporary
// directory with the kernel's formats (v2 hosts are not available here:
// this machine is hybrid).
func TestReadFiles(t *testing.T) {
	const path = "/kubepods/burstable/pod1b4e28ba-2fa1-11d2-883f-0016d3cca427/4c1a0b2e9d8f"
	for _, tc := range []struct {
		name   string
		mode   discovery.Mode
		fields Fields // AllFields when 0
		files  map[string]string
		want   Sample
	}{
		{name: "v2", mode: discovery.ModeV2, files: map[string]string{
			"cgroup.controllers":      "cpu memory",
			path + "/cpu.stat":        "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\nnr_periods 10\nnr_throttled 4\nthrottled_usec 2500\n",
			path + "/memory.current":  "314572800\n",
			path + "/memory.stat":     "anon 209715200\nfile 104857600\ninactive_file 52428800\nactive_file 52428800\n",
			path + "/memory.events":   "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
			path + "/cpu.pressure":    "some avg10=0.00 avg60=0.00 avg300=0.00 total=777\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=55\n",
			path + "/memory.pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=88\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=9\n",
		}, want: Sample{CPUUsageNanos: 1500000000, CPUPeriods: 10, CPUThrottledPeriods: 4, CPUThrottledNanos: 2500000,
			MemoryUsageBytes: 314572800, MemoryWorkingSetBytes: 262144000, MemoryRSSBytes: 209715200, OOMKills: 1,
			HasPSI: true, CPUPressureSomeMicros: 777, MemoryPressureSomeMicros: 88, MemoryPressureFullMicros: 9}},
		{name: "v1 co-mounted cpu,cpuacct without a v2 tree", mode: discovery.ModeV1, files: map[string]string{
			"cpu,cpuacct" + path + "/cpuacct.usage":    "123456789\n",
			"cpu,cpuacct" + path + "/cpu.stat":         "nr_periods 7\nnr_throttled 2\nthrottled_time 999\n",
			"memory" + path + "/memory.usage_in_bytes": "1000\n",
			"memory" + path + "/memory.stat":           "cache 10\nrss 5\ntotal_inactive_file 1500\ntotal_rss 600\n",
			"memory" + path + "/memory.oom_control":    "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
		}, want: Sample{CPUUsageNanos: 123456789, CPUPeriods: 7, CPUThrottledPeriods: 2, CPUThrottledNanos: 999,
			MemoryUsageBytes: 1000, MemoryWorkingSetBytes: 0, MemoryRSSBytes: 600, OOMKills: 2}},
		{name: "v1 CPU and memory only: the other files are not read", mode: discovery.ModeV1, fields: FieldCPU | FieldMemory, files: map[string]string{
			"cpuacct" + path + "/cpuacct.usage":        "123456789\n",
			"cpu" + path + "/cpu.shares":               "1024\n", // no cpu.stat: reading it would fail
			"memory" + path + "/memory.usage_in_bytes": "4000\n",
			"memory" + path + "/memory.stat":           "total_inactive_file 1500\ntotal_rss 600\n",
		}, want: Sample{CPUUsageNanos: 123456789, MemoryUsageBytes: 4000, MemoryWorkingSetBytes: 2500, MemoryRSSBytes: 600}},
		{name: "v2 throttling and pressure only", mode: discovery.ModeV2, fields: FieldThrottling | FieldPressure, files: map[string]string{
			"cgroup.controllers":      "cpu memory",
			path + "/cpu.stat":        "usage_usec 1500000\nnr_periods 10\nnr_throttled 4\nthrottled_usec 2500\n",
			path + "/cpu.pressure":    "some avg10=0.00 avg60=0.00 avg300=0.00 total=777\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=55\n",
			path + "/memory.pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=88\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=9\n",
		}, want: Sample{CPUUsageNanos: 1500000000, CPUPeriods: 10, CPUThrottledPeriods: 4, CPUThrottledNanos: 2500000,
			HasPSI: true, CPUPressureSomeMicros: 777, MemoryPressureSomeMicros: 88, MemoryPressureFullMicros: 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tc.files)
			fields := tc.fields
			if fields == 0 {
				fields = AllFields
			}
			r, err := OpenFields(discovery.Layout{Mode: tc.mode, Root: root}, path, fields)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			got, err := r.Read()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(Sample{}, "Time")); diff != "" {
				t.Errorf("Read (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		if _, err := Open(discovery.Layout{Mode: discovery.ModeV2, Root: t.TempDir()}, path); !errors.Is(err, ErrGone) {
			t.Errorf("Open of a missing cgroup = %v, want ErrGone", err)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		root := t.TempDir()
		writeFiles(t, root, map[string]string{"memory" + path + "/memory.usage_in_bytes": "lots\n", "memory" + path + "/memory.stat": "", "memory" + path + "/memory.oom_control": ""})
		r, err := Open(discovery.Layout{Mode: discovery.ModeV1, Root: root}, path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(); err == nil || errors.Is(err, ErrGone) {
			t.Errorf("Read of a non-numeric usage = %v, want a parse error", err)
		}
	})
}
