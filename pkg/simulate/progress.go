package simulate

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress draws a one-line progress bar, at most every 200 ms; a nil
// writer draws nothing.
type progress struct {
	w            io.Writer
	total, done  int
	start, drawn time.Time
	width        int
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, total: max(total, 1), start: time.Now(), width: 30}
}

// add counts n steps done, of the named policy's step-th of steps.
func (p *progress) add(n int, policy string, step, steps int) {
	p.done += n
	if p.w == nil {
		return
	}
	if now := time.Now(); now.Sub(p.drawn) >= 200*time.Millisecond || p.done == p.total {
		p.drawn = now
		p.draw(policy, step, steps)
	}
}

func (p *progress) draw(policy string, step, steps int) {
	frac := float64(p.done) / float64(p.total)
	filled := int(frac * float64(p.width))
	bar := strings.Repeat("=", filled)
	if filled < p.width {
		bar += ">" + strings.Repeat(" ", p.width-filled-1)
	}
	elapsed := time.Since(p.start)
	eta := "?"
	if frac > 0 {
		eta = (time.Duration(float64(elapsed)/frac) - elapsed).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\rsimulate [%s] %3.0f%%  %-24s step %d/%d  elapsed %s  eta %s   ",
		bar, 100*frac, policy, step, steps, elapsed.Round(time.Second), eta)
}

// finish ends the bar's line.
func (p *progress) finish() {
	if p.w != nil && p.done > 0 {
		fmt.Fprintln(p.w)
	}
}
