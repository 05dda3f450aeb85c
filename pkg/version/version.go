// Package version reports the version Foresight binaries were built from.
// The Makefile sets Version with -ldflags.
package version

import "runtime/debug"

// Version is set at link time (-X github.com/foresight-dev/foresight/pkg/version.Version=...).
var Version = ""

// String returns the build version, falling back to the module version
// recorded by the Go toolchain, then to "devel".
func String() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "devel"
}
