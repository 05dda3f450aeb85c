//go:build !linux

package profiler

import "errors"

func cgroupID(string) (uint64, error) { return 0, errors.New("cgroup IDs exist on Linux only") }
