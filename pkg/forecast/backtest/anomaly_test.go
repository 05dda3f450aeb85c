package backtest

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/foresight-dev/foresight/pkg/forecast"
	"github.com/foresight-dev/foresight/pkg/forecast/traces"
)

func TestRunAnomalyFixture(t *testing.T) {
	res, err := RunAnomaly(filepath.Join("..", "testdata", "nab"), []float64{6}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || len(res.Rows) != 2 {
		t.Fatalf("files %v, rows %d", res.Files, len(res.Rows))
	}
	for _, r := range res.Rows {
		if r.Windows != 2 || r.Hit > r.Windows || r.InWindow > r.Detections {
			t.Errorf("bad row %+v", r)
		}
	}
	var b bytes.Buffer
	if err := res.WriteTable(&b); err != nil || !strings.Contains(b.String(), "robust-z") {
		t.Errorf("table: %v", err)
	}
	if _, err := RunAnomaly(t.TempDir(), nil, nil); err == nil {
		t.Error("no labels: no error")
	}
}

func TestScore(t *testing.T) {
	t0 := time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)
	s := forecast.Series{Start: t0, Step: time.Hour, Values: make([]float64, 100)}
	ws := []traces.Window{{Start: t0.Add(50 * time.Hour), End: t0.Add(60 * time.Hour)}, {Start: t0.Add(80 * time.Hour), End: t0.Add(90 * time.Hour)}}
	as := []forecast.Anomaly{
		{Start: t0.Add(5 * time.Hour), Kind: forecast.Burst},       // probation: ignored
		{Start: t0.Add(55 * time.Hour), Kind: forecast.LevelShift}, // hit
		{Start: t0.Add(58 * time.Hour), Kind: forecast.Burst},      // same window
		{Start: t0.Add(70 * time.Hour), Kind: forecast.Burst},      // false positive
	}
	var row AnomalyRow
	score(&row, as, ws, t0.Add(15*time.Hour), s)
	want := AnomalyRow{Windows: 2, Hit: 1, Detections: 3, InWindow: 2, Bursts: 2, LevelShifts: 1, Days: 85.0 / 24}
	if row != want {
		t.Errorf("score = %+v, want %+v", row, want)
	}
	if row.Recall() != 0.5 || row.Precision() != 2.0/3 {
		t.Errorf("recall %v precision %v", row.Recall(), row.Precision())
	}
}
