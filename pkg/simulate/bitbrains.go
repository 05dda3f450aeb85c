package simulate

import (
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/foresight-dev/foresight/pkg/forecast"
	"github.com/foresight-dev/foresight/pkg/forecast/traces"
)

// BitbrainsMonths are the months of the Bitbrains Rnd trace, in order.
var BitbrainsMonths = []string{"2013-7", "2013-8", "2013-9"}

// fallbackMHzPerCore is the clock of most Bitbrains Rnd hosts, used for a
// VM whose rows never report its number of cores.
const fallbackMHzPerCore = 2600

// LoadBitbrains reads the first maxVMs VMs (all when 0, in numeric id
// order) of the Bitbrains Rnd trace under dir (<month>/<id>.csv.gz) for the
// given months, and turns each VM into a workload: its requests are the
// VM's provisioned capacity (cores, memory), as users size pods today; its
// usage is CPU in millicores (MHz over the VM's MHz per core, at most its
// cores), memory, disk and network. The grid starts at the earliest sample floored to the
// step. VMs are read in parallel.
func LoadBitbrains(dir string, months []string, maxVMs int, step time.Duration) (*Trace, error) {
	if len(months) == 0 {
		months = BitbrainsMonths
	}
	ids, err := traces.BitbrainsIDs(dir, months[0])
	if err != nil {
		return nil, err
	}
	if maxVMs > 0 && len(ids) > maxVMs {
		ids = ids[:maxVMs]
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no Bitbrains VMs in %s", filepath.Join(dir, months[0]))
	}
	rows := make([][]traces.BitbrainsRow, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := range next {
				rows[i], errs[i] = readBitbrainsVM(dir, ids[i], months)
			}
		})
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()
	first := time.Time{}
	last := time.Time{}
	for i := range ids {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if len(rows[i]) == 0 {
			return nil, fmt.Errorf("bitbrains VM %s: no valid rows", ids[i])
		}
		if f := rows[i][0].Time; first.IsZero() || f.Before(first) {
			first = f
		}
		if l := rows[i][len(rows[i])-1].Time; l.After(last) {
			last = l
		}
	}
	start := first.Truncate(step)
	tr := &Trace{Start: start, Step: step, Steps: int(last.Sub(start)/step) + 1}
	for i, id := range ids {
		pt, err := bitbrainsPod(id, rows[i], start, step, tr.Steps)
		if err != nil {
			return nil, err
		}
		tr.Pods = append(tr.Pods, pt)
	}
	if err := tr.Normalize(); err != nil {
		return nil, err
	}
	return tr, nil
}

func readBitbrainsVM(dir, id string, months []string) ([]traces.BitbrainsRow, error) {
	rows, _, err := traces.ReadBitbrainsVM(dir, id, months)
	if err != nil {
		return nil, fmt.Errorf("bitbrains: %w", err)
	}
	return rows, nil
}

// bitbrainsPod turns a VM's rows into a workload on the grid.
func bitbrainsPod(id string, rows []traces.BitbrainsRow, start time.Time, step time.Duration, steps int) (PodTrace, error) {
	cores := traces.PositiveMedian(rows, func(r traces.BitbrainsRow) float64 { return r.Cores })
	capMHz := traces.PositiveMedian(rows, func(r traces.BitbrainsRow) float64 { return r.CPUCapacity })
	memKB := traces.PositiveMedian(rows, func(r traces.BitbrainsRow) float64 { return r.MemCapacity })
	if capMHz <= 0 || memKB <= 0 {
		return PodTrace{}, fmt.Errorf("bitbrains VM %s: no positive provisioned CPU or memory", id)
	}
	if cores <= 0 {
		cores = math.Ceil(capMHz / fallbackMHzPerCore)
	}
	mhzPerCore := capMHz / cores
	pt := PodTrace{
		Name:          id,
		Workload:      "vm-" + id,
		CPURequest:    int64(math.Round(cores * 1000)),
		MemoryRequest: roundUpTo(int64(memKB*1024), 1<<20),
	}
	// CPU usage above the provisioned MHz (by up to ~5% on some VMs:
	// turbo clocks) is capped: a VM cannot use more cores than it has.
	get := []func(r traces.BitbrainsRow) float64{
		func(r traces.BitbrainsRow) float64 { return math.Min(r.CPU/mhzPerCore, cores) * 1000 },
		func(r traces.BitbrainsRow) float64 { return r.Memory * 1024 },
		func(r traces.BitbrainsRow) float64 { return r.Disk * 1024 },
		func(r traces.BitbrainsRow) float64 { return r.Network * 1024 },
	}
	samples := make([]forecast.Sample, len(rows))
	for k, dst := range []*[]float64{&pt.CPU, &pt.Memory, &pt.Disk, &pt.Network} {
		for i, r := range rows {
			samples[i] = forecast.Sample{Time: r.Time, Value: get[k](r)}
		}
		s, _, err := forecast.Regularize(samples, start, step)
		if err != nil {
			return PodTrace{}, fmt.Errorf("bitbrains VM %s: %w", id, err)
		}
		*dst = padNaN(s.Values, steps)
	}
	return pt, nil
}
