package framework

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// ProcessTB lets a program that is not a test (the demo) use the
// test-oriented helpers of this package and of kube-apiserver's test
// server, which take a ktesting.TB: failures end Run with an error instead
// of failing a test, and cleanups run when Run returns.
type ProcessTB struct {
	name string
	log  io.Writer

	mu       sync.Mutex
	cleanups []func()
	failed   bool
	messages []string
}

// errFailNow unwinds Run when a helper calls FailNow, Fatal or Skip.
var errFailNow = errors.New("failed")

// RunProcessTB calls fn with a ProcessTB whose log goes to log, runs the
// registered cleanups (last first) when fn returns or fails, and returns
// the failure messages as an error.
func RunProcessTB(name string, log io.Writer, fn func(tb *ProcessTB) error) (err error) {
	tb := &ProcessTB{name: name, log: log}
	defer func() {
		if r := recover(); r != nil && r != errFailNow { //nolint:errorlint // sentinel identity
			panic(r)
		}
		tb.runCleanups()
		if tb.Failed() && err == nil {
			err = errors.New(tb.joinedMessages())
		}
	}()
	return fn(tb)
}

func (tb *ProcessTB) runCleanups() {
	for {
		tb.mu.Lock()
		n := len(tb.cleanups)
		if n == 0 {
			tb.mu.Unlock()
			return
		}
		f := tb.cleanups[n-1]
		tb.cleanups = tb.cleanups[:n-1]
		tb.mu.Unlock()
		f()
	}
}

func (tb *ProcessTB) joinedMessages() string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.messages) == 0 {
		return "failed"
	}
	return fmt.Sprint(tb.messages)
}

func (tb *ProcessTB) record(msg string) {
	tb.mu.Lock()
	tb.failed = true
	tb.messages = append(tb.messages, msg)
	tb.mu.Unlock()
	fmt.Fprintln(tb.log, msg)
}

// Attr logs an attribute.
func (tb *ProcessTB) Attr(key, value string) { tb.Logf("%s=%s", key, value) }

// Chdir changes the working directory.
func (tb *ProcessTB) Chdir(dir string) {
	if err := os.Chdir(dir); err != nil {
		tb.Fatalf("chdir %s: %v", dir, err)
	}
}

// Cleanup registers f to run when Run returns.
func (tb *ProcessTB) Cleanup(f func()) {
	tb.mu.Lock()
	tb.cleanups = append(tb.cleanups, f)
	tb.mu.Unlock()
}

// Error records a failure.
func (tb *ProcessTB) Error(args ...any) { tb.record(fmt.Sprint(args...)) }

// Errorf records a failure.
func (tb *ProcessTB) Errorf(format string, args ...any) { tb.record(fmt.Sprintf(format, args...)) }

// Fail marks the run failed.
func (tb *ProcessTB) Fail() {
	tb.mu.Lock()
	tb.failed = true
	tb.mu.Unlock()
}

// FailNow marks the run failed and unwinds it. Like testing.T's, it must
// be called from the goroutine running fn.
func (tb *ProcessTB) FailNow() {
	tb.Fail()
	panic(errFailNow)
}

// Failed tells whether the run failed.
func (tb *ProcessTB) Failed() bool {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.failed
}

// Fatal records a failure and unwinds the run.
func (tb *ProcessTB) Fatal(args ...any) { tb.Error(args...); tb.FailNow() }

// Fatalf records a failure and unwinds the run.
func (tb *ProcessTB) Fatalf(format string, args ...any) { tb.Errorf(format, args...); tb.FailNow() }

// Helper does nothing.
func (tb *ProcessTB) Helper() {}

// Log writes to the run's log.
func (tb *ProcessTB) Log(args ...any) { fmt.Fprintln(tb.log, args...) }

// Logf writes to the run's log.
func (tb *ProcessTB) Logf(format string, args ...any) { fmt.Fprintf(tb.log, format+"\n", args...) }

// Name returns the run's name.
func (tb *ProcessTB) Name() string { return tb.name }

// Setenv sets an environment variable for the rest of the process.
func (tb *ProcessTB) Setenv(key, value string) {
	if err := os.Setenv(key, value); err != nil {
		tb.Fatalf("setenv %s: %v", key, err)
	}
}

// Skip ends the run as failed: a program cannot be skipped.
func (tb *ProcessTB) Skip(args ...any) { tb.Fatal(append([]any{"skipped: "}, args...)...) }

// Skipf ends the run as failed.
func (tb *ProcessTB) Skipf(format string, args ...any) { tb.Fatalf("skipped: "+format, args...) }

// SkipNow ends the run as failed.
func (tb *ProcessTB) SkipNow() { tb.Fatal("skipped") }

// Skipped is always false.
func (tb *ProcessTB) Skipped() bool { return false }

// TempDir returns a new directory removed when Run returns.
func (tb *ProcessTB) TempDir() string {
	dir, err := os.MkdirTemp("", "foresight-")
	if err != nil {
		tb.Fatalf("creating a temporary directory: %v", err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
