package backtest

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/foresight-dev/foresight/pkg/forecast"
	"github.com/foresight-dev/foresight/pkg/forecast/traces"
)

// AnomalyRow scores one detector at one threshold over every labelled file.
type AnomalyRow struct {
	Detector  string
	Threshold float64
	// Windows is the number of labelled windows; Hit those holding at least
	// one detection.
	Windows, Hit int
	// Detections is the number of detections after the probationary
	// period; InWindow those falling inside a labelled window.
	Detections, InWindow int
	Bursts, LevelShifts  int
	Days                 float64
}

// Recall is Hit/Windows.
func (r AnomalyRow) Recall() float64 { return ratio(r.Hit, r.Windows) }

// Precision is InWindow/Detections.
func (r AnomalyRow) Precision() float64 { return ratio(r.InWindow, r.Detections) }

// F1 is the harmonic mean of precision and recall.
func (r AnomalyRow) F1() float64 {
	p, q := r.Precision(), r.Recall()
	if p+q == 0 {
		return 0
	}
	return 2 * p * q / (p + q)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// AnomalyResult is the outcome of RunAnomaly.
type AnomalyResult struct {
	Files []string
	Rows  []AnomalyRow
}

// RunAnomaly scores forecast.DetectAnomalies at each threshold, and a static
// 3-sigma detector, against the labelled windows of the NAB files under dir
// (realAWSCloudwatch and realKnownCause). As in NAB, the first 15% of each
// file is a probationary period whose detections are not counted.
func RunAnomaly(dir string, thresholds []float64, progress io.Writer) (*AnomalyResult, error) {
	f, err := os.Open(filepath.Join(dir, "labels", "combined_windows.json"))
	if err != nil {
		return nil, fmt.Errorf("anomaly backtest: %w", err)
	}
	windows, err := traces.ReadNABWindows(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("anomaly backtest: %w", err)
	}
	var files []string
	for k := range windows {
		if strings.HasPrefix(k, "realAWSCloudwatch/") || strings.HasPrefix(k, "realKnownCause/") {
			if _, err := os.Stat(filepath.Join(dir, k)); err == nil {
				files = append(files, k)
			}
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("anomaly backtest: no labelled NAB file under %s", dir)
	}
	if len(thresholds) == 0 {
		thresholds = []float64{4, 6, 8, 12}
	}
	res := &AnomalyResult{Files: files}
	rows := make([]AnomalyRow, len(thresholds)+1)
	for i, th := range thresholds {
		rows[i] = AnomalyRow{Detector: "foresight robust-z", Threshold: th}
	}
	rows[len(thresholds)] = AnomalyRow{Detector: "static 3-sigma (baseline)", Threshold: 3}
	for fi, name := range files {
		r, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("anomaly backtest: %w", err)
		}
		s, _, err := traces.ReadNAB(r, traces.NABStep)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("anomaly backtest: %s: %w", name, err)
		}
		probation := s.Time(s.Len() * 15 / 100)
		ws := windows[name]
		for i := range rows {
			var as []forecast.Anomaly
			if i < len(thresholds) {
				as, _, err = forecast.DetectAnomalies(s, forecast.AnomalyOptions{Threshold: rows[i].Threshold})
				if err != nil {
					return nil, fmt.Errorf("anomaly backtest: %s: %w", name, err)
				}
			} else {
				as = staticSigma(s, 3)
			}
			score(&rows[i], as, ws, probation, s)
		}
		if progress != nil {
			fmt.Fprintf(progress, "anomaly backtest: file %d/%d %s\n", fi+1, len(files), name)
		}
	}
	res.Rows = rows
	return res, nil
}

func score(row *AnomalyRow, as []forecast.Anomaly, ws []traces.Window, probation time.Time, s forecast.Series) {
	row.Windows += len(ws)
	row.Days += s.End().Sub(probation).Hours() / 24
	hit := make([]bool, len(ws))
	for _, a := range as {
		if a.Start.Before(probation) {
			continue
		}
		row.Detections++
		if a.Kind == forecast.LevelShift {
			row.LevelShifts++
		} else {
			row.Bursts++
		}
		for i, w := range ws {
			if !a.Start.Before(w.Start) && !a.Start.After(w.End) {
				row.InWindow++
				hit[i] = true
				break
			}
		}
	}
	for _, h := range hit {
		if h {
			row.Hit++
		}
	}
}

// staticSigma flags runs of samples beyond mean ± k standard deviations of
// the probationary first 15% of the series, merging runs less than two hours
// apart as DetectAnomalies does.
func staticSigma(s forecast.Series, k float64) []forecast.Anomaly {
	n := s.Len() * 15 / 100
	var sum, sq float64
	var c int
	for _, v := range s.Values[:n] {
		if !math.IsNaN(v) {
			sum += v
			sq += v * v
			c++
		}
	}
	if c < 2 {
		return nil
	}
	mean := sum / float64(c)
	sd := math.Sqrt(math.Max(sq/float64(c)-mean*mean, 0))
	var out []forecast.Anomaly
	in := false
	for i, v := range s.Values {
		if math.IsNaN(v) {
			continue
		}
		z := math.Abs(v-mean) / math.Max(sd, 1e-9)
		if z > k {
			if n := len(out); !in && n > 0 && s.Time(i).Sub(out[n-1].End) <= 2*time.Hour {
				in = true
			}
			if !in {
				out = append(out, forecast.Anomaly{Start: s.Time(i), End: s.Time(i), Kind: forecast.Burst, Score: z})
				in = true
			} else {
				out[len(out)-1].End = s.Time(i)
			}
		} else {
			in = false
		}
	}
	return out
}

// WriteTable writes the anomaly scores as Markdown.
func (r *AnomalyResult) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "NAB files: %d (realAWSCloudwatch, realKnownCause); detections in the first 15%% of each file are not counted.\n\n", len(r.Files))
	b.WriteString("| detector | threshold | windows hit / labelled | recall | detections in windows / all | precision | F1 | false positives per day | bursts | level shifts |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "| %s | %g | %d / %d | %.3f | %d / %d | %.3f | %.3f | %.2f | %d | %d |\n",
			row.Detector, row.Threshold, row.Hit, row.Windows, row.Recall(), row.InWindow, row.Detections, row.Precision(), row.F1(),
			float64(row.Detections-row.InWindow)/math.Max(row.Days, 1e-9), row.Bursts, row.LevelShifts)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
