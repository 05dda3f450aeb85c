package forecast

import (
	"fmt"
	"testing"
	"time"
)

// benchSeries is 5 weeks of 5-minute samples with daily and weekly rhythm.
func benchSeries(seed uint64) Series { return synth(35*288, 100, 30, 20, 8, seed) }

// BenchmarkFit measures fitting one 5-week, 5-minute series (10,080
// samples): parameter estimation, period detection and the calibration walk.
func BenchmarkFit(b *testing.B) {
	s := benchSeries(1)
	for _, m := range allModels {
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := m.new(Options{}).Fit(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkForecast measures one 24-hour forecast (288 steps) with a 95%
// interval from a fitted model.
func BenchmarkForecast(b *testing.B) {
	s := benchSeries(2)
	for _, m := range allModels {
		b.Run(m.name, func(b *testing.B) {
			mm := m.new(Options{})
			if err := mm.Fit(s); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				// A new sample invalidates the cached path, as in steady state.
				if err := mm.Observe(100); err != nil {
					b.Fatal(err)
				}
				if _, err := mm.Forecast(288, 0.95); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkObserve measures appending one sample (state update, interval
// calibration, periodic refits amortised).
func BenchmarkObserve(b *testing.B) {
	s := benchSeries(3)
	for _, m := range allModels {
		b.Run(m.name, func(b *testing.B) {
			mm := m.new(Options{})
			if err := mm.Fit(s); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := mm.Observe(s.Values[i%len(s.Values)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkThroughput fits and forecasts distinct series one after another
// on the calling goroutine (run with GOMAXPROCS=1 for one core) and reports
// the time 10,000 series take: once from scratch (fit + 24 h forecast) and
// per hour in steady state (12 new samples + one 24 h forecast each).
func BenchmarkThroughput(b *testing.B) {
	pool := make([]Series, 8)
	for i := range pool {
		pool[i] = benchSeries(uint64(10 + i))
	}
	for _, m := range allModels {
		b.Run(m.name+"/fit+forecast", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			start := time.Now()
			for b.Loop() {
				mm := m.new(Options{})
				if err := mm.Fit(pool[i%len(pool)]); err != nil {
					b.Fatal(err)
				}
				if _, err := mm.Forecast(288, 0.95); err != nil {
					b.Fatal(err)
				}
				i++
			}
			per := time.Since(start).Seconds() / float64(i)
			b.ReportMetric(per*10000, "s/10k-series")
		})
		b.Run(m.name+"/hourly-update", func(b *testing.B) {
			mm := m.new(Options{})
			if err := mm.Fit(pool[0]); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			start := time.Now()
			for b.Loop() {
				for k := 0; k < 12; k++ {
					if err := mm.Observe(pool[1].Values[(12*i+k)%len(pool[1].Values)]); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := mm.Forecast(288, 0.95); err != nil {
					b.Fatal(err)
				}
				i++
			}
			per := time.Since(start).Seconds() / float64(i)
			b.ReportMetric(per*10000, "s/10k-series")
		})
	}
}

func ExampleNewAuto() {
	// Five weeks of 5-minute CPU usage with a daily rhythm.
	s := synth(35*288, 100, 30, 0, 5, 1)
	m := NewAuto(Options{Level: 0.95})
	if err := m.Fit(s); err != nil {
		fmt.Println(err)
		return
	}
	f, err := m.Forecast(12, 0.95) // the next hour
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(f.Point), f.Lower[11] <= f.Point[11] && f.Point[11] <= f.Upper[11], f.Start.Equal(s.End()))
	// Output: 12 true true
}
