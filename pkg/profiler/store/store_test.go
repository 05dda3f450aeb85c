package store

import (
	"bytes"
	"encoding/gob"
	"maps"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	bolt "go.etcd.io/bbolt"

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
	opts := cmp.Options{cmpopts.EquateEmpty(), cmp.Exporter(func(reflect.Type) bool { return true })}
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

// TestSizePerContainer fills every slot of every ring of a profile (five
// weeks) and reports its memory and its size on disk, the bounds per
// container documented in docs/nodeagent.md.
func TestSizePerContainer(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "profiles.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	p := profile.New("pod/c")
	// Sampling every second for five weeks is too slow for a test: every
	// 5 minutes for five weeks, then every 10 s for the last day, fills
	// every slot.
	end := t0.Add(profile.LongHistory)
	i, last := 0, t0
	for at := t0; at.Before(end); i++ {
		last = at
		p.Add(at, [profile.NumResources]float64{float64(i % 97), float64(i), float64(i % 13 * 1000), float64(i % 11 * 5000)})
		if end.Sub(at) > 24*time.Hour {
			at = at.Add(5 * time.Minute)
		} else {
			at = at.Add(10 * time.Second)
		}
	}
	for _, r := range p.Rings {
		if got := len(r.Window(last, r.Span())); got != r.Slots {
			t.Fatalf("Ring at %v has %d slots filled, want all %d", r.Resolution, got, r.Slots)
		}
	}
	if err := s.Save(p); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(p); err != nil {
		t.Fatal(err)
	}
	n, err := s.Size()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("One full profile: rings %d bytes in memory, record %d bytes, store file %d bytes", p.Bytes(), buf.Len(), n)
	if want := (360 + 1440 + 2028 + 840) * profile.PointSize; p.Bytes() != want {
		t.Errorf("Rings take %d bytes, want %d", p.Bytes(), want)
	}
	if buf.Len() > 96<<10 {
		t.Errorf("One profile record is %d bytes, over the documented 96 KiB", buf.Len())
	}
}

// TestMigrateV1 writes a profile as the v1 store did (float32 slots, a
// week at 5 minutes) and expects Open to carry its history over.
func TestMigrateV1(t *testing.T) {
	lp := legacyProfile{Key: "pod-a/c1", Namespace: "ns", Samples: 42, CurrentTime: t0,
		Rings: []legacyRing{{Resolution: 5 * time.Minute, Points: make([]legacyPoint, 2016)}}}
	head := t0.UnixNano() / int64(5*time.Minute)
	lp.Rings[0].Head = head
	for i := int64(0); i < 3; i++ { // the three newest slots: 1, 2, 3 cores
		lp.Rings[0].Points[(head-i)%2016] = legacyPoint{Mean: [4]float32{float32(3 - i), 1 << 20}, Max: [4]float32{float32(4 - i), 1 << 20}, Count: 300}
	}
	lp.Histograms[profile.CPU] = profile.NewHistogram(0.001, 1.05, 24*time.Hour)
	lp.Histograms[profile.CPU].Add(t0, 2)
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(lp); err != nil {
		t.Fatal(err)
	}
	s, got := openOld(t, bucketLegacy, "pod-a/c1", buf.Bytes())
	if len(got) != 1 {
		t.Fatalf("Migrated %d profiles, want 1 (the broken record dropped)", len(got))
	}
	p := got["pod-a/c1"]
	if p == nil || p.Namespace != "ns" || p.Samples != 42 || !p.CurrentTime.Equal(t0) {
		t.Fatalf("Migrated profile %+v", p)
	}
	r := p.Rings[profile.LongRing]
	slots := r.Window(t0, time.Hour)
	var means, maxes []float64
	for _, sl := range slots {
		means, maxes = append(means, sl.Mean[profile.CPU]), append(maxes, sl.Max[profile.CPU])
	}
	approx := cmpopts.EquateApprox(profile.MaxCodeError, 0)
	if diff := cmp.Diff([]float64{1, 2, 3}, means, approx); diff != "" {
		t.Errorf("Migrated means (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float64{2, 3, 4}, maxes, approx); diff != "" {
		t.Errorf("Migrated maxima (-want +got):\n%s", diff)
	}
	if q := p.Histograms[profile.CPU].Quantile(0.5); math.Abs(q-2)/2 > 0.025 {
		t.Errorf("Migrated median %v, want 2", q)
	}
	if err := s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketLegacy) != nil {
			t.Error("The v1 bucket is still there")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestOriginals records originals, keeps the first value of a file, and
// finds them after a reopen.
func TestOriginals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "profiles.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"/a/cpu.max", "max 100000"}, {"/b/memory.high", "max"}, {"/a/cpu.max", "5000 100000"}, {"/c/x", "1"}} {
		if err := s.SaveOriginal(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteOriginal("/c/x"); err != nil {
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
	got, err := s.Originals()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"/a/cpu.max": "max 100000", "/b/memory.high": "max"}, got); diff != "" {
		t.Errorf("Originals (-want +got):\n%s", diff)
	}
}

// TestMigrateV2 writes a profile as the v2 store did (five weeks at 5
// minutes) and expects Open to move it to the current bucket laid out as
// profile.DefaultRings, as profile.Conform lays it out in memory.
func TestMigrateV2(t *testing.T) {
	p := profile.New("pod-a/c1")
	p.Rings = []profile.Ring{profile.NewRing(10*time.Second, time.Hour), profile.NewRing(time.Minute, 24*time.Hour), profile.NewRing(5*time.Minute, profile.LongHistory)}
	end := t0.Add(profile.LongHistory + 24*time.Hour)
	for i, at := 0, t0; at.Before(end); i, at = i+1, at.Add(5*time.Minute) {
		p.Add(at, [profile.NumResources]float64{float64(i % 97), float64(i), 0, 1000})
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(p); err != nil {
		t.Fatal(err)
	}
	s, got := openOld(t, bucketV2, p.Key, buf.Bytes())
	if len(got) != 1 || got[p.Key] == nil {
		t.Fatalf("Migrated profiles %v, want %s only (the broken record dropped)", slices.Collect(maps.Keys(got)), p.Key)
	}
	if !p.Conform() {
		t.Fatal("The v2 layout conforms already")
	}
	opts := cmp.Options{cmpopts.EquateEmpty(), cmp.Exporter(func(reflect.Type) bool { return true })}
	if diff := cmp.Diff(p, got[p.Key], opts); diff != "" {
		t.Errorf("Migrated profile (-want +got):\n%s", diff)
	}
	if err := s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketV2) != nil {
			t.Error("The v2 bucket is still there")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// openOld writes a store as an older version did: bucket holding record
// under key and an undecodable record, and opens it with Open, which
// migrates it; it returns the store and what it loads.
func openOld(t *testing.T, bucket []byte, key string, record []byte) (*Store, map[string]*profile.Profile) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "profiles.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucket)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(key), record); err != nil {
			return err
		}
		return b.Put([]byte("broken"), []byte("not gob"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	got, err := s.LoadAll()
	if err != nil {
		t.Fatal(err)
	}
	return s, got
}
