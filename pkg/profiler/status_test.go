package profiler

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2/ktesting"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/forecast"
	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
	"github.com/foresight-dev/foresight/pkg/profiler/profile"
)

// monday is a Monday, 00:00 UTC.
var monday = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// weekdayOffice is 1.5 from 9:00 to 18:00 UTC on weekdays, 1 otherwise.
func weekdayOffice(at time.Time) float64 {
	if h, wd := at.Hour(), at.Weekday(); h >= 9 && h < 18 && wd != time.Saturday && wd != time.Sunday {
		return 1.5
	}
	return 1
}

// rhythmicProfile is three weeks of a weekday office-hours rhythm in CPU
// and memory, sampled every 5 minutes, with a CPU and memory burst in the
// last hours; it ends on Monday 15:00 of the fourth week.
func rhythmicProfile(key string) (*profile.Profile, time.Time) {
	p := profile.New(key)
	end := monday.Add(3*7*24*time.Hour + 15*time.Hour)
	for at := monday; at.Before(end); at = at.Add(5 * time.Minute) {
		f := weekdayOffice(at)
		if end.Sub(at) <= 3*time.Hour && end.Sub(at) > 170*time.Minute {
			f *= 3
		}
		// A sample every minute in the last 4 hours: bursts are scored on
		// minutes with an hour of baseline.
		for m := time.Duration(0); m < 5*time.Minute && end.Sub(at) <= 4*time.Hour; m += time.Minute {
			p.Add(at.Add(m), [profile.NumResources]float64{f * 2, f * (1 << 30), 1e6, 2e6})
		}
		if end.Sub(at) > 4*time.Hour {
			p.Add(at, [profile.NumResources]float64{f * 2, f * (1 << 30), 1e6, 2e6})
		}
	}
	return p, end
}

// TestStatusSize builds the NodeProfile of 250 pods with one container
// each, per-container detail, and everything a pod can carry: daily and
// weekly shapes of CPU and memory, bursts and forecasts. Serialised as the
// API server stores it (JSON), it must stay well under the 1.5 MiB object
// limit.
func TestStatusSize(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	fc := &Forecaster{}
	a, err := New(Config{NodeName: "n", Layout: discovery.Layout{Mode: discovery.ModeV2}, PublishContainers: true, Forecaster: fc})
	if err != nil {
		t.Fatal(err)
	}
	// One full profile shared by every pod: Status only reads it.
	pp, now := rhythmicProfile("shared")
	for i := 0; i < 250; i++ {
		uid := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		id := fmt.Sprintf("%064x", i)
		c := discovery.Container{PodUID: uid, ID: id, Path: "/x/" + id}
		a.ctrs[c.Key()] = &tracked{c: c, prof: pp}
		a.pods[podKeyPrefix+uid] = pp
	}
	if n := fc.Refresh(ctx, a, now); n != 250 {
		t.Fatalf("Refreshed %d pods, want 250", n)
	}
	np := foresightv1alpha1.NodeProfile{
		ObjectMeta: metav1.ObjectMeta{Name: "node-with-a-long-name-0123456789.example.com", ResourceVersion: "123456789"},
		Spec:       foresightv1alpha1.NodeProfileSpec{NodeName: "node-with-a-long-name-0123456789.example.com"},
		Status:     a.Status(now, "v1.2.3"),
	}
	b, err := json.Marshal(np)
	if err != nil {
		t.Fatal(err)
	}
	p0 := np.Status.Pods[0]
	if testing.Verbose() {
		one, _ := json.Marshal(p0)
		t.Logf("One pod: %s", one)
	}
	t.Logf("NodeProfile of 250 pods with container detail, shapes, bursts and forecasts: %d bytes (%.0f per pod)", len(b), float64(len(b))/250)
	if len(b) > 1<<20 {
		t.Errorf("NodeProfile is %d bytes, want under 1 MiB", len(b))
	}
	if len(np.Status.Pods) != 250 || len(p0.Containers) != 1 || len(p0.DailyShape) != 2 || len(p0.WeeklyShape) != 2 ||
		len(p0.Bursts) != 2 || len(p0.Forecasts) != 2 {
		t.Errorf("Not the worst case: %d pods, first has %d containers, %d daily and %d weekly shapes, %d bursts, %d forecasts",
			len(np.Status.Pods), len(p0.Containers), len(p0.DailyShape), len(p0.WeeklyShape), len(p0.Bursts), len(p0.Forecasts))
	}
}

