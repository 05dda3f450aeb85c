package forecast

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
)

// FuzzFitForecast feeds arbitrary values (NaN, infinities, negatives, huge
// numbers) through the input path: Fit, Observe and Forecast must return
// errors, never panic, and never return NaN forecasts.
func FuzzFitForecast(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	f.Add(make([]byte, 8*40), uint8(3))
	seed := make([]byte, 0, 8*60)
	for i := range 60 {
		seed = binary.LittleEndian.AppendUint64(seed, math.Float64bits(float64(i%7)))
	}
	f.Add(seed, uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		v := make([]float64, 0, len(data)/8)
		for i := 0; i+8 <= len(data) && len(v) < 600; i += 8 {
			v = append(v, math.Float64frombits(binary.LittleEndian.Uint64(data[i:])))
		}
		m := allModels[int(which)%len(allModels)].new(Options{Horizon: 12, Periods: []int{7}})
		s := Series{Start: t0, Step: time.Minute, Values: v}
		if err := m.Fit(s); err != nil {
			return
		}
		_ = m.Observe(1e300)
		_ = m.Observe(nan)
		fc, err := m.Forecast(12, 0.9)
		if err != nil {
			t.Fatalf("Forecast after a successful Fit: %v", err)
		}
		for i, p := range fc.Point {
			if math.IsNaN(p) || math.IsNaN(fc.Lower[i]) || math.IsNaN(fc.Upper[i]) {
				t.Fatalf("NaN in forecast at %d: %v [%v, %v]", i, p, fc.Lower[i], fc.Upper[i])
			}
		}
	})
}
