package traces

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/foresight-dev/foresight/pkg/forecast"
)

// Resource names a resource measured in a trace.
type Resource string

// The resources of a Bitbrains VM.
const (
	CPU     Resource = "cpu"     // CPU usage, MHz
	Memory  Resource = "memory"  // memory usage, KB
	Disk    Resource = "disk"    // disk read + write throughput, KB/s
	Network Resource = "network" // network received + transmitted throughput, KB/s
)

// Resources lists the resources of a Bitbrains VM in a stable order.
var Resources = []Resource{CPU, Memory, Disk, Network}

// BitbrainsStep is the sampling interval of the Bitbrains traces.
const BitbrainsStep = 300 * time.Second

// BitbrainsRow is one parsed row of a Bitbrains file.
type BitbrainsRow struct {
	Time        time.Time
	Cores       float64
	CPUCapacity float64 // MHz
	CPU         float64 // MHz
	MemCapacity float64 // KB
	Memory      float64 // KB
	Disk        float64 // KB/s, read + write
	Network     float64 // KB/s, received + transmitted
}

// ReadStats counts what a reader kept and skipped.
type ReadStats struct {
	Rows, BadRows int
}

// ReadBitbrains parses a Bitbrains CSV (";\t"-separated, header row,
// timestamps in epoch seconds despite the header). Rows that cannot be
// parsed, have too few fields, or hold negative or non-finite usage are
// skipped and counted; only I/O errors are returned.
func ReadBitbrains(r io.Reader) ([]BitbrainsRow, ReadStats, error) {
	var rows []BitbrainsRow
	var st ReadStats
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if first {
			first = false
			if strings.HasPrefix(line, "Timestamp") {
				continue
			}
		}
		f := strings.Split(line, ";")
		if len(f) < 11 {
			st.BadRows++
			continue
		}
		var v [11]float64
		ok := true
		for i := 0; i < 11; i++ {
			x, err := strconv.ParseFloat(strings.TrimSpace(f[i]), 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				ok = false
				break
			}
			v[i] = x
		}
		if !ok || v[0] <= 0 || v[3] < 0 || v[6] < 0 || v[7] < 0 || v[8] < 0 || v[9] < 0 || v[10] < 0 {
			st.BadRows++
			continue
		}
		ts := int64(v[0])
		if ts > 1e11 { // milliseconds after all
			ts /= 1000
		}
		rows = append(rows, BitbrainsRow{
			Time: time.Unix(ts, 0).UTC(), Cores: v[1], CPUCapacity: v[2], CPU: v[3],
			MemCapacity: v[5], Memory: v[6], Disk: v[7] + v[8], Network: v[9] + v[10],
		})
		st.Rows++
	}
	if err := sc.Err(); err != nil {
		return rows, st, fmt.Errorf("read bitbrains: %w", err)
	}
	return rows, st, nil
}

// VM is the regularised trace of one Bitbrains VM.
type VM struct {
	ID     string
	Series map[Resource]forecast.Series
	// Limits are the provisioned capacities (median of the positive values):
	// CPU in MHz, memory in KB; disk and network have none.
	Limits map[Resource]float64
	Stats  ReadStats
}

// LoadBitbrainsVM reads <dir>/<month>/<id>.csv.gz for each month, in order,
// and puts every resource on one 5-minute grid starting at start (the first
// sample floored to 5 minutes if zero). Missing months are an error.
func LoadBitbrainsVM(dir, id string, months []string, start time.Time) (VM, error) {
	vm := VM{ID: id, Series: map[Resource]forecast.Series{}, Limits: map[Resource]float64{}}
	all, st, err := ReadBitbrainsVM(dir, id, months)
	vm.Stats = st
	if err != nil {
		return VM{}, err
	}
	if len(all) == 0 {
		return VM{}, fmt.Errorf("vm %s: %w", id, errNoRows)
	}
	if start.IsZero() {
		start = all[0].Time.Truncate(BitbrainsStep)
	}
	get := map[Resource]func(BitbrainsRow) float64{
		CPU:     func(r BitbrainsRow) float64 { return r.CPU },
		Memory:  func(r BitbrainsRow) float64 { return r.Memory },
		Disk:    func(r BitbrainsRow) float64 { return r.Disk },
		Network: func(r BitbrainsRow) float64 { return r.Network },
	}
	samples := make([]forecast.Sample, len(all))
	for _, res := range Resources {
		for i, r := range all {
			samples[i] = forecast.Sample{Time: r.Time, Value: get[res](r)}
		}
		s, _, err := forecast.Regularize(samples, start, BitbrainsStep)
		if err != nil {
			return VM{}, fmt.Errorf("vm %s: %s: %w", id, res, err)
		}
		vm.Series[res] = s
	}
	vm.Limits[CPU] = PositiveMedian(all, func(r BitbrainsRow) float64 { return r.CPUCapacity })
	vm.Limits[Memory] = PositiveMedian(all, func(r BitbrainsRow) float64 { return r.MemCapacity })
	return vm, nil
}

var errNoRows = errors.New("no valid rows")

// ReadBitbrainsVM reads <dir>/<month>/<id>.csv.gz for each month and
// returns the rows in time order.
func ReadBitbrainsVM(dir, id string, months []string) ([]BitbrainsRow, ReadStats, error) {
	var all []BitbrainsRow
	var stats ReadStats
	for _, m := range months {
		rows, st, err := readGzip(filepath.Join(dir, m, id+".csv.gz"))
		if err != nil {
			return nil, stats, fmt.Errorf("vm %s: %w", id, err)
		}
		stats.Rows += st.Rows
		stats.BadRows += st.BadRows
		all = append(all, rows...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	return all, stats, nil
}

// PositiveMedian is the median of the positive values of f over rows (0
// when none): provisioned capacities, which the trace repeats per row.
func PositiveMedian(rows []BitbrainsRow, f func(BitbrainsRow) float64) float64 {
	var v []float64
	for _, r := range rows {
		if x := f(r); x > 0 {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	return v[len(v)/2]
}

func readGzip(path string) ([]BitbrainsRow, ReadStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, ReadStats{}, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(f)
		if err != nil {
			return nil, ReadStats{}, fmt.Errorf("%s: %w", path, err)
		}
		defer z.Close()
		r = z
	}
	rows, st, err := ReadBitbrains(r)
	if err != nil {
		return rows, st, fmt.Errorf("%s: %w", path, err)
	}
	return rows, st, nil
}

// BitbrainsIDs lists the VM ids present in <dir>/<month>, sorted numerically.
func BitbrainsIDs(dir, month string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(dir, month))
	if err != nil {
		return nil, fmt.Errorf("list bitbrains: %w", err)
	}
	var ids []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".csv.gz"); ok {
			ids = append(ids, n)
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		a, ea := strconv.Atoi(ids[i])
		b, eb := strconv.Atoi(ids[j])
		if ea == nil && eb == nil {
			return a < b
		}
		return ids[i] < ids[j]
	})
	return ids, nil
}
