// Package sharedtraces locates the project's shared real traces
// (../shared/traces beside the checkout) for tests, and skips tests that
// need them where they are absent: a user's clone has no ../shared, CI
// always has it.
package sharedtraces

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the absolute path of ../shared/traces relative to the module
// root (the nearest directory above the test's with a go.mod), or skips
// tb with the reason when it does not exist.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("no go.mod above the test directory")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "traces")
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("real traces not available at %s (they live beside the checkout in CI): %v", p, err)
	}
	return p
}
