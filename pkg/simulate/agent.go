package simulate

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/forecast"
	"github.com/foresight-dev/foresight/pkg/profiler"
	"github.com/foresight-dev/foresight/pkg/profiler/profile"
)

// AgentMode is what the simulated node agent (and controller) publish in
// a workload's WorkloadProfile.
type AgentMode string

// The agent modes, from the least to the most informed.
const (
	// AgentOff publishes nothing: requests-based policies read no profile.
	AgentOff AgentMode = "off"
	// AgentCurrent publishes the last observed usage as every statistic
	// (mean, quantiles and peak): a load-aware scheduler that knows the
	// current usage only, as Trimaran and Koordinator do.
	AgentCurrent AgentMode = "current"
	// AgentStatistics publishes what the node agent publishes: mean and
	// peak over its window, quantiles from its decaying histograms.
	AgentStatistics AgentMode = "statistics"
	// AgentFull adds daily shapes where a daily rhythm is detected and
	// forecasts with conformal intervals from pkg/forecast.
	AgentFull AgentMode = "full"
)

// AgentOptions tune the simulated agent. Zero fields take the defaults.
type AgentOptions struct {
	// Window of the published mean and peak; the node agent's --window
	// default, 24 h.
	Window time.Duration
	// History is how much past the daily shape and the forecasters are
	// fitted on: 28 days (pkg/forecast's MaxHistory).
	History time.Duration
	// ForecastModel names the pkg/forecast model: seasonal-naive (the
	// default: fits in milliseconds), holt, holt-winters, msr,
	// seasonal-median, decaying-histogram or auto.
	ForecastModel string
	// ForecastHorizon is how far forecasts reach: 24 h (the API keeps at
	// most 288 points).
	ForecastHorizon time.Duration
	// UnclippedForecasts publishes forecasts as the model makes them. By
	// default every bound is clipped to the largest value the workload
	// has shown since it was first measured: at 99% and 99.9% the
	// conformal bounds of spiky series reach many times anything ever
	// seen (docs/simulate.md), beyond any node.
	UnclippedForecasts bool
}

func (o AgentOptions) withDefaults() AgentOptions {
	if o.Window <= 0 {
		o.Window = 24 * time.Hour
	}
	if o.History <= 0 {
		o.History = 28 * 24 * time.Hour
	}
	if o.ForecastModel == "" {
		o.ForecastModel = "seasonal-naive"
	}
	if o.ForecastHorizon <= 0 {
		o.ForecastHorizon = 24 * time.Hour
	}
	return o
}

// ForecastModels lists the names AgentOptions.ForecastModel accepts.
var ForecastModels = []string{"seasonal-naive", "holt", "holt-winters", "msr", "seasonal-median", "decaying-histogram", "auto"}

func newForecastModel(name string, opt forecast.Options) (forecast.Model, error) {
	switch name {
	case "seasonal-naive":
		return forecast.NewSeasonalNaive(opt), nil
	case "holt":
		return forecast.NewHolt(opt), nil
	case "holt-winters":
		return forecast.NewHoltWinters(opt), nil
	case "msr":
		return forecast.NewMSR(opt), nil
	case "seasonal-median":
		return forecast.NewSeasonalMedian(opt), nil
	case "decaying-histogram":
		return forecast.NewDecayingHistogramModel(opt), nil
	case "auto":
		return forecast.NewAuto(opt), nil
	}
	return nil, fmt.Errorf("unknown forecast model %q (known: %v)", name, ForecastModels)
}

// series is a trace prepared for the replay: gaps filled with the last
// value (a workload keeps running, and using, while it is not measured)
// and each workload's lifetime.
type series struct {
	tr                 *Trace
	cpu, mem, disk, nt [][]float64
	first, last        []int
}

