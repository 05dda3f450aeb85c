package backtest

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/foresight-dev/foresight/internal/sharedtraces"
	"github.com/foresight-dev/foresight/pkg/forecast/traces"
)

func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("reads real traces")
	}
	dir := filepath.Join(sharedtraces.Dir(t), "bitbrains-rnd")
	var progress bytes.Buffer
	res, err := Run(context.Background(), Config{Dir: dir, MaxVMs: 2, GroupSize: 2,
		Resources: []traces.Resource{traces.CPU}, OriginEvery: 48, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if res.VMs != 2 || len(res.Skipped) != 0 {
		t.Fatalf("VMs %d, skipped %v", res.VMs, res.Skipped)
	}
	models := map[string]bool{}
	for _, r := range res.Rows {
		models[r.Model] = true
		if r.Coverage < 0 || r.Coverage > 1 || math.IsNaN(r.MASE) || r.Series != 2 {
			t.Errorf("bad row %+v", r)
		}
	}
	for _, m := range []string{"auto", "ensemble", "msr", "holt-winters", "holt-damped", "decaying-histogram", "seasonal-naive", "vpa-p90", "dsp-replay"} {
		if !models[m] {
			t.Errorf("no row for %s", m)
		}
	}
	if len(res.Peaks) == 0 {
		t.Error("no joint-peak rows")
	}
	if !strings.Contains(progress.String(), "vm 2/2") {
		t.Errorf("progress = %q", progress.String())
	}
	var md, csv bytes.Buffer
	if err := res.WriteTables(&md); err != nil || !strings.Contains(md.String(), "| auto |") {
		t.Errorf("tables: %v\n%s", err, md.String())
	}
	if err := res.WriteCSV(&csv); err != nil || strings.Count(csv.String(), "\n") != len(res.Rows)+len(res.Peaks)+1 {
		t.Errorf("csv: %v", err)
	}
	files, err := res.WritePlots(t.TempDir(), 2)
	if err != nil || len(files) != 2 {
		t.Errorf("plots: %v, %v", files, err)
	}
}

func TestRunErrors(t *testing.T) {
	if _, err := Run(context.Background(), Config{Dir: filepath.Join(t.TempDir(), "none")}); err == nil {
		t.Error("missing directory: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "2013-7"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "2013-7", "1.csv.gz"), []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, Config{Dir: dir}); err == nil {
		t.Error("cancelled: no error")
	}
	res, err := Run(context.Background(), Config{Dir: dir, Split: time.Date(2013, 8, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if res.VMs != 0 || len(res.Skipped) != 1 {
		t.Errorf("corrupt file: VMs %d, skipped %v", res.VMs, res.Skipped)
	}
}
