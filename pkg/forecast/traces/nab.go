package traces

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/foresight-dev/foresight/pkg/forecast"
)

// NABStep is the sampling interval of the NAB AWS CloudWatch series.
const NABStep = 5 * time.Minute

const nabTime = "2006-01-02 15:04:05"

// ReadNAB parses a NAB "timestamp,value" CSV onto a grid of step starting
// at the first sample floored to step. Bad rows are skipped and counted.
func ReadNAB(r io.Reader, step time.Duration) (forecast.Series, ReadStats, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var st ReadStats
	var samples []forecast.Sample
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				st.BadRows++
				continue
			}
			return forecast.Series{}, st, fmt.Errorf("read nab: %w", err)
		}
		if len(rec) < 2 {
			st.BadRows++
			continue
		}
		t, err := time.Parse(nabTime, strings.TrimSpace(rec[0]))
		if err != nil {
			if rec[0] != "timestamp" {
				st.BadRows++
			}
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			st.BadRows++
			continue
		}
		samples = append(samples, forecast.Sample{Time: t, Value: v})
		st.Rows++
	}
	s, dropped, err := forecast.Regularize(samples, time.Time{}, step)
	st.BadRows += dropped
	if err != nil {
		return forecast.Series{}, st, fmt.Errorf("read nab: %w", err)
	}
	return s, st, nil
}

// Window is a labelled anomaly window.
type Window struct{ Start, End time.Time }

// ReadNABWindows parses labels/combined_windows.json: for each data file
// (e.g. "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv"), its windows.
func ReadNABWindows(r io.Reader) (map[string][]Window, error) {
	var raw map[string][][]string
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, fmt.Errorf("read nab windows: %w", err)
	}
	out := make(map[string][]Window, len(raw))
	for k, ws := range raw {
		for i, w := range ws {
			if len(w) != 2 {
				return nil, fmt.Errorf("read nab windows: %s window %d: %d fields", k, i, len(w))
			}
			a, err1 := time.Parse("2006-01-02 15:04:05.000000", w[0])
			b, err2 := time.Parse("2006-01-02 15:04:05.000000", w[1])
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("read nab windows: %s window %d: %w", k, i, err)
			}
			out[k] = append(out[k], Window{Start: a, End: b})
		}
	}
	return out, nil
}