func prepare(tr *Trace) *series {
	s := &series{tr: tr}
	for i := range tr.Pods {
		p := &tr.Pods[i]
		s.cpu = append(s.cpu, filled(p.CPU))
		s.mem = append(s.mem, filled(p.Memory))
		var d, n []float64
		if p.Disk != nil {
			d = filled(p.Disk)
		}
		if p.Network != nil {
			n = filled(p.Network)
		}
		s.disk, s.nt = append(s.disk, d), append(s.nt, n)
		f, l, ok := p.Lifetime()
		if !ok {
			f, l = tr.Steps, -1
		}
		s.first, s.last = append(s.first, f), append(s.last, l)
	}
	return s
}

func valueAt(x []float64, i int) float64 {
	if x == nil {
		return 0
	}
	return x[i]
}

// agent is the simulated node agent and controller: it measures every
// workload from its first sample on, as the node agent does (the same
// rolling windows and decaying histograms, pkg/profiler/profile), and
// publishes WorkloadProfiles from the past only.
type agent struct {
	s    *series
	mode AgentMode
	opt  AgentOptions
	pods []agentPod
	// forecastFailures counts fits that failed (too short a history).
	forecastFailures int
}

type agentPod struct {
	prof *profile.Profile
	fed  int
	// forecasters of CPU and memory, fitted at the first need and fed
	// the samples that followed at each later need.
	fc      [2]forecast.Model
	fcFed   int
	fcState int // 0 not fitted, 1 fitted, 2 failed
	// peak of CPU and memory over the samples before peakFed.
	peak    [2]float64
	peakFed int
	// the last status built, at step cacheStep.
	cacheStep int
	cache     *foresightv1alpha1.WorkloadProfileStatus
}

func newAgent(s *series, mode AgentMode, opt AgentOptions) (*agent, error) {
	opt = opt.withDefaults()
	if _, err := newForecastModel(opt.ForecastModel, forecast.Options{}); err != nil {
		return nil, err
	}
	a := &agent{s: s, mode: mode, opt: opt, pods: make([]agentPod, len(s.tr.Pods))}
	for i := range a.pods {
		a.pods[i].cacheStep = -1
	}
	return a, nil
}

// Status returns the status of workload i's WorkloadProfile as the agent
// publishes it at step t, from the samples before t; nil when the agent
// publishes nothing or has not measured the workload yet.
func (a *agent) Status(i, t int) *foresightv1alpha1.WorkloadProfileStatus {
	if a.mode == AgentOff || a.mode == "" {
		return nil
	}
	p := &a.pods[i]
	if p.cacheStep == t {
		return p.cache
	}
	from := a.s.first[i]
	upto := min(t, a.s.last[i]+1)
	if upto <= from {
		return nil
	}
	now := a.s.tr.Time(t)
	var st *foresightv1alpha1.WorkloadProfileStatus
	if a.mode == AgentCurrent {
		st = a.current(i, upto-1, now)
	} else {
		st = a.statistics(i, from, upto, now)
		if a.mode == AgentFull {
			c := &st.Containers[0]
			c.DailyShape = a.dailyShapes(i, max(from, upto-a.steps(a.opt.History)), upto)
			c.Forecasts = a.forecasts(i, from, upto, now)
		}
	}
	p.cacheStep, p.cache = t, st
	return st
}

// ResizeStatus is what the controller reads of workload i at step t to
// resize its running pod: Status without daily shapes (rightsizing reads
// forecasts first, and the shapes cost a period detection per call), not
// cached.
func (a *agent) ResizeStatus(i, t int) *foresightv1alpha1.WorkloadProfileStatus {
	if a.mode != AgentFull {
		return a.Status(i, t)
	}
	if p := &a.pods[i]; p.cacheStep == t {
		return p.cache
	}
	from := a.s.first[i]
	upto := min(t, a.s.last[i]+1)
	if upto <= from {
		return nil
	}
	now := a.s.tr.Time(t)
	st := a.statistics(i, from, upto, now)
	st.Containers[0].Forecasts = a.forecasts(i, from, upto, now)
	return st
}

func (a *agent) steps(d time.Duration) int { return int(d / a.s.tr.Step) }

