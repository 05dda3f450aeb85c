package simulate

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
)

// dailyTrace is one standard workload over days: CPU follows a daily sine
// (1 to 3 cores, peak at 12:00 UTC) with noise, memory is flat at 2Gi.
func dailyTrace(days int) *Trace {
	n := days * 288
	cpu, mem := make([]float64, n), make([]float64, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		phase := 2 * math.Pi * float64(i%288) / 288
		cpu[i] = 2000 - 1000*math.Cos(phase) + 50*r.NormFloat64()
		mem[i] = 2 * gi
	}
	return &Trace{
		Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Step: 5 * time.Minute, Steps: n,
		Pods: []PodTrace{{Name: "web", Workload: "web", Class: foresightv1alpha1.SLAClassStandard, CPURequest: 4000, MemoryRequest: 4 << 30, CPU: cpu, Memory: mem}},
	}
}

func TestAgentSeesOnlyThePast(t *testing.T) {
	for _, mode := range []AgentMode{AgentCurrent, AgentStatistics, AgentFull} {
		t.Run(string(mode), func(t *testing.T) {
			const at = 4 * 288
			tr := dailyTrace(6)
			a, err := newAgent(prepare(tr), mode, AgentOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := a.Status(0, at)
			// The future changes; what was published at `at` must not.
			tr2 := dailyTrace(6)
			for i := at; i < tr2.Steps; i++ {
				tr2.Pods[0].CPU[i] *= 10
				tr2.Pods[0].Memory[i] *= 3
			}
			b, err := newAgent(prepare(tr2), mode, AgentOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, b.Status(0, at)); diff != "" {
				t.Errorf("status depends on the future (-before +after):\n%s", diff)
			}
			if got := want.LastUpdated.Time; !got.Equal(tr.Time(at)) {
				t.Errorf("LastUpdated %v, want the simulated now %v", got, tr.Time(at))
			}
		})
	}
}

func TestAgentModes(t *testing.T) {
	const at = 4 * 288
	tr := dailyTrace(6)
	s := prepare(tr)
	last := tr.Pods[0].CPU[at-1]

	cur, _ := newAgent(s, AgentCurrent, AgentOptions{})
	st := cur.Status(0, at)
	u := st.Containers[0].Usage.CPU
	for _, q := range []*resource.Quantity{u.Mean, u.P50, u.P99, u.Peak} {
		if got := q.MilliValue(); got != int64(last+0.5) {
			t.Errorf("current mode: statistic %dm, want the last sample %.0fm", got, last)
		}
	}

	stats, _ := newAgent(s, AgentStatistics, AgentOptions{})
	c := stats.Status(0, at).Containers[0]
	if c.DailyShape != nil || c.Forecasts != nil {
		t.Errorf("statistics mode published shapes or forecasts")
	}
	// The peak of the last day is about 3 cores, the p99 close to it.
	if p := c.Usage.CPU.Peak.MilliValue(); p < 2900 || p > 3300 {
		t.Errorf("peak %dm, want about 3000m", p)
	}
	if p := c.Usage.CPU.P99.MilliValue(); p < 2700 || p > 3300 {
		t.Errorf("p99 %dm, want about 3000m", p)
	}

	full, _ := newAgent(s, AgentFull, AgentOptions{})
	c = full.Status(0, at).Containers[0]
	if len(c.DailyShape) != 1 || c.DailyShape[0].Resource != foresightv1alpha1.ResourceCPU {
		t.Fatalf("daily shapes %+v: want one, of CPU (memory is flat)", c.DailyShape)
	}
	f := c.DailyShape[0].FactorsPerMille
	// 15-minute slots: the noon slot is 1.5× the mean, midnight 0.5×.
	if len(f) != 96 || math.Abs(float64(f[48])-1500) > 30 || math.Abs(float64(f[0])-500) > 30 {
		t.Errorf("shape: %d slots, noon %d, midnight %d; want 96, ~1500, ~500", len(f), f[48], f[0])
	}
	if len(c.Forecasts) != 2 {
		t.Fatalf("forecasts of %d resources, want cpu and memory", len(c.Forecasts))
	}
	for _, fc := range c.Forecasts {
		if fc.Confidence != "0.99" || len(fc.Points) != 288 || !fc.Points[0].Time.Time.Equal(tr.Time(at)) {
			t.Errorf("%s forecast: confidence %s, %d points from %v; want 0.99, 288 from %v", fc.Resource, fc.Confidence, len(fc.Points), fc.Points[0].Time, tr.Time(at))
		}
	}
	// The scheduler's and the webhook's prediction reads the forecast.
	pod := PodObject(&tr.Pods[0], 0)
	pred := demand.Predict(pod, demand.Input{Profile: full.Status(0, at), Confidence: 0.99, Now: tr.Time(at), Horizon: 24 * time.Hour})
	if pred.Source != demand.SourceForecast || pred.Upper[demand.CPU] < 3000 || pred.Upper[demand.CPU] > 6000 {
		t.Errorf("prediction from %s, upper %v; want a forecast above the 3-core peak (its 99%% bound)", pred.Source, pred.Upper)
	}
	if pred.Daily == nil {
		t.Errorf("prediction has no daily shape")
	}

	// Later statuses feed the fitted forecasters the samples since.
	later := full.Status(0, at+12)
	if got := later.Containers[0].Forecasts[0].Points[0].Time.Time; !got.Equal(tr.Time(at + 12)) {
		t.Errorf("later forecast starts at %v, want %v", got, tr.Time(at+12))
	}
}

func TestAgentUnmeasured(t *testing.T) {
	tr := scenario()
	tr.Pods[2].CPU = constant(tr.Steps, 1000, 10, 20)
	tr.Pods[2].Memory = constant(tr.Steps, gi, 10, 20)
	a, _ := newAgent(prepare(tr), AgentStatistics, AgentOptions{})
	if st := a.Status(2, 10); st != nil {
		t.Errorf("a workload not measured yet has a profile: %+v", st)
	}
	if st := a.Status(2, 11); st == nil || st.Containers[0].Usage.Samples != 1 {
		t.Errorf("after one sample: %+v", st)
	}
	off, _ := newAgent(prepare(tr), AgentOff, AgentOptions{})
	if st := off.Status(0, 5); st != nil {
		t.Errorf("agent off published %+v", st)
	}
	if _, err := newAgent(prepare(tr), AgentFull, AgentOptions{ForecastModel: "crystal-ball"}); err == nil {
		t.Error("unknown forecast model accepted")
	}
}
