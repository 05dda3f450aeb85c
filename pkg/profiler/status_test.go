package profiler

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
	"github.com/foresight-dev/foresight/pkg/profiler/profile"
)

// TestStatusSize builds the status of 250 pods with one container each and
// per-container detail, and checks it stays well under the API server's
// 1.5 MiB object limit.
func TestStatusSize(t *testing.T) {
	a, err := New(Config{NodeName: "n", Layout: discovery.Layout{Mode: discovery.ModeV2}, PublishContainers: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 250; i++ {
		uid := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		id := fmt.Sprintf("%064x", i)
		c := discovery.Container{PodUID: uid, ID: id, Path: "/x/" + id}
		p := profile.New(c.Key())
		pp := profile.New(podKeyPrefix + uid)
		for s := 0; s < 100; s++ {
			v := [profile.NumResources]float64{1.234 + float64(s%7), 123456789 + float64(s), 98765 * float64(s), 4567 * float64(s)}
			p.Add(now.Add(time.Duration(s-100)*time.Second), v)
			pp.Add(now.Add(time.Duration(s-100)*time.Second), v)
		}
		a.ctrs[c.Key()] = &tracked{c: c, prof: p}
		a.pods[pp.Key] = pp
	}
	b, err := json.Marshal(a.Status(now, "test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Status of 250 pods with container detail: %d bytes", len(b))
	if len(b) > 1<<20 {
		t.Errorf("Status is %d bytes, want under 1 MiB", len(b))
	}
	st := a.Status(now, "test")
	if len(st.Pods) != 250 || len(st.Pods[0].Containers) != 1 || st.Pods[0].Usage.CPU.Peak.MilliValue() != 7234 {
		t.Errorf("Unexpected status: %d pods, first %+v", len(st.Pods), st.Pods[0].Usage.CPU)
	}
}