// current is the last sample as every statistic.
func (a *agent) current(i, s int, now time.Time) *foresightv1alpha1.WorkloadProfileStatus {
	v := [profile.NumResources]float64{a.s.cpu[i][s] / 1000, a.s.mem[i][s], valueAt(a.s.disk[i], s), valueAt(a.s.nt[i], s)}
	var sum [profile.NumResources]profile.Stats
	for r := range sum {
		x := v[r]
		sum[r] = profile.Stats{Current: x, Mean: x, Peak: x, P50: x, P90: x, P95: x, P99: x}
	}
	return profileStatus(profiler.UsageStatistics(sum, a.s.tr.Step, 1), now)
}

// statistics feeds the node agent's profile up to step upto and returns
// its summary.
func (a *agent) statistics(i, from, upto int, now time.Time) *foresightv1alpha1.WorkloadProfileStatus {
	p := &a.pods[i]
	if p.prof == nil {
		p.prof = profile.New(a.s.tr.Pods[i].Workload)
		p.fed = from
	}
	for s := p.fed; s < upto; s++ {
		p.prof.Add(a.s.tr.Time(s), [profile.NumResources]float64{a.s.cpu[i][s] / 1000, a.s.mem[i][s], valueAt(a.s.disk[i], s), valueAt(a.s.nt[i], s)})
	}
	p.fed = max(p.fed, upto)
	return profileStatus(profiler.UsageStatistics(p.prof.Summary(now, a.opt.Window), a.opt.Window, p.prof.Samples), now)
}

func profileStatus(u foresightv1alpha1.UsageStatistics, now time.Time) *foresightv1alpha1.WorkloadProfileStatus {
	return &foresightv1alpha1.WorkloadProfileStatus{
		LastUpdated:  &metav1.Time{Time: now},
		ObservedPods: 1,
		Containers:   []foresightv1alpha1.ContainerProfile{{Name: containerName, Usage: u}},
	}
}

// dailyShapes returns the daily shape of CPU and memory over samples
// [from, upto), for each resource whose series pkg/forecast's period
// detection finds a daily rhythm in: the mean of each slot of the day (15
// minutes, or the step if longer) over the mean, and the share of the
// variance the shape explains as its strength.
func (a *agent) dailyShapes(i, from, upto int) []foresightv1alpha1.SeasonalShape {
	tr := a.s.tr
	day := 24 * time.Hour
	res := max(15*time.Minute, tr.Step)
	if day%res != 0 || upto-from < 2*a.steps(day) {
		return nil
	}
	slots := int(day / res)
	var out []foresightv1alpha1.SeasonalShape
	for k, x := range [][]float64{a.s.cpu[i][from:upto], a.s.mem[i][from:upto]} {
		periods, err := forecast.DetectPeriods(forecast.Series{Start: tr.Time(from), Step: tr.Step, Values: x}, forecast.PeriodOptions{})
		if err != nil || !slices.Contains(periods, a.steps(day)) {
			continue
		}
		sum, cnt := make([]float64, slots), make([]float64, slots)
		var total float64
		for j, v := range x {
			at := tr.Time(from + j).UTC()
			slot := int(at.Sub(at.Truncate(day)) / res)
			sum[slot] += v
			cnt[slot]++
			total += v
		}
		mean := total / float64(len(x))
		if mean <= 0 {
			continue
		}
		var ssTot, ssRes float64
		for j, v := range x {
			at := tr.Time(from + j).UTC()
			slot := int(at.Sub(at.Truncate(day)) / res)
			ssTot += (v - mean) * (v - mean)
			d := v - sum[slot]/cnt[slot]
			ssRes += d * d
		}
		factors := make([]int32, slots)
		for s := range factors {
			if cnt[s] > 0 {
				factors[s] = int32(math.Round(sum[s] / cnt[s] / mean * 1000))
			} else {
				factors[s] = 1000
			}
		}
		strength := 0.0
		if ssTot > 0 {
			strength = math.Min(math.Max(1-ssRes/ssTot, 0), 0.999999)
		}
		name := foresightv1alpha1.ResourceCPU
		if k == 1 {
			name = foresightv1alpha1.ResourceMemory
		}
		out = append(out, foresightv1alpha1.SeasonalShape{
			Resource: name, Period: metav1.Duration{Duration: day}, Resolution: metav1.Duration{Duration: res},
			FactorsPerMille: factors, Strength: foresightv1alpha1.Confidence(strconv.FormatFloat(strength, 'f', 6, 64)),
		})
	}
	return out
}

