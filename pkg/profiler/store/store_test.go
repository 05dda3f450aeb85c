package store

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/foresight-dev/foresight/pkg/profiler/profile"
)

var t0 = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

func fill(p *profile.Profile, from, n int) {
	for i := from; i < from+n; i++ {
		p.Add(t0.Add(time.Duration(i)*time.Second), [profile.NumResources]float64{float64(i % 7), float64(1 << 20 * (i % 5)), 4096, 8192})
	}
}

// TestReopenContinues writes profiles, closes the store, reopens it,
// continues the history and checks it equals one written without a
// restart.
func TestReopenContinues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "profiles.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := profile.New("pod-a/c1"), profile.New("pod-b/c1")
	fill(a, 0, 300)
	fill(b, 0, 10)
	if err := s.Save(a, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	got, err := s.LoadAll()
	if err != nil {
		t.Fatal(err)
	}
	opts := cmpopts.EquateEmpty()
	if diff := cmp.Diff(a, got["pod-a/c1"], opts); diff != "" {
		t.Fatalf("Reloaded profile (-want +got):\n%s", diff)
	}
	// Continue after the restart, and compare with an uninterrupted run.
	fill(got["pod-a/c1"], 300, 300)
	ref := profile.New("pod-a/c1")
	fill(ref, 0, 600)
	if diff := cmp.Diff(ref, got["pod-a/c1"], opts); diff != "" {
		t.Errorf("Continued profile (-want +got):\n%s", diff)
	}
	if got["pod-a/c1"].Samples != 600 {
		t.Errorf("Samples = %d, want 600", got["pod-a/c1"].Samples)
	}

	if err := s.Delete("pod-b/c1"); err != nil {
		t.Fatal(err)
	}
	keys, err := s.Keys()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"pod-a/c1"}, keys); diff != "" {
		t.Errorf("Keys after delete (-want +got):\n%s", diff)
	}
}

// TestSizePerContainer reports the encoded size of a full profile, the
// disk bound per container documented in docs/nodeagent.md.
func TestSizePerContainer(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "profiles.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	p := profile.New("pod/c")
	// Fill every slot of every ring: a week at 1 s is too slow for a test,
	// so sample every 10 s (each 5-minute slot still gets samples).
	for i := 0; i < 7*24*360; i++ {
		p.Add(t0.Add(time.Duration(i)*10*time.Second), [profile.NumResources]float64{float64(i % 97), float64(i), float64(i % 13 * 1000), float64(i % 11 * 5000)})
	}
	if err := s.Save(p); err != nil {
		t.Fatal(err)
	}
	n, err := s.Size()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Store with one full profile: %d bytes", n)
	if n > 1<<20 {
		t.Errorf("One profile takes %d bytes on disk, over the 1 MiB bound", n)
	}
}
