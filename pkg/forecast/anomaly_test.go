package forecast

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDetectAnomalies(t *testing.T) {
	base := func() []float64 {
		v := make([]float64, 3*288)
		for i := range v {
			v[i] = 10 + float64(i%5) // MAD 1 around median 12 (values 10..14)
		}
		return v
	}
	burst := base()
	burst[400], burst[401] = 60, 70
	shift := base()
	for i := 500; i < len(shift); i++ {
		shift[i] += 50
	}
	gaps := base()
	for i := 100; i < 200; i++ {
		gaps[i] = nan
	}
	type got struct {
		Kinds []AnomalyKind
		Start []int
	}
	tests := []struct {
		name string
		v    []float64
		want got
	}{
		{"no anomaly", base(), got{}},
		{"gaps are not anomalies", gaps, got{}},
		{"burst", burst, got{[]AnomalyKind{Burst}, []int{400}}},
		{"level shift, then the new level is normal", shift, got{[]AnomalyKind{LevelShift}, []int{500}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Series{Start: t0, Step: 5 * time.Minute, Values: tc.v}
			as, scores, err := DetectAnomalies(s, AnomalyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var g got
			for _, a := range as {
				g.Kinds = append(g.Kinds, a.Kind)
				g.Start = append(g.Start, s.Index(a.Start))
			}
			if diff := cmp.Diff(tc.want, g); diff != "" {
				t.Errorf("anomalies (-want +got):\n%s", diff)
			}
			if len(scores) != len(tc.v) {
				t.Errorf("%d scores for %d samples", len(scores), len(tc.v))
			}
		})
	}
	// The burst's score, by hand: median 12, MAD 1 (|10-12|..|14-12| = 2,1,0,1,2),
	// so z = (70-12)/1.4826.
	s := Series{Start: t0, Step: 5 * time.Minute, Values: burst}
	as, scores, _ := DetectAnomalies(s, AnomalyOptions{})
	if want := 58 / 1.4826; len(as) != 1 || !near(as[0].Score, want, 1e-9) || !near(scores[401], want, 1e-9) {
		t.Errorf("burst score = %v, want %v", as, want)
	}
	if !as[0].End.Equal(s.Time(401)) {
		t.Errorf("burst end = %v, want sample 401", as[0].End)
	}
	if _, _, err := DetectAnomalies(Series{Start: t0, Step: time.Minute, Values: []float64{-1}}, AnomalyOptions{}); !errors.Is(err, ErrNegative) {
		t.Errorf("negative: err = %v", err)
	}
	if _, _, err := DetectAnomalies(Series{Start: t0, Step: time.Minute, Values: []float64{1}}, AnomalyOptions{Threshold: math.Inf(1)}); !errors.Is(err, ErrBadArgument) {
		t.Errorf("infinite threshold: err = %v", err)
	}
	if Burst.String() != "burst" || LevelShift.String() != "level-shift" {
		t.Error("kind names")
	}
}