// classConfidence is the confidence forecasts are published at for a
// workload: its SLA class's, so that the scheduler and rightsizing use them.
func classConfidence(class foresightv1alpha1.SLAClass) float64 {
	p, _ := annotations.Properties(class)
	return p.Confidence
}

// forecasts fits the workload's forecasters at their first use on the
// history before upto (at most AgentOptions.History) and at later uses
// feeds them the samples since, then forecasts ForecastHorizon ahead at the
// confidence of the workload's class. A workload whose fit fails (too short
// a history) gets no forecast.
func (a *agent) forecasts(i, from, upto int, now time.Time) []foresightv1alpha1.Forecast {
	p := &a.pods[i]
	tr := a.s.tr
	conf := classConfidence(tr.Pods[i].Class)
	h := min(288, a.steps(a.opt.ForecastHorizon))
	if h < 1 {
		return nil
	}
	xs := [2][]float64{a.s.cpu[i], a.s.mem[i]}
	switch p.fcState {
	case 0:
		lo := max(from, upto-a.steps(a.opt.History))
		for k := range p.fc {
			m, err := newForecastModel(a.opt.ForecastModel, forecast.Options{Level: conf, Horizon: h})
			if err == nil {
				err = m.Fit(forecast.Series{Start: tr.Time(lo), Step: tr.Step, Values: xs[k][lo:upto]})
			}
			if err != nil {
				p.fcState = 2
				a.forecastFailures++
				return nil
			}
			p.fc[k] = m
		}
		p.fcState, p.fcFed = 1, upto
	case 2:
		return nil
	}
	if p.peakFed < from {
		p.peakFed = from
	}
	for s := p.peakFed; s < upto; s++ {
		p.peak[0], p.peak[1] = math.Max(p.peak[0], xs[0][s]), math.Max(p.peak[1], xs[1][s])
	}
	p.peakFed = max(p.peakFed, upto)
	out := make([]foresightv1alpha1.Forecast, 0, 2)
	for k, m := range p.fc {
		for s := p.fcFed; s < upto; s++ {
			if err := m.Observe(xs[k][s]); err != nil {
				p.fcState = 2
				a.forecastFailures++
				return nil
			}
		}
		f, err := m.Forecast(h, conf)
		if err != nil {
			p.fcState = 2
			a.forecastFailures++
			return nil
		}
		fc := foresightv1alpha1.Forecast{
			Resource: foresightv1alpha1.ResourceCPU, Model: m.Name(), GeneratedAt: metav1.Time{Time: now},
			Confidence: foresightv1alpha1.Confidence(strconv.FormatFloat(conf, 'f', -1, 64)),
			Points:     make([]foresightv1alpha1.ForecastPoint, h),
		}
		ceiling := math.Inf(1)
		if !a.opt.UnclippedForecasts {
			ceiling = p.peak[k]
		}
		q := func(v float64) *resource.Quantity {
			v = math.Min(math.Max(v, 0), ceiling)
			return resource.NewMilliQuantity(int64(math.Ceil(v)), resource.DecimalSI)
		}
		if k == 1 {
			fc.Resource = foresightv1alpha1.ResourceMemory
			q = func(v float64) *resource.Quantity {
				return resource.NewQuantity(int64(math.Ceil(math.Min(math.Max(v, 0), ceiling))), resource.BinarySI)
			}
		}
		for j := range h {
			fc.Points[j] = foresightv1alpha1.ForecastPoint{Time: metav1.Time{Time: f.Start.Add(time.Duration(j) * f.Step)}, Value: *q(f.Point[j]), Lower: q(f.Lower[j]), Upper: q(f.Upper[j])}
		}
		out = append(out, fc)
	}
	p.fcFed = upto
	return out
}
