package discovery

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/cgroups/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/foresight-dev/foresight/pkg/profiler/internal/cgtest"
)

// TestKernelDetectMode checks the mode against containerd/cgroups' own
// detection (statfs magic numbers) on this host.
func TestKernelDetectMode(t *testing.T) {
	if _, err := os.Stat("/sys/fs/cgroup"); err != nil {
		t.Skip("kernel test: no /sys/fs/cgroup")
	}
	got, err := DetectMode("/sys/fs/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	want := map[cgroups.CGMode]Mode{cgroups.Legacy: ModeV1, cgroups.Hybrid: ModeHybrid, cgroups.Unified: ModeV2}[cgroups.Mode()]
	if got != want {
		t.Errorf("DetectMode = %q, containerd/cgroups says %q", got, want)
	}
}

// TestKernelWalk makes real cgroups in both drivers' layouts, in every v1
// hierarchy and the v2 tree, and finds them by walking each.
func TestKernelWalk(t *testing.T) {
	tr := cgtest.NewTree(t)
	layout := []string{
		"kubepods.slice/kubepods-pod" + uidU + ".slice/cri-containerd-" + cid + ".scope",
		"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU + ".slice/crio-" + cid + ".scope",
		"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU + ".slice/crio-conmon-" + cid + ".scope",
		"kubepods/besteffort/pod" + uid + "/" + cid,
	}
	for _, d := range layout {
		tr.Mkdir(d)
	}
	want := []Container{
		{PodUID: uid, ID: cid, Runtime: "crio", QoS: QoSBurstable, Driver: DriverSystemd, Path: tr.Path(layout[1])},
		{PodUID: uid, ID: cid, Runtime: "containerd", QoS: QoSGuaranteed, Driver: DriverSystemd, Path: tr.Path(layout[0])},
		{PodUID: uid, ID: cid, QoS: QoSBestEffort, Driver: DriverCgroupfs, Path: tr.Path(layout[3])},
	}
	for _, h := range append(cgtest.V1Hierarchies, "unified") {
		t.Run(h, func(t *testing.T) {
			got, err := Walk(filepath.Join(cgtest.Root, h), tr.Prefix)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Walk (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMain(m *testing.M) {
	cgtest.MaybeRunHelper()
	os.Exit(m.Run())
}
