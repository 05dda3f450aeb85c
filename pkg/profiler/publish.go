package profiler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/forecast"
	"github.com/foresight-dev/foresight/pkg/generated/clientset/versioned"
	"github.com/foresight-dev/foresight/pkg/profiler/profile"
)

// FieldManager is the agent's field manager name.
const FieldManager = "foresight-nodeagent"

// Publisher writes a node's NodeProfile. Build its client with
// pkg/client.New, which speaks JSON.
type Publisher struct {
	Client   versioned.Interface
	NodeName string
	created  bool
}

// Publish makes sure the NodeProfile exists, then replaces its status with
// one merge patch of the status subresource.
func (p *Publisher) Publish(ctx context.Context, status foresightv1alpha1.NodeProfileStatus) error {
	c := p.Client.ForesightV1alpha1().NodeProfiles()
	if !p.created {
		_, err := c.Create(ctx, &foresightv1alpha1.NodeProfile{
			ObjectMeta: metav1.ObjectMeta{Name: p.NodeName},
			Spec:       foresightv1alpha1.NodeProfileSpec{NodeName: p.NodeName},
		}, metav1.CreateOptions{FieldManager: FieldManager})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating NodeProfile %s: %w", p.NodeName, err)
		}
		p.created = true
	}
	data, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return fmt.Errorf("encoding NodeProfile status: %w", err)
	}
	if _, err := c.Patch(ctx, p.NodeName, types.MergePatchType, data, metav1.PatchOptions{FieldManager: FieldManager}, "status"); err != nil {
		if apierrors.IsNotFound(err) {
			p.created = false // deleted behind our back: recreate next time
		}
		return fmt.Errorf("patching NodeProfile %s status: %w", p.NodeName, err)
	}
	return nil
}

// The short-term forecast published per pod (docs/nodeagent.md).
const (
	// ForecastPoints is the number of published points, each covering
	// ForecastStep: one hour. A point is the mean of the model's 5-minute
	// forecasts it covers, its bounds the widest of theirs.
	ForecastPoints = 4
	ForecastStep   = 15 * time.Minute
	// ForecastLevel is the confidence of the published interval.
	ForecastLevel = 0.95
	// ForecastHistory is the history a forecast is fitted on; a pod needs
	// ForecastMinHistory of it, with samples, to get one.
	ForecastHistory    = 2 * 7 * 24 * time.Hour
	ForecastMinHistory = 6 * time.Hour
	// DefaultForecastEvery is how often forecasts are refitted.
	DefaultForecastEvery = 15 * time.Minute
)

// forecastResources are the resources forecast and given shapes: those
// the scheduler reads (pkg/demand), to keep the NodeProfile compact.
var forecastResources = []profile.Resource{profile.CPU, profile.Memory}

var resourceNames = [profile.NumResources]foresightv1alpha1.ResourceName{
	profile.CPU: foresightv1alpha1.ResourceCPU, profile.Memory: foresightv1alpha1.ResourceMemory,
	profile.DiskIO: foresightv1alpha1.ResourceDiskIO, profile.Network: foresightv1alpha1.ResourceNetwork,
}

// Forecaster keeps the latest short-term forecast of every pod, refitted
// at its own cadence (not every sample nor every publish) by Refresh and
// read by Agent.Status. Each refit fits pkg/forecast's seasonal-naive
// model with conformal intervals on two weeks of the pod's history at
// 5-minute steps (Profile.Series: the older week from hourly means) and
// throws the model away, so that no model state stays in memory between
// refits.
type Forecaster struct {
	// Every is the refit cadence (DefaultForecastEvery when 0).
	Every time.Duration

	mu    sync.Mutex
	byPod map[string]podForecast
}

type podForecast struct {
	at  time.Time
	fcs []foresightv1alpha1.Forecast
}

