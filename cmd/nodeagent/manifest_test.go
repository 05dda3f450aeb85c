package main

import (
	"flag"
	"io"
	"os"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestDaemonSetManifest decodes the shipped DaemonSet strictly and checks
// what the agent needs from it: its command line parses, the host PID
// namespace (the task iterator sees only the tasks of the reader's
// namespace), the named capabilities without SYS_ADMIN or privileged
// mode, and the two host paths it reads and writes.
func TestDaemonSetManifest(t *testing.T) {
	b, err := os.ReadFile("../../manifests/nodeagent/daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ds appsv1.DaemonSet
	if err := yaml.UnmarshalStrict(b, &ds); err != nil {
		t.Fatalf("Decoding the DaemonSet: %v", err)
	}
	spec := ds.Spec.Template.Spec
	if !spec.HostPID {
		t.Errorf("hostPID is off: the task iterator would see the agent's own tasks only")
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	t.Setenv("NODE_NAME", "n1")
	fs := flag.NewFlagSet("nodeagent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o, err := parseFlags(fs, c.Command[1:])
	if err != nil {
		t.Fatalf("The manifest's command line does not parse: %v", err)
	}
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil {
		t.Fatal("No security context with capabilities")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("The agent runs privileged")
	}
	want := []corev1.Capability{"BPF", "PERFMON", "NET_ADMIN", "SYS_RESOURCE"}
	if !slices.Equal(sc.Capabilities.Add, want) || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("Capabilities add %v drop %v, want add %v drop [ALL]", sc.Capabilities.Add, sc.Capabilities.Drop, want)
	}
	hostPaths := map[string]string{} // mount path in the container → host path
	for _, m := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name == m.Name && v.HostPath != nil && !m.ReadOnly {
				hostPaths[m.MountPath] = v.HostPath.Path
			}
		}
	}
	if hostPaths[o.cgroupRoot] != "/sys/fs/cgroup" {
		t.Errorf("--cgroup-root %s is not the host's /sys/fs/cgroup mounted read-write (enforcement writes there): %v", o.cgroupRoot, hostPaths)
	}
	if hostPaths[o.stateDir] == "" {
		t.Errorf("--state-dir %s is not a writable host path (profiles and enforcement originals must outlive the pod): %v", o.stateDir, hostPaths)
	}
}
