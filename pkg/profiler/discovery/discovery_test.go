package discovery

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	uid  = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
	uidU = "1b4e28ba_2fa1_11d2_883f_0016d3cca427"
	cid  = "4c1a0b2e9d8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b"
)

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		name, prefix, path string
		want               *Container
	}{
		{name: "systemd containerd guaranteed",
			path: "/kubepods.slice/kubepods-pod" + uidU + ".slice/cri-containerd-" + cid + ".scope",
			want: &Container{PodUID: uid, ID: cid, Runtime: "containerd", QoS: QoSGuaranteed, Driver: DriverSystemd}},
		{name: "systemd containerd burstable",
			path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU + ".slice/cri-containerd-" + cid + ".scope",
			want: &Container{PodUID: uid, ID: cid, Runtime: "containerd", QoS: QoSBurstable, Driver: DriverSystemd}},
		{name: "systemd crio besteffort",
			path: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidU + ".slice/crio-" + cid + ".scope",
			want: &Container{PodUID: uid, ID: cid, Runtime: "crio", QoS: QoSBestEffort, Driver: DriverSystemd}},
		{name: "systemd crio conmon is not a container",
			path: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidU + ".slice/crio-conmon-" + cid + ".scope"},
		{name: "systemd pod slice is not a container",
			path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU + ".slice"},
		{name: "systemd qos mismatch",
			path: "/kubepods.slice/kubepods-burstable.slice/kubepods-besteffort-pod" + uidU + ".slice/crio-" + cid + ".scope"},
		{name: "cgroupfs containerd guaranteed",
			path: "/kubepods/pod" + uid + "/" + cid,
			want: &Container{PodUID: uid, ID: cid, QoS: QoSGuaranteed, Driver: DriverCgroupfs}},
		{name: "cgroupfs burstable",
			path: "/kubepods/burstable/pod" + uid + "/" + cid,
			want: &Container{PodUID: uid, ID: cid, QoS: QoSBurstable, Driver: DriverCgroupfs}},
		{name: "cgroupfs crio besteffort",
			path: "/kubepods/besteffort/pod" + uid + "/crio-" + cid,
			want: &Container{PodUID: uid, ID: cid, Runtime: "crio", QoS: QoSBestEffort, Driver: DriverCgroupfs}},
		{name: "cgroupfs unknown qos",
			path: "/kubepods/weird/pod" + uid + "/" + cid},
		{name: "bad uid", path: "/kubepods/pod1234/" + cid},
		{name: "bad container id", path: "/kubepods/pod" + uid + "/not-hex!"},
		{name: "below prefix", prefix: "foresight-test-1",
			path: "/foresight-test-1/kubepods/pod" + uid + "/" + cid,
			want: &Container{PodUID: uid, ID: cid, QoS: QoSGuaranteed, Driver: DriverCgroupfs}},
		{name: "outside prefix", prefix: "foresight-test-1", path: "/kubepods/pod" + uid + "/" + cid},
		{name: "system slice", path: "/system.slice/containerd.service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParsePath(tc.prefix, tc.path)
			if tc.want == nil {
				if ok {
					t.Fatalf("ParsePath(%q) = %+v, want no container", tc.path, got)
				}
				return
			}
			tc.want.Path = tc.path
			if !ok {
				t.Fatalf("ParsePath(%q) found no container", tc.path)
			}
			if diff := cmp.Diff(*tc.want, got); diff != "" {
				t.Errorf("ParsePath(%q) (-want +got):\n%s", tc.path, diff)
			}
		})
	}
}

func mkdirs(t *testing.T, root string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func touch(t *testing.T, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDetectModeAndWalk(t *testing.T) {
	cid2 := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	systemd := []string{
		"kubepods.slice/kubepods-pod" + uidU + ".slice/cri-containerd-" + cid + ".scope",
		"kubepods.slice/kubepods-pod" + uidU + ".slice/cri-containerd-" + cid2 + ".scope/sub",
		"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidU + ".slice/crio-conmon-" + cid + ".scope",
		"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidU + ".slice/crio-" + cid + ".scope",
		"system.slice/kubelet.service",
	}
	cgroupfs := []string{
		"kubepods/burstable/pod" + uid + "/" + cid,
		"kubepods/besteffort/pod" + uid + "/crio-" + cid2,
		"kubepods/besteffort/pod" + uid + "/crio-conmon-" + cid2,
	}
	wantSystemd := []Container{
		{PodUID: uid, ID: cid, Runtime: "crio", QoS: QoSBestEffort, Driver: DriverSystemd,
			Path: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidU + ".slice/crio-" + cid + ".scope"},
		{PodUID: uid, ID: cid2, Runtime: "containerd", QoS: QoSGuaranteed, Driver: DriverSystemd,
			Path: "/kubepods.slice/kubepods-pod" + uidU + ".slice/cri-containerd-" + cid2 + ".scope"},
		{PodUID: uid, ID: cid, Runtime: "containerd", QoS: QoSGuaranteed, Driver: DriverSystemd,
			Path: "/kubepods.slice/kubepods-pod" + uidU + ".slice/cri-containerd-" + cid + ".scope"},
	}
	wantCgroupfs := []Container{
		{PodUID: uid, ID: cid2, Runtime: "crio", QoS: QoSBestEffort, Driver: DriverCgroupfs,
			Path: "/kubepods/besteffort/pod" + uid + "/crio-" + cid2},
		{PodUID: uid, ID: cid, QoS: QoSBurstable, Driver: DriverCgroupfs,
			Path: "/kubepods/burstable/pod" + uid + "/" + cid},
	}
	for _, tc := range []struct {
		name     string
		mode     Mode
		walkDir  string // where the layout goes, relative to the root
		layout   []string
		want     []Container
		noMarker bool
	}{
		{name: "v2 systemd", mode: ModeV2, walkDir: "", layout: systemd, want: wantSystemd},
		{name: "v1 cgroupfs", mode: ModeV1, walkDir: "cpu", layout: cgroupfs, want: wantCgroupfs},
		{name: "hybrid systemd", mode: ModeHybrid, walkDir: "cpu", layout: systemd, want: wantSystemd},
		{name: "hybrid cgroupfs", mode: ModeHybrid, walkDir: "cpu", layout: cgroupfs, want: wantCgroupfs},
		{name: "v1 co-mounted cpu,cpuacct", mode: ModeV1, walkDir: "cpu,cpuacct", layout: cgroupfs, want: wantCgroupfs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			switch tc.mode {
			case ModeV2:
				touch(t, root, "cgroup.controllers")
			case ModeHybrid:
				mkdirs(t, root, "memory", "unified")
				touch(t, root, "unified/cgroup.controllers")
			case ModeV1:
				mkdirs(t, root, "memory")
			}
			mkdirs(t, root, tc.walkDir)
			for _, d := range tc.layout {
				mkdirs(t, filepath.Join(root, tc.walkDir), d)
			}
			mode, err := DetectMode(root)
			if err != nil {
				t.Fatal(err)
			}
			if mode != tc.mode {
				t.Fatalf("DetectMode = %s, want %s", mode, tc.mode)
			}
			l := Layout{Mode: mode, Root: root}
			if got, want := l.WalkRoot(), filepath.Join(root, tc.walkDir); got != want {
				t.Fatalf("WalkRoot = %s, want %s", got, want)
			}
			got, err := Walk(l.WalkRoot(), "")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Walk (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("no cgroups", func(t *testing.T) {
		if _, err := DetectMode(t.TempDir()); err == nil {
			t.Error("DetectMode of an empty directory succeeded")
		}
	})
}
