package profiler

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/klog/v2/ktesting"

	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
	"github.com/foresight-dev/foresight/pkg/profiler/profile"
	"github.com/foresight-dev/foresight/pkg/profiler/store"
)

// v1Container writes the cgroup v1 files the agent reads for a container
// of pod uid under root, with a working set of mem bytes.
func v1Container(t *testing.T, root, uid, id string, mem int) {
	t.Helper()
	dir := filepath.Join("kubepods", "pod"+uid, id)
	for f, v := range map[string]string{
		"cpuacct/" + dir + "/cpuacct.usage":        "1000",
		"memory/" + dir + "/memory.usage_in_bytes": strconv.Itoa(mem),
		"memory/" + dir + "/memory.stat":           "total_inactive_file 0\n",
		"memory/" + dir + "/memory.oom_control":    "oom_kill 0\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPodProfileSharing follows a pod through one container, two (a
// sidecar starts) and one again (the first container ends), and an agent
// restart: a pod's only container shares the pod's profile (one record in
// the store), two containers have profiles of their own beside the pod's
// (the first keeping the history it shared), and the history of the pod
// continues throughout.
func TestPodProfileSharing(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	root := t.TempDir()
	const uid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
	const id1, id2 = "4c1a0b2e9d8f7a6b5c4d3e2f1a0b", "0123456789abcdef0123"
	key1, key2, podKey := uid+"/"+id1, uid+"/"+id2, podKeyPrefix+uid
	v1Container(t, root, uid, id1, 4096)
	path := filepath.Join(t.TempDir(), "profiles.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Layout: discovery.Layout{Mode: discovery.ModeV1, Root: root}, Store: st}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tick := func(n int) {
		t.Helper()
		a.lastWalk = time.Time{} // walk the tree at every tick
		for range n {
			if err := a.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	prof := func(key string) *profile.Profile {
		t.Helper()
		p, ok := a.Profile(key)
		if !ok {
			t.Fatalf("No profile %s", key)
		}
		return p
	}
	// check flushes and compares the stored keys and the samples and
	// current working set of profiles.
	type state struct {
		Samples int64
		Memory  float64
	}
	check := func(stage string, keys []string, want map[string]state) {
		t.Helper()
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
		got, err := st.Keys()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if diff := cmp.Diff(keys, got); diff != "" {
			t.Errorf("%s: stored keys (-want +got):\n%s", stage, diff)
		}
		states := map[string]state{}
		for k := range want {
			p := prof(k)
			states[k] = state{p.Samples, p.Current[profile.Memory]}
		}
		if diff := cmp.Diff(want, states); diff != "" {
			t.Errorf("%s: profiles (-want +got):\n%s", stage, diff)
		}
	}

	// One container: the first tick has no previous sample.
	tick(3)
	if prof(key1) != prof(podKey) {
		t.Errorf("The only container of a pod has a profile of its own")
	}
	check("one container", []string{podKey}, map[string]state{podKey: {2, 4096}})

	// A second container starts: the first one's profile is split off
	// with the history so far; the pod's sums both.
	v1Container(t, root, uid, id2, 8192)
	tick(2)
	if prof(key1) == prof(podKey) || prof(key2) == prof(podKey) {
		t.Errorf("A container of a two-container pod shares the pod's profile")
	}
	check("two containers", []string{key2, key1, podKey},
		map[string]state{key1: {4, 4096}, key2: {1, 8192}, podKey: {4, 4096 + 8192}})

	// The first container ends: the second shares the pod's profile and
	// its own record goes.
	if err := os.RemoveAll(filepath.Join(root, "cpuacct", "kubepods", "pod"+uid, id1)); err != nil {
		t.Fatal(err)
	}
	tick(1)
	if prof(key2) != prof(podKey) {
		t.Errorf("The container left alone in its pod keeps a profile of its own")
	}
	if _, ok := a.Profile(key1); ok {
		t.Errorf("The ended container is still tracked")
	}
	check("one container again", []string{podKey}, map[string]state{podKey: {5, 8192}})

	// Restart: the pod's history continues, still shared.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err = store.Open(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.Store = st
	if a, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	tick(2)
	if prof(key2) != prof(podKey) {
		t.Errorf("After a restart, the only container of a pod has a profile of its own")
	}
	check("after a restart", []string{podKey}, map[string]state{podKey: {6, 8192}})
}
