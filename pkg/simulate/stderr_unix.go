//go:build unix

package simulate

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// RedirectStderr sends what the process writes to its standard error to
// the file at path, and returns a file on the original standard error for
// the command's own output, and a function that puts the original back.
// It is for commands that replay on the in-process control plane
// (test/framework): its etcd client and API server log to standard error
// with their own loggers, which klog's settings do not reach.
func RedirectStderr(path string) (*os.File, func(), error) {
	saved, err := unix.Dup(int(os.Stderr.Fd()))
	if err != nil {
		return nil, nil, fmt.Errorf("duplicating stderr: %w", err)
	}
	logFile, err := os.Create(path)
	if err != nil {
		_ = unix.Close(saved)
		return nil, nil, err
	}
	if err := unix.Dup2(int(logFile.Fd()), int(os.Stderr.Fd())); err != nil {
		_ = unix.Close(saved)
		_ = logFile.Close()
		return nil, nil, fmt.Errorf("redirecting stderr: %w", err)
	}
	orig := os.NewFile(uintptr(saved), "stderr")
	return orig, func() {
		_ = unix.Dup2(saved, int(os.Stderr.Fd()))
		_ = orig.Close()
		_ = logFile.Close()
	}, nil
}
