package discovery

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Mode is how a host mounts its cgroups.
type Mode string

// The cgroup modes, spelled as NodeProfile.Status.CgroupMode spells them.
const (
	// ModeV1 has only legacy per-controller hierarchies.
	ModeV1 Mode = "v1"
	// ModeV2 has the unified hierarchy mounted at the root.
	ModeV2 Mode = "v2"
	// ModeHybrid has v1 hierarchies and a v2 tree at <root>/unified.
	ModeHybrid Mode = "hybrid"
)

// DetectMode tells how the cgroup file systems under root (normally
// /sys/fs/cgroup) are laid out. It looks at files only, so it works on a
// copy of the layout in a temporary directory as well as on a host.
func DetectMode(root string) (Mode, error) {
	if exists(filepath.Join(root, "cgroup.controllers")) {
		return ModeV2, nil
	}
	v1 := false
	for _, c := range []string{"cpu", "cpuacct", "cpu,cpuacct", "memory"} {
		if isDir(filepath.Join(root, c)) {
			v1 = true
			break
		}
	}
	if !v1 {
		return "", fmt.Errorf("no cgroup v1 hierarchy or v2 tree under %s", root)
	}
	if exists(filepath.Join(root, "unified", "cgroup.controllers")) {
		return ModeHybrid, nil
	}
	return ModeV1, nil
}

// Layout locates the hierarchies a container's statistics are read from.
type Layout struct {
	// Mode of the host.
	Mode Mode
	// Root is the cgroup mount root, normally /sys/fs/cgroup.
	Root string
}

// V2Root is the directory of the v2 tree, or "" on a v1 host.
func (l Layout) V2Root() string {
	switch l.Mode {
	case ModeV2:
		return l.Root
	case ModeHybrid:
		return filepath.Join(l.Root, "unified")
	}
	return ""
}

// WalkRoot is the hierarchy whose tree is walked to find containers: the v2
// tree on v2 hosts, the cpu hierarchy on v1 and hybrid hosts (the v2 tree
// of a hybrid host may lack containers when systemd does not mirror them).
func (l Layout) WalkRoot() string {
	if l.Mode == ModeV2 {
		return l.Root
	}
	for _, c := range []string{"cpu", "cpu,cpuacct", "cpuacct", "memory"} {
		if isDir(filepath.Join(l.Root, c)) {
			return filepath.Join(l.Root, c)
		}
	}
	return filepath.Join(l.Root, "cpu")
}

// QoS is a pod's Kubernetes QoS class as the kubelet names its cgroup.
type QoS string

// The QoS classes.
const (
	QoSGuaranteed QoS = "guaranteed"
	QoSBurstable  QoS = "burstable"
	QoSBestEffort QoS = "besteffort"
)

// Driver is the kubelet's cgroup driver.
type Driver string

// The cgroup drivers.
const (
	DriverSystemd  Driver = "systemd"
	DriverCgroupfs Driver = "cgroupfs"
)

// Container is one container cgroup found in the kubelet layout.
type Container struct {
	// PodUID is the pod's UID, with dashes.
	PodUID string
	// ID is the container ID given by the runtime.
	ID string
	// Runtime is "containerd", "crio" or "docker"; empty when the cgroupfs
	// driver leaves it unknown.
	Runtime string
	QoS     QoS
	Driver  Driver
	// Path is the cgroup's path relative to a hierarchy root, starting with
	// a slash; it is the same in every hierarchy.
	Path string
}

// Key identifies a container across samples: the pod UID and container ID.
func (c Container) Key() string { return c.PodUID + "/" + c.ID }