// TestPodExtras checks what a rhythmic pod publishes against the
// rhythm: its weekly factors (1.5 on weekday office hours, 1 otherwise),
// its burst (three times the level for 10 minutes) and a forecast for the
// hour from the last finished 5 minutes (Monday 14:55) in 15-minute
// points, all in office hours: 3 cores.
func TestPodExtras(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	fc := &Forecaster{Every: time.Hour}
	a, err := New(Config{Layout: discovery.Layout{Mode: discovery.ModeV2}, Forecaster: fc})
	if err != nil {
		t.Fatal(err)
	}
	p, now := rhythmicProfile(podKeyPrefix + "u1")
	a.pods[p.Key] = p
	if n := fc.Refresh(ctx, a, now); n != 1 {
		t.Fatalf("First refresh fitted %d pods, want 1", n)
	}
	if n := fc.Refresh(ctx, a, now.Add(59*time.Minute)); n != 0 {
		t.Errorf("Refresh within the cadence fitted %d pods, want 0", n)
	}
	var pu foresightv1alpha1.PodUsage
	a.podExtras(&pu, p.Key)

	var weekly []int32
	if len(pu.WeeklyShape) > 0 {
		weekly = pu.WeeklyShape[0].FactorsPerMille
	}
	// Hour-of-week slot means: the rhythm, except Monday 12:00, which held
	// the burst (3× for 10 of its 60 minutes: 1.5·(1 + 2/6) = 2) in the
	// last of its four weeks, each weighing 1/4. Published per day: the
	// mean of the day's 24 hourly factors.
	means := make([]float64, profile.WeekHours)
	var sum float64
	for h := range means {
		means[h] = weekdayOffice(monday.Add(time.Duration(h) * time.Hour))
		if h == 12 {
			means[h] = (3*1.5 + 2) / 4
		}
		sum += means[h]
	}
	want := make([]int32, 7)
	for d := range want {
		var f int64
		for h := d * 24; h < (d+1)*24; h++ {
			f += int64(math.Round(means[h] / (sum / profile.WeekHours) * 1000))
		}
		want[d] = int32((f + 12) / 24)
	}
	if diff := cmp.Diff(want, weekly); diff != "" {
		t.Errorf("Weekly CPU factors (-want +got):\n%s", diff)
	}
	if len(pu.DailyShape) != 2 || len(pu.DailyShape[0].FactorsPerMille) != 24 || pu.DailyShape[0].FactorsPerMille[10] <= 1000 {
		t.Errorf("Daily shapes = %+v, want CPU and memory, higher in office hours", pu.DailyShape)
	}
	if len(pu.Bursts) != 2 || pu.Bursts[0].Resource != foresightv1alpha1.ResourceCPU || pu.Bursts[0].Count != 1 ||
		pu.Bursts[0].TypicalDuration == nil || pu.Bursts[0].TypicalDuration.Duration != 10*time.Minute ||
		pu.Bursts[0].TypicalSize.MilliValue() != 6000 {
		t.Errorf("Bursts = %+v, want one CPU burst of 10 minutes, 6 cores over the baseline (and one of memory)", pu.Bursts)
	}
	if len(pu.Forecasts) != 2 {
		t.Fatalf("Forecasts = %+v, want CPU and memory", pu.Forecasts)
	}
	f := pu.Forecasts[0]
	if from := now.Add(-5 * time.Minute); f.Resource != foresightv1alpha1.ResourceCPU || len(f.Points) != ForecastPoints || !f.Points[0].Time.Time.Equal(from) {
		t.Fatalf("CPU forecast %s with %d points from %v, want %d from %v", f.Resource, len(f.Points), f.Points[0].Time, ForecastPoints, from)
	}
	for _, pt := range f.Points {
		if v := pt.Value.MilliValue(); v < 2990 || v > 3010 {
			t.Errorf("CPU forecast at %v = %dm, want 3000m", pt.Time, v)
		}
		if pt.Lower.Cmp(pt.Value) > 0 || pt.Upper.Cmp(pt.Value) < 0 {
			t.Errorf("Interval [%v, %v] does not hold %v", pt.Lower, pt.Upper, pt.Value)
		}
	}
	// The pod goes away: its forecast is forgotten.
	delete(a.pods, p.Key)
	fc.Refresh(ctx, a, now.Add(2*time.Hour))
	if got := fc.get(p.Key); got != nil {
		t.Errorf("Forecast of a gone pod kept: %v", got)
	}
}

// TestForecastHistoryKeepsTheWeek checks the two weeks the forecaster fits
// on, a week at 5 minutes and the week before it from hourly means: the
// weekday rhythm of rhythmicProfile is still found weekly (2,016 steps)
// by pkg/forecast's period detection, as in the rhythm sampled at 5 minutes.
func TestForecastHistoryKeepsTheWeek(t *testing.T) {
	p, now := rhythmicProfile(podKeyPrefix + "u1")
	end := now.Add(-5*time.Minute - time.Nanosecond) // the last finished slot
	xs, start := p.Series(end, ForecastHistory, profile.LongRing, profile.CPU)
	ref := make([]float64, len(xs))
	for i := range ref {
		ref[i] = 2 * weekdayOffice(start.Add(time.Duration(i)*5*time.Minute))
	}
	const week = 2016
	for name, x := range map[string][]float64{"agent": xs, "reference": ref} {
		periods, err := forecast.DetectPeriods(forecast.Series{Start: start, Step: 5 * time.Minute, Values: x}, forecast.PeriodOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(x) != 2*week || !slices.Contains(periods, week) {
			t.Errorf("%s: periods %v in %d steps, want the week (%d) in %d", name, periods, len(x), week, 2*week)
		}
	}
}
