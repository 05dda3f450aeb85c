package profile

import (
	"testing"
	"time"
)

// BenchmarkAdd is the cost of one sample at the agent's 1 s interval and
// at the simulator's 5-minute step (every sample closes a minute there).
func BenchmarkAdd(b *testing.B) {
	for _, step := range []time.Duration{time.Second, 5 * time.Minute} {
		b.Run(step.String(), func(b *testing.B) {
			p := New("c")
			at := t0
			for i := 0; b.Loop(); i++ {
				p.Add(at, [NumResources]float64{float64(i%7) + 0.5, 1 << 30, 1e6, 1e5})
				at = at.Add(step)
			}
		})
	}
}
