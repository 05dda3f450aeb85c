package simulate

import (
	"math"
	"math/rand/v2"
	"time"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// SyntheticStart is the first sample of SyntheticTrace: a Monday, midnight
// UTC.
var SyntheticStart = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

// syntheticShape is how one synthetic workload uses CPU.
type syntheticShape int

const (
	// shapeDay peaks in the afternoon on weekdays (a shop's front end or
	// an internal API), lower at weekends.
	shapeDay syntheticShape = iota
	// shapeEvening peaks in the evening every day (consumer traffic).
	shapeEvening
	// shapeFlat is steady with noise (a cache).
	shapeFlat
	// shapeNightly runs a job every night from 01:00 for 2.5 hours (ETL).
	shapeNightly
	// shapeBursty is idle with bursts at random hours (reports, training
	// jobs): nothing in the past says when the next one comes.
	shapeBursty
)

// syntheticWorkload is one workload of the synthetic trace.
type syntheticWorkload struct {
	name  string
	class foresightv1alpha1.SLAClass
	shape syntheticShape
	// cpuReq and memReq are the requests, cores and GiB, as their owners
	// sized them: for the peak and then some.
	cpuReq, memReq float64
	// base and peak CPU, cores: the level at the quietest and the busiest
	// hour of a day, or of a burst.
	base, peak float64
	// memBase GiB of memory at rest; memBusy GiB more at the peak.
	memBase, memBusy float64
	// burstsPerDay and burstHours for shapeBursty (and extra short
	// spikes for shapeDay when set).
	burstsPerDay, burstHours float64
}

// syntheticWorkloads: 16 workloads in four SLA classes, 56 cores and 140
// GiB requested in all; the aggregate peaks near 20 cores.
var syntheticWorkloads = []syntheticWorkload{
	{name: "checkout", class: foresightv1alpha1.SLAClassCritical, shape: shapeDay, cpuReq: 3, memReq: 6, base: 0.3, peak: 2.0, memBase: 2.5, memBusy: 1},
	{name: "payments", class: foresightv1alpha1.SLAClassCritical, shape: shapeDay, cpuReq: 2, memReq: 4, base: 0.2, peak: 1.3, memBase: 1.5, memBusy: 0.5},
	{name: "web-0", class: foresightv1alpha1.SLAClassStandard, shape: shapeEvening, cpuReq: 4, memReq: 8, base: 0.4, peak: 2.8, memBase: 3, memBusy: 1.5},
	{name: "web-1", class: foresightv1alpha1.SLAClassStandard, shape: shapeEvening, cpuReq: 4, memReq: 8, base: 0.4, peak: 2.6, memBase: 3, memBusy: 1.5},
	{name: "web-2", class: foresightv1alpha1.SLAClassStandard, shape: shapeEvening, cpuReq: 4, memReq: 8, base: 0.3, peak: 2.4, memBase: 3, memBusy: 1.5},
	{name: "api-0", class: foresightv1alpha1.SLAClassStandard, shape: shapeDay, cpuReq: 4, memReq: 8, base: 0.3, peak: 2.2, memBase: 2, memBusy: 1, burstsPerDay: 2, burstHours: 0.25},
	{name: "api-1", class: foresightv1alpha1.SLAClassStandard, shape: shapeDay, cpuReq: 4, memReq: 8, base: 0.3, peak: 2.0, memBase: 2, memBusy: 1, burstsPerDay: 2, burstHours: 0.25},
	{name: "search", class: foresightv1alpha1.SLAClassStandard, shape: shapeDay, cpuReq: 4, memReq: 12, base: 0.5, peak: 2.5, memBase: 7, memBusy: 1},
	{name: "cache", class: foresightv1alpha1.SLAClassStandard, shape: shapeFlat, cpuReq: 2, memReq: 16, base: 0.5, peak: 0.9, memBase: 11, memBusy: 0.5},
	{name: "etl-0", class: foresightv1alpha1.SLAClassBatch, shape: shapeNightly, cpuReq: 4, memReq: 8, base: 0.1, peak: 3.6, memBase: 1, memBusy: 5},
	{name: "etl-1", class: foresightv1alpha1.SLAClassBatch, shape: shapeNightly, cpuReq: 4, memReq: 8, base: 0.1, peak: 3.2, memBase: 1, memBusy: 4},
	{name: "reports", class: foresightv1alpha1.SLAClassBatch, shape: shapeBursty, cpuReq: 4, memReq: 8, base: 0.1, peak: 3.2, memBase: 1, memBusy: 3, burstsPerDay: 2, burstHours: 1},
	{name: "indexer", class: foresightv1alpha1.SLAClassBatch, shape: shapeBursty, cpuReq: 3, memReq: 6, base: 0.2, peak: 2.6, memBase: 1.5, memBusy: 2, burstsPerDay: 3, burstHours: 0.75},
	{name: "ml-train", class: foresightv1alpha1.SLAClassBestEffort, shape: shapeBursty, cpuReq: 6, memReq: 24, base: 0.1, peak: 5.5, memBase: 2, memBusy: 14, burstsPerDay: 0.7, burstHours: 3},
	{name: "crawler", class: foresightv1alpha1.SLAClassBestEffort, shape: shapeFlat, cpuReq: 2, memReq: 4, base: 0.6, peak: 1.4, memBase: 1, memBusy: 0.5},
	{name: "thumbnails", class: foresightv1alpha1.SLAClassBestEffort, shape: shapeEvening, cpuReq: 2, memReq: 4, base: 0.1, peak: 1.5, memBase: 0.5, memBusy: 1},
}

// SyntheticTrace returns the simulator's built-in trace: 16 workloads of
// an online shop and its back office over the given days from
// SyntheticStart, in the given step (5 minutes when not positive), the same
// every time (a fixed seed). Its workloads have daily rhythms (daytime,
// evening and nightly peaks), quieter weekends, bursts at random hours
// that no history predicts, noise, and requests sized for the peak as
// owners size them; every SLA class is present. It is what `make demo`
// replays; it is made up, not measured.
func SyntheticTrace(days int, step time.Duration) *Trace {
	if step <= 0 {
		step = 5 * time.Minute
	}
	n := max(0, int(time.Duration(days)*24*time.Hour/step))
	tr := &Trace{Start: SyntheticStart, Step: step, Steps: n}
	for k, w := range syntheticWorkloads {
		rng := rand.New(rand.NewPCG(20240101, uint64(k)))
		cpu, mem := make([]float64, n), make([]float64, n)
		burst := 0.0 // steps left in the current burst
		pBurst := w.burstsPerDay * step.Hours() / 24
		burstSteps := w.burstHours / step.Hours()
		smooth := 0.0 // slowly varying noise, AR(1)
		for i := range n {
			at := tr.Time(i)
			hour := float64(at.Hour()) + float64(at.Minute())/60
			weekend := at.Weekday() == time.Saturday || at.Weekday() == time.Sunday
			level := 0.0 // 0 quiet … 1 busiest
			switch w.shape {
			case shapeDay:
				level = bump(hour, 14, 4)
				if weekend {
					level *= 0.5
				}
			case shapeEvening:
				level = bump(hour, 20, 3)
				if weekend {
					level = math.Min(1, level*1.15)
				}
			case shapeFlat:
				// A slow drift over three days, no daily rhythm.
				level = 0.5 + 0.5*math.Sin(2*math.Pi*at.Sub(SyntheticStart).Hours()/72)
			case shapeNightly:
				if hour >= 1 && hour < 3.5 {
					level = 1
				}
			}
			if pBurst > 0 {
				if burst <= 0 && rng.Float64() < pBurst {
					burst = math.Max(1, burstSteps*(0.5+rng.Float64()))
				}
				if burst > 0 {
					burst--
					level = 1
				}
			}
			smooth = 0.9*smooth + 0.1*rng.NormFloat64()
			noise := 1 + 0.08*rng.NormFloat64() + 0.3*smooth
			c := (w.base + (w.peak-w.base)*level) * noise
			cpu[i] = 1000 * math.Min(math.Max(c, 0.01), w.cpuReq)
			m := (w.memBase + w.memBusy*level) * (1 + 0.02*rng.NormFloat64())
			mem[i] = math.Round(math.Min(math.Max(m, 0.05), w.memReq) * (1 << 30))
		}
		tr.Pods = append(tr.Pods, PodTrace{
			Name: w.name, Workload: w.name, Class: w.class,
			CPURequest: int64(w.cpuReq * 1000), MemoryRequest: int64(w.memReq * (1 << 30)),
			CPU: cpu, Memory: mem,
		})
	}
	return tr
}

// bump is 1 at hour peak of the day, falling smoothly to 0 at width hours
// from it (on either side, across midnight).
func bump(hour, peak, width float64) float64 {
	d := math.Abs(hour - peak)
	d = math.Min(d, 24-d)
	if d >= width {
		return 0
	}
	return 0.5 + 0.5*math.Cos(math.Pi*d/width)
}