// ParsePath recognises the path of a container cgroup relative to a
// hierarchy root, below an optional prefix (such as a test's parent
// cgroup). It returns false for anything that is not a container: pod
// cgroups, QoS cgroups, CRI-O conmon scopes, systemd sub-cgroups.
func ParsePath(prefix, rel string) (Container, bool) {
	p := strings.Trim(filepath.ToSlash(rel), "/")
	prefix = strings.Trim(filepath.ToSlash(prefix), "/")
	if prefix != "" {
		if !strings.HasPrefix(p, prefix+"/") {
			return Container{}, false
		}
		p = strings.TrimPrefix(p, prefix+"/")
	}
	parts := strings.Split(p, "/")
	var c Container
	switch parts[0] {
	case "kubepods.slice":
		c.Driver = DriverSystemd
		c.QoS = QoSGuaranteed
		rest := parts[1:]
		if len(rest) == 3 {
			switch rest[0] {
			case "kubepods-burstable.slice":
				c.QoS = QoSBurstable
			case "kubepods-besteffort.slice":
				c.QoS = QoSBestEffort
			default:
				return Container{}, false
			}
			rest = rest[1:]
		}
		if len(rest) != 2 {
			return Container{}, false
		}
		pod := strings.TrimSuffix(rest[0], ".slice")
		if pod == rest[0] {
			return Container{}, false
		}
		want := "kubepods-pod"
		if c.QoS != QoSGuaranteed {
			want = "kubepods-" + string(c.QoS) + "-pod"
		}
		if !strings.HasPrefix(pod, want) {
			return Container{}, false
		}
		// systemd escapes the dashes of the UID as underscores.
		c.PodUID = strings.ReplaceAll(strings.TrimPrefix(pod, want), "_", "-")
		scope, ok := strings.CutSuffix(rest[1], ".scope")
		if !ok {
			return Container{}, false
		}
		switch {
		case strings.HasPrefix(scope, "cri-containerd-"):
			c.Runtime, c.ID = "containerd", strings.TrimPrefix(scope, "cri-containerd-")
		case strings.HasPrefix(scope, "crio-conmon-"):
			return Container{}, false
		case strings.HasPrefix(scope, "crio-"):
			c.Runtime, c.ID = "crio", strings.TrimPrefix(scope, "crio-")
		case strings.HasPrefix(scope, "docker-"):
			c.Runtime, c.ID = "docker", strings.TrimPrefix(scope, "docker-")
		default:
			return Container{}, false
		}
	case "kubepods":
		c.Driver = DriverCgroupfs
		c.QoS = QoSGuaranteed
		rest := parts[1:]
		if len(rest) == 3 {
			switch QoS(rest[0]) {
			case QoSBurstable, QoSBestEffort:
				c.QoS = QoS(rest[0])
			default:
				return Container{}, false
			}
			rest = rest[1:]
		}
		if len(rest) != 2 || !strings.HasPrefix(rest[0], "pod") {
			return Container{}, false
		}
		c.PodUID = strings.TrimPrefix(rest[0], "pod")
		c.ID = rest[1]
		// CRI-O with cgroupfs names the container cgroup crio-<id> and its
		// monitor crio-conmon-<id>; containerd uses the bare ID.
		switch {
		case strings.HasPrefix(c.ID, "crio-conmon-"):
			return Container{}, false
		case strings.HasPrefix(c.ID, "crio-"):
			c.Runtime, c.ID = "crio", strings.TrimPrefix(c.ID, "crio-")
		}
	default:
		return Container{}, false
	}
	if !validUID(c.PodUID) || !validID(c.ID) {
		return Container{}, false
	}
	c.Path = "/" + p
	if prefix != "" {
		c.Path = "/" + prefix + "/" + p
	}
	return c, true
}

func validUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !isHex(r) {
				return false
			}
		}
	}
	return true
}

func validID(s string) bool {
	if len(s) < 12 || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !isHex(r) {
			return false
		}
	}
	return true
}

func isHex(r rune) bool { return r >= '0' && r <= '9' || r >= 'a' && r <= 'f' }

// Walk lists the containers under hierarchy root (one of Layout.WalkRoot),
// below prefix ("" on a real node), sorted by path. Cgroups that vanish
// while being walked are skipped.
func Walk(root, prefix string) ([]Container, error) {
	var out []Container
	for _, top := range []string{"kubepods.slice", "kubepods"} {
		base := filepath.Join(root, prefix, top)
		if !isDir(base) {
			continue
		}
		err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if !d.IsDir() {
				return nil
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			under, err := filepath.Rel(filepath.Join(root, prefix), path)
			if err != nil {
				return err
			}
			depth := len(strings.Split(under, string(filepath.Separator)))
			// A container is at most kubepods/qos/pod/container below the
			// prefix: do not descend into the container's own children.
			if c, ok := ParsePath(prefix, rel); ok {
				out = append(out, c)
				return fs.SkipDir
			}
			if depth > 4 {
				return fs.SkipDir
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walking %s: %w", base, err)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
