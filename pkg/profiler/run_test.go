package profiler

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/klog/v2/ktesting"

	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
	"github.com/foresight-dev/foresight/pkg/profiler/store"
)

// TestRunFlushesOnStop stops a running agent (as SIGTERM does) long before
// its flush interval and expects the history in the store, continued by
// the next agent.
func TestRunFlushesOnStop(t *testing.T) {
	root := t.TempDir()
	v1Container(t, root, "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "4c1a0b2e9d8f7a6b5c4d3e2f1a0b", 4096)
	path := filepath.Join(t.TempDir(), "profiles.db")
	// The pod has one container: its profile is stored under the pod's key.
	key := "pod/1b4e28ba-2fa1-11d2-883f-0016d3cca427"
	var samples int64
	for run := 0; run < 2; run++ {
		_, ctx := ktesting.NewTestContext(t)
		ctx, cancel := context.WithCancel(ctx)
		st, err := store.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		a, err := New(Config{Layout: discovery.Layout{Mode: discovery.ModeV1, Root: root}, Interval: 20 * time.Millisecond, FlushEvery: time.Hour, Store: st})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() { done <- a.Run(ctx) }()
		time.Sleep(300 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		ps, err := st.LoadAll()
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		p := ps[key]
		if p == nil || p.Samples <= samples {
			t.Fatalf("Run %d: stored profile %v, want more than %d samples", run, p, samples)
		}
		t.Logf("Run %d: %d samples stored", run, p.Samples)
		samples = p.Samples
	}
}
