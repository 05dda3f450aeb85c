package profiler

import "golang.org/x/sys/unix"

// cgroupID is the cgroup v2 ID of a directory: its inode number.
func cgroupID(dir string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}
