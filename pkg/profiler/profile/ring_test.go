package profile

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestEncode checks the 16-bit codes against their stated error bound
// over the whole range, and the ends of the scale.
func TestEncode(t *testing.T) {
	if MaxCodeError > 0.0004 {
		t.Fatalf("MaxCodeError = %v, want under 0.04%%", MaxCodeError)
	}
	for _, tc := range []struct {
		name string
		in   float64
		want float64
	}{
		{name: "zero", in: 0, want: 0},
		{name: "negative", in: -3, want: 0},
		{name: "NaN", in: math.NaN(), want: 0},
		{name: "below the scale", in: 1e-9, want: codeMin},
		{name: "above the scale", in: 1e18, want: decode(math.MaxUint16)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := decode(encode(tc.in)); got != tc.want {
				t.Errorf("decode(encode(%v)) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	// The top code is the end of the scale: 1e15.
	if got := decode(math.MaxUint16); !near(got, codeMax, 1e-9) {
		t.Errorf("Top code = %v, want %v", got, codeMax)
	}
	for v := 1.5e-6; v < 1e15; v *= 1.37 {
		if got := decode(encode(v)); !near(got, v, MaxCodeError) {
			t.Fatalf("decode(encode(%v)) = %v, off by more than %v", v, got, MaxCodeError)
		}
	}
}

// TestRingLateAndSlot adds a late sample to a finished slot, and whole
// slots, and checks the counts and means.
func TestRingLateAndSlot(t *testing.T) {
	r := NewRing(10*time.Second, time.Minute)
	r.Add(t0, vec(2))
	r.Add(t0.Add(10*time.Second), vec(5))
	r.Add(t0.Add(3*time.Second), vec(4)) // late, into the finished first slot
	r.AddSlot(t0.Add(20*time.Second), Slot{Mean: vec(1), Max: vec(7), Count: 3})
	got := r.Window(t0.Add(20*time.Second), time.Minute)
	want := []Slot{
		{Start: t0, Mean: vec(3), Max: vec(4), Count: 2},
		{Start: t0.Add(10 * time.Second), Mean: vec(5), Max: vec(5), Count: 1},
		{Start: t0.Add(20 * time.Second), Mean: vec(1), Max: vec(7), Count: 3},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return near(a, b, MaxCodeError) })); diff != "" {
		t.Errorf("Window (-want +got):\n%s", diff)
	}
	xs, start := r.Series(t0.Add(29*time.Second), 30*time.Second, CPU)
	if len(xs) != 3 || !start.Equal(t0) || !near(xs[1], 5, MaxCodeError) {
		t.Errorf("Series = %v from %v, want 3 values from %v", xs, start, t0)
	}
}

// TestRingMarshal round-trips a ring through its binary form and refuses
// malformed records.
func TestRingMarshal(t *testing.T) {
	r := NewRing(time.Minute, time.Hour)
	for i := range 90 {
		r.Add(t0.Add(time.Duration(i)*20*time.Second), [NumResources]float64{float64(i), 1 << 30, 5, 0})
	}
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if want := ringHeader + 60*PointSize; len(b) != want {
		t.Errorf("Encoded ring is %d bytes, want %d", len(b), want)
	}
	var got Ring
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, got, cmp.AllowUnexported(Ring{}, acc{})); diff != "" {
		t.Errorf("Round trip (-want +got):\n%s", diff)
	}
	for name, bad := range map[string][]byte{"empty": nil, "truncated": b[:len(b)-1], "version": append([]byte{9}, b[1:]...)} {
		if err := new(Ring).UnmarshalBinary(bad); err == nil {
			t.Errorf("%s record decoded without error", name)
		}
	}
}

// TestRingGrowsLazily checks that a ring's memory follows its history: a
// 5-week ring fed for a day holds the chunks that day touched, keeps them
// lazy through its binary form, and holds every slot once full.
func TestRingGrowsLazily(t *testing.T) {
	r := NewRing(5*time.Minute, LongHistory)
	if r.Bytes() != 0 {
		t.Fatalf("Empty ring takes %d bytes, want 0", r.Bytes())
	}
	start := time.Unix(0, 0).Add(1000 * 24 * time.Hour) // slot 288,000: the start of chunk 0
	at := start
	for ; at.Before(start.Add(24 * time.Hour)); at = at.Add(time.Minute) {
		r.Add(at, vec(1))
	}
	// 288 finished slots fill chunk 0; the newest one is still in the
	// accumulator.
	if got, want := r.Bytes(), ChunkSlots*PointSize; got != want {
		t.Errorf("After a day, the ring takes %d bytes, want one chunk: %d", got, want)
	}
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Ring
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if back.Bytes() != r.Bytes() || len(back.Window(at, LongHistory)) != len(r.Window(at, LongHistory)) {
		t.Errorf("Decoded ring takes %d bytes with %d slots, want %d bytes with %d", back.Bytes(), len(back.Window(at, LongHistory)), r.Bytes(), len(r.Window(at, LongHistory)))
	}
	for ; at.Before(start.Add(LongHistory + time.Hour)); at = at.Add(5 * time.Minute) {
		r.Add(at, vec(2))
	}
	if got, want := r.Bytes(), r.Slots*PointSize; got != want {
		t.Errorf("After five weeks, the ring takes %d bytes, want all %d slots: %d", got, r.Slots, want)
	}
	if got := len(r.Window(at.Add(-5*time.Minute), LongHistory)); got != r.Slots { // at is past the newest sample
		t.Errorf("After five weeks, %d slots hold samples, want %d", got, r.Slots)
	}
}