// Refresh refits the forecasts of the agent's pods whose forecast is older
// than Every, and forgets those of pods gone. Sampling goes on while it
// fits: the agent's lock is held only to copy the histories. It returns
// how many pods were refitted.
func (f *Forecaster) Refresh(ctx context.Context, a *Agent, now time.Time) int {
	logger := klog.FromContext(ctx)
	every := f.Every
	if every <= 0 {
		every = DefaultForecastEvery
	}
	// Never hold f.mu and a.mu together: Status takes a.mu, then f.mu.
	f.mu.Lock()
	fitted := make(map[string]time.Time, len(f.byPod))
	for k, pf := range f.byPod {
		fitted[k] = pf.at
	}
	f.mu.Unlock()
	type job struct {
		key    string
		series []forecast.Series
	}
	var jobs []job
	live := map[string]bool{}
	a.mu.Lock()
	for key, p := range a.pods {
		live[key] = true
		if at, ok := fitted[key]; ok && now.Sub(at) < every {
			continue
		}
		j := job{key: key, series: make([]forecast.Series, len(forecastResources))}
		r := &p.Rings[profile.LongRing]
		// Up to the last finished slot: the newest one is still filling.
		// The newest week comes from the 5-minute ring, the week before
		// it from the hour ring (each hour's mean over its twelve steps):
		// the model's recent values and calibration come from the week,
		// the older one serves period detection (a weekly rhythm needs
		// two weeks).
		end := time.Unix(0, r.Head*int64(r.Resolution)).Add(-time.Nanosecond)
		for i, res := range forecastResources {
			xs, start := p.Series(end, ForecastHistory, profile.LongRing, res)
			// Slots before the pod's first sample are not gaps.
			lead := 0
			for lead < len(xs) && math.IsNaN(xs[lead]) {
				lead++
			}
			j.series[i] = forecast.Series{Start: start.Add(time.Duration(lead) * r.Resolution), Step: r.Resolution, Values: xs[lead:]}
		}
		jobs = append(jobs, j)
	}
	a.mu.Unlock()

	due := map[string]podForecast{}
	for _, j := range jobs {
		pf := podForecast{at: now}
		for i, s := range j.series {
			fc, err := fitForecast(s, forecastResources[i], now)
			if err != nil {
				logger.V(5).Info("No forecast", "pod", strings.TrimPrefix(j.key, podKeyPrefix), "resource", resourceNames[forecastResources[i]], "err", err)
				continue
			}
			pf.fcs = append(pf.fcs, fc)
		}
		due[j.key] = pf
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byPod == nil {
		f.byPod = map[string]podForecast{}
	}
	for k, v := range due {
		f.byPod[k] = v
	}
	for k := range f.byPod {
		if !live[k] {
			delete(f.byPod, k)
		}
	}
	return len(due)
}

func (f *Forecaster) get(key string) []foresightv1alpha1.Forecast {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byPod[key].fcs
}

// errShortHistory is returned for a series with too few samples.
var errShortHistory = errors.New("history too short")

// fitForecast fits the series of resource r, forecasts an hour at
// ForecastLevel and folds the model's steps into ForecastPoints points,
// bounds floored at 0.
func fitForecast(s forecast.Series, r profile.Resource, now time.Time) (foresightv1alpha1.Forecast, error) {
	if time.Duration(s.Observed())*s.Step < ForecastMinHistory {
		return foresightv1alpha1.Forecast{}, errShortHistory
	}
	per := int(ForecastStep / s.Step)
	h := ForecastPoints * per
	m := forecast.NewSeasonalNaive(forecast.Options{Level: ForecastLevel, Horizon: h})
	if err := m.Fit(s); err != nil {
		return foresightv1alpha1.Forecast{}, err
	}
	f, err := m.Forecast(h, ForecastLevel)
	if err != nil {
		return foresightv1alpha1.Forecast{}, err
	}
	out := foresightv1alpha1.Forecast{
		Resource: resourceNames[r], Model: f.Model, GeneratedAt: metav1.Time{Time: now},
		Confidence: foresightv1alpha1.Confidence(strconv.FormatFloat(ForecastLevel, 'f', -1, 64)),
		Points:     make([]foresightv1alpha1.ForecastPoint, ForecastPoints),
	}
	for i := range out.Points {
		var sum float64
		lo, hi := math.Inf(1), math.Inf(-1)
		for j := i * per; j < (i+1)*per; j++ {
			sum += f.Point[j]
			lo, hi = math.Min(lo, f.Lower[j]), math.Max(hi, f.Upper[j])
		}
		out.Points[i] = foresightv1alpha1.ForecastPoint{
			Time:  metav1.Time{Time: f.Start.Add(time.Duration(i) * ForecastStep)},
			Value: *quantity(r, max(sum/float64(per), 0)), Lower: quantity(r, max(lo, 0)), Upper: quantity(r, max(hi, 0)),
		}
	}
	return out, nil
}

// podExtras adds the detected rhythms, the bursts and the latest forecast
// of the pod profile under key to the pod's published usage.
func (a *Agent) podExtras(pu *foresightv1alpha1.PodUsage, key string) {
	p := a.pods[key]
	if p == nil {
		return
	}
	daily, weekly := p.Shapes.Detected()
	pu.DailyShape, pu.WeeklyShape = publishedShapes(daily), publishedShapes(weekly)
	for r := profile.Resource(0); r < profile.NumResources; r++ {
		b := &p.Bursts[r]
		if b.Count == 0 {
			continue
		}
		bs := foresightv1alpha1.BurstStatistics{Resource: resourceNames[r], Count: b.Count, Last: metav1.Time{Time: b.Last}, Active: b.Active}
		if size, d, ok := b.Typical(); ok {
			bs.TypicalSize = quantity(r, size)
			bs.TypicalDuration = &metav1.Duration{Duration: d}
		}
		pu.Bursts = append(pu.Bursts, bs)
	}
	pu.Forecasts = a.cfg.Forecaster.get(key)
}

// publishedShapes are the shapes of CPU and memory: daily ones with their
// 24 hourly factors, weekly ones with 7 daily factors (Monday first, each
// the mean of that day's 24 hourly factors), which with the daily shape
// describe the week in a tenth of the bytes; the agent keeps all 168.
func publishedShapes(shapes []profile.Shape) []foresightv1alpha1.SeasonalShape {
	var out []foresightv1alpha1.SeasonalShape
	for _, s := range shapes {
		if !slices.Contains(forecastResources, s.Resource) {
			continue
		}
		f, res := s.Factors, time.Hour
		if len(f) == profile.WeekHours {
			f, res = make([]int32, 7), 24*time.Hour
			for d := range f {
				var sum int64
				for _, x := range s.Factors[d*24 : (d+1)*24] {
					sum += int64(x)
				}
				f[d] = int32((sum + 12) / 24)
			}
		}
		out = append(out, foresightv1alpha1.SeasonalShape{
			Resource: resourceNames[s.Resource], Period: metav1.Duration{Duration: s.Period}, Resolution: metav1.Duration{Duration: res},
			FactorsPerMille: f, Strength: foresightv1alpha1.Confidence(strconv.FormatFloat(s.Strength, 'f', 3, 64)),
		})
	}
	return out
}
