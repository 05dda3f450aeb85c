package simulate

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/forecast"
)

// The columns of the generic CSV format (docs/simulate.md). Column names
// are case-insensitive; the order is free.
const (
	ColTimestamp     = "timestamp"      // RFC 3339, or Unix seconds (milliseconds above 1e11)
	ColPod           = "pod"            // workload name
	ColCPU           = "cpu"            // usage, cores
	ColMemory        = "memory"         // usage, bytes
	ColCPURequest    = "cpu_request"    // optional, cores
	ColMemoryRequest = "memory_request" // optional, bytes
	ColClass         = "class"          // optional SLA class
	ColDisk          = "disk"           // optional, bytes per second
	ColNetwork       = "network"        // optional, bytes per second
	ColNamespace     = "namespace"      // optional, part of the workload's identity
	ColContainer     = "container"      // optional: rows of one pod and time are summed over containers
)

var csvColumns = []string{ColTimestamp, ColPod, ColCPU, ColMemory, ColCPURequest, ColMemoryRequest, ColClass, ColDisk, ColNetwork, ColNamespace, ColContainer}

// ErrCSV is wrapped by every error about the content of a CSV trace.
var ErrCSV = errors.New("bad CSV trace")

// csvSample is one pod's usage at one time, summed over its containers.
type csvSample struct {
	line                 int
	cpu, mem, disk, net  float64
	cpuReq, memReq       float64
	hasCPUReq, hasMemReq bool
	hasDisk, hasNet      bool
	containers           map[string]bool
}

type csvPod struct {
	name      string
	class     string
	classLine int
	samples   map[int64]*csvSample
}

// ReadCSV reads a trace in the generic CSV format and puts it on a grid of
// the given step starting at the earliest timestamp (floored to the step):
// samples falling in one interval are averaged, intervals without samples
// are gaps. A workload without request columns is given its peak usage as
// requests. Errors name the line and the column.
func ReadCSV(r io.Reader, step time.Duration) (*Trace, error) {
	if step <= 0 {
		return nil, fmt.Errorf("%w: step %v is not positive", ErrCSV, step)
	}
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: empty input: want a header row with columns %s", ErrCSV, strings.Join(csvColumns[:4], ","))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCSV, err)
	}
	headerLine, _ := cr.FieldPos(0)
	col := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		known := false
		for _, c := range csvColumns {
			known = known || c == name
		}
		if !known {
			return nil, fmt.Errorf("%w: line %d: unknown column %q (known: %s)", ErrCSV, headerLine, h, strings.Join(csvColumns, ", "))
		}
		if _, dup := col[name]; dup {
			return nil, fmt.Errorf("%w: line %d: column %q appears twice", ErrCSV, headerLine, name)
		}
		col[name] = i
	}
	for _, c := range csvColumns[:4] {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("%w: line %d: missing required column %q (the header must name %s)", ErrCSV, headerLine, c, strings.Join(csvColumns[:4], ", "))
		}
	}

	pods := map[string]*csvPod{}
	var order []string
	var minT, maxT int64 = math.MaxInt64, math.MinInt64
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// csv.ParseError carries the line.
			return nil, fmt.Errorf("%w: %w", ErrCSV, err)
		}
		line, _ := cr.FieldPos(0)
		cell := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		number := func(name string, required bool) (float64, bool, error) {
			s := cell(name)
			if s == "" {
				if required {
					return 0, false, fmt.Errorf("%w: line %d: column %q is empty", ErrCSV, line, name)
				}
				return 0, false, nil
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, false, fmt.Errorf("%w: line %d: column %q: %q is not a finite number", ErrCSV, line, name, s)
			}
			if v < 0 {
				return 0, false, fmt.Errorf("%w: line %d: column %q: %q is negative", ErrCSV, line, name, s)
			}
			return v, true, nil
		}
		ts, err := parseTimestamp(cell(ColTimestamp))
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: column %q: %w", ErrCSV, line, ColTimestamp, err)
		}
		name := cell(ColPod)
		if name == "" {
			return nil, fmt.Errorf("%w: line %d: column %q is empty", ErrCSV, line, ColPod)
		}
		if ns := cell(ColNamespace); ns != "" {
			name = ns + "/" + name
		}
		s := csvSample{line: line}
		if s.cpu, _, err = number(ColCPU, true); err != nil {
			return nil, err
		}
		if s.mem, _, err = number(ColMemory, true); err != nil {
			return nil, err
		}
		if s.cpuReq, s.hasCPUReq, err = number(ColCPURequest, false); err != nil {
			return nil, err
		}
		if s.memReq, s.hasMemReq, err = number(ColMemoryRequest, false); err != nil {
			return nil, err
		}
		if s.disk, s.hasDisk, err = number(ColDisk, false); err != nil {
			return nil, err
		}
		if s.net, s.hasNet, err = number(ColNetwork, false); err != nil {
			return nil, err
		}
		p := pods[name]
		if p == nil {
			p = &csvPod{name: name, samples: map[int64]*csvSample{}}
			pods[name] = p
			order = append(order, name)
		}
		if c := cell(ColClass); c != "" {
			if _, known := annotations.Properties(foresightv1alpha1.SLAClass(c)); !known {
				return nil, fmt.Errorf("%w: line %d: column %q: unknown SLA class %q (critical, standard, batch or best-effort)", ErrCSV, line, ColClass, c)
			}
			if p.class != "" && p.class != c {
				return nil, fmt.Errorf("%w: line %d: pod %q has class %q, but %q on line %d", ErrCSV, line, name, c, p.class, p.classLine)
			}
			p.class, p.classLine = c, line
		}
		key := ts.UnixNano()
		container := cell(ColContainer)
		prev := p.samples[key]
		switch {
		case prev == nil:
			s.containers = map[string]bool{container: true}
			p.samples[key] = &s
		case container == "" || prev.containers[container]:
			return nil, fmt.Errorf("%w: line %d: pod %q already has a sample at %s (line %d); rows of one pod and time must name different containers", ErrCSV, line, name, ts.Format(time.RFC3339), prev.line)
		default:
			prev.containers[container] = true
			prev.cpu += s.cpu
			prev.mem += s.mem
			prev.disk += s.disk
			prev.net += s.net
			prev.cpuReq += s.cpuReq
			prev.memReq += s.memReq
			prev.hasCPUReq = prev.hasCPUReq || s.hasCPUReq
			prev.hasMemReq = prev.hasMemReq || s.hasMemReq
			prev.hasDisk = prev.hasDisk || s.hasDisk
			prev.hasNet = prev.hasNet || s.hasNet
		}
		minT, maxT = min(minT, key), max(maxT, key)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("%w: no data rows after the header", ErrCSV)
	}
	start := time.Unix(0, minT).UTC().Truncate(step)
	tr := &Trace{Start: start, Step: step, Steps: int(time.Unix(0, maxT).Sub(start)/step) + 1}
	for _, name := range order {
		p := pods[name]
		keys := make([]int64, 0, len(p.samples))
		for k := range p.samples {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		series := [4][]forecast.Sample{}
		var cpuReq, memReq, peakCPU, peakMem float64
		var hasCPUReq, hasMemReq, hasDisk, hasNet bool
		for _, k := range keys {
			s := p.samples[k]
			at := time.Unix(0, k).UTC()
			series[0] = append(series[0], forecast.Sample{Time: at, Value: s.cpu * 1000})
			series[1] = append(series[1], forecast.Sample{Time: at, Value: s.mem})
			series[2] = append(series[2], forecast.Sample{Time: at, Value: s.disk})
			series[3] = append(series[3], forecast.Sample{Time: at, Value: s.net})
			peakCPU, peakMem = max(peakCPU, s.cpu), max(peakMem, s.mem)
			if s.hasCPUReq {
				cpuReq, hasCPUReq = max(cpuReq, s.cpuReq), true
			}
			if s.hasMemReq {
				memReq, hasMemReq = max(memReq, s.memReq), true
			}
			hasDisk, hasNet = hasDisk || s.hasDisk, hasNet || s.hasNet
		}
		if !hasCPUReq {
			cpuReq = peakCPU
		}
		if !hasMemReq {
			memReq = peakMem
		}
		pt := PodTrace{
			Name:          name,
			Class:         foresightv1alpha1.SLAClass(p.class),
			CPURequest:    max(10, roundUpTo(int64(math.Ceil(cpuReq*1000)), 10)),
			MemoryRequest: max(1<<20, roundUpTo(int64(math.Ceil(memReq)), 1<<20)),
		}
		for i, dst := range []*[]float64{&pt.CPU, &pt.Memory, &pt.Disk, &pt.Network} {
			if (i == 2 && !hasDisk) || (i == 3 && !hasNet) {
				continue
			}
			s, _, err := forecast.Regularize(series[i], start, step)
			if err != nil {
				return nil, fmt.Errorf("%w: pod %q: %w", ErrCSV, name, err)
			}
			*dst = padNaN(s.Values, tr.Steps)
		}
		tr.Pods = append(tr.Pods, pt)
	}
	if err := tr.Normalize(); err != nil {
		return nil, err
	}
	return tr, nil
}

