package traces

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/foresight-dev/foresight/internal/sharedtraces"
)

func TestReadBitbrains(t *testing.T) {
	in := "Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\tCPU usage [%];\tMemory capacity provisioned [KB];\tMemory usage [KB];\tDisk read throughput [KB/s];\tDisk write throughput [KB/s];\tNetwork received throughput [KB/s];\tNetwork transmitted throughput [KB/s]\n" +
		"1372629804;\t2;\t5851.9989;\t87.7;\t1.5;\t8218624.0;\t1034592.8;\t160.5;\t21.5;\t0.25;\t1.5\n" +
		"garbage line\n" +
		"1372630104;\t2;\t5851.9989;\tNaN;\t0.5;\t8218624.0;\t4585.4;\t0.0;\t2.0;\t0.2;\t1.0\n" + // NaN usage
		"1372630404;\t2;\t5851.9989;\t-1;\t0.5;\t8218624.0;\t4585.4;\t0.0;\t2.0;\t0.2;\t1.0\n" + // negative
		"1372630404;\t0;\t0;\t27.3;\t0.4;\t8218624.0;\t184548.0;\t32.0;\t4.0;\t0.125;\t1.0\n" + // 0 cores: kept
		"1372630704;\t2;\t5851.9989\n" + // short
		"\n"
	rows, st, err := ReadBitbrains(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []BitbrainsRow{
		{Time: time.Unix(1372629804, 0).UTC(), Cores: 2, CPUCapacity: 5851.9989, CPU: 87.7, MemCapacity: 8218624, Memory: 1034592.8, Disk: 182, Network: 1.75},
		{Time: time.Unix(1372630404, 0).UTC(), Cores: 0, CPUCapacity: 0, CPU: 27.3, MemCapacity: 8218624, Memory: 184548, Disk: 36, Network: 1.125},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ReadStats{Rows: 2, BadRows: 4}, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestReadNAB(t *testing.T) {
	in := "timestamp,value\n2014-02-14 14:30:00,1.5\n2014-02-14 14:35:00,oops\nbad\n2014-02-14 14:45:00,2.5\n2014-02-14 14:47:00,3.5\n"
	s, st, err := ReadNAB(strings.NewReader(in), NABStep)
	if err != nil {
		t.Fatal(err)
	}
	// 14:30 -> 1.5, 14:35 gap, 14:40 gap, 14:45 and 14:47 share a cell: 3.
	if diff := cmp.Diff([]float64{1.5, math.NaN(), math.NaN(), 3}, s.Values, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	if st.Rows != 3 || st.BadRows != 2 {
		t.Errorf("stats = %+v, want 3 rows, 2 bad", st)
	}
}

func TestReadNABFixture(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "testdata", "nab", "realAWSCloudwatch", "ec2_cpu_utilization_24ae8d.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, st, err := ReadNAB(f, NABStep)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != 4032 || st.BadRows != 0 || s.Len() < 4032 {
		t.Errorf("rows %d bad %d len %d", st.Rows, st.BadRows, s.Len())
	}
	w, err := os.Open(filepath.Join("..", "testdata", "nab", "labels", "combined_windows.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	windows, err := ReadNABWindows(w)
	if err != nil {
		t.Fatal(err)
	}
	got := windows["realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv"]
	if len(got) != 2 || !got[0].End.After(got[0].Start) {
		t.Errorf("windows = %v, want 2", got)
	}
	if _, err := ReadNABWindows(strings.NewReader(`{"a.csv": [["x"]]}`)); err == nil {
		t.Error("malformed window: no error")
	}
}

func TestLoadBitbrainsVM(t *testing.T) {
	dir := filepath.Join(sharedtraces.Dir(t), "bitbrains-rnd")
	vm, err := LoadBitbrainsVM(dir, "1", []string{"2013-7", "2013-8", "2013-9"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	cpu := vm.Series[CPU]
	if cpu.Step != BitbrainsStep || cpu.Len() < 80*288 || cpu.Observed() < 70*288 {
		t.Errorf("cpu: step %v, %d samples, %d observed", cpu.Step, cpu.Len(), cpu.Observed())
	}
	if err := cpu.Validate(); err != nil {
		t.Error(err)
	}
	if vm.Limits[CPU] <= 0 || vm.Limits[Memory] <= 0 {
		t.Errorf("limits = %v", vm.Limits)
	}
	ids, err := BitbrainsIDs(dir, "2013-7")
	if err != nil || len(ids) != 100 || ids[0] != "1" || ids[99] != "100" {
		t.Errorf("ids: %d, %v", len(ids), err)
	}
	if _, err := LoadBitbrainsVM(dir, "no-such-vm", []string{"2013-7"}, time.Time{}); err == nil {
		t.Error("missing VM: no error")
	}
}