// parseTimestamp reads RFC 3339 or Unix seconds (milliseconds when above
// 1e11, as some exporters write them).
func parseTimestamp(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("empty timestamp")
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e15 {
			return time.Time{}, fmt.Errorf("timestamp %q is out of range", s)
		}
		if v > 1e11 {
			v /= 1000
		}
		sec, frac := math.Modf(v)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor Unix seconds", s)
	}
	return t.UTC(), nil
}

func roundUpTo(v, unit int64) int64 {
	if r := v % unit; r != 0 {
		return v + unit - r
	}
	return v
}

// padNaN returns x extended with gaps to n samples.
func padNaN(x []float64, n int) []float64 {
	if len(x) >= n {
		return x[:n]
	}
	out := make([]float64, n)
	copy(out, x)
	for i := len(x); i < n; i++ {
		out[i] = math.NaN()
	}
	return out
}

// WriteCSV writes a trace in the generic CSV format that ReadCSV reads:
// columns timestamp (RFC 3339), pod, cpu (cores, to a tenth of a
// millicore), memory (bytes),
// cpu_request, memory_request and class, one row per workload and sample,
// gaps left out.
func WriteCSV(w io.Writer, tr *Trace) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{ColTimestamp, ColPod, ColCPU, ColMemory, ColCPURequest, ColMemoryRequest, ColClass}); err != nil {
		return err
	}
	row := make([]string, 7)
	for i := range tr.Steps {
		ts := tr.Time(i).UTC().Format(time.RFC3339)
		for k := range tr.Pods {
			p := &tr.Pods[k]
			if i >= len(p.CPU) || i >= len(p.Memory) || math.IsNaN(p.CPU[i]) || math.IsNaN(p.Memory[i]) {
				continue
			}
			row[0], row[1] = ts, p.Name
			row[2] = strconv.FormatFloat(p.CPU[i]/1000, 'f', 4, 64)
			row[3] = strconv.FormatFloat(math.Round(p.Memory[i]), 'f', 0, 64)
			row[4] = strconv.FormatFloat(float64(p.CPURequest)/1000, 'f', -1, 64)
			row[5] = strconv.FormatInt(p.MemoryRequest, 10)
			row[6] = string(p.Class)
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
