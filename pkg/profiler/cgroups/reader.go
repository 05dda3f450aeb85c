package cgroups

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
)

// ErrGone is returned when a container's cgroup no longer exists.
var ErrGone = errors.New("cgroup is gone")

// Reader reads the counters of one container cgroup.
//
// containerd/cgroups/v3's cgroup1 and cgroup2 packages would do the same,
// but they pull in modules (godbus, go-units, runtime-spec, containerd/log)
// that are not in go.mod; the files read here are the ones those packages
// read.
type Reader struct {
	path string
	mode discovery.Mode
	// dirs of the container's cgroup in each hierarchy used; "" if absent.
	cpu, cpuacct, memory, v2 string
	// files stay open and are re-read with pread at offset 0: one system
	// call per file and sample instead of five (open, fstat, read, read,
	// close).
	files map[string]*os.File
	buf   []byte
}

// Close closes the files the Reader keeps open.
func (r *Reader) Close() error {
	var errs []error
	for _, f := range r.files {
		errs = append(errs, f.Close())
	}
	r.files = nil
	return errors.Join(errs...)
}

// Open prepares a Reader for the cgroup at path (relative to the hierarchy
// roots, as discovery.Container.Path). It fails with ErrGone when the
// cgroup does not exist.
func Open(l discovery.Layout, path string) (*Reader, error) {
	r := &Reader{path: path, mode: l.Mode, files: map[string]*os.File{}, buf: make([]byte, 8192)}
	if v2 := l.V2Root(); v2 != "" {
		if d := filepath.Join(v2, path); isDir(d) {
			r.v2 = d
		}
	}
	if l.Mode == discovery.ModeV2 {
		if r.v2 == "" {
			return nil, fmt.Errorf("%w: %s", ErrGone, path)
		}
		return r, nil
	}
	pick := func(names ...string) string {
		for _, n := range names {
			if d := filepath.Join(l.Root, n, path); isDir(d) {
				return d
			}
		}
		return ""
	}
	r.cpu = pick("cpu", "cpu,cpuacct")
	r.cpuacct = pick("cpuacct", "cpu,cpuacct")
	r.memory = pick("memory")
	if r.cpuacct == "" && r.memory == "" {
		return nil, fmt.Errorf("%w: %s", ErrGone, path)
	}
	return r, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// Read takes one sample.
func (r *Reader) Read() (Sample, error) {
	s := Sample{Time: time.Now()}
	var err error
	if r.mode == discovery.ModeV2 {
		err = r.readV2(&s)
	} else {
		err = r.readV1(&s)
	}
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, errNoDevice) {
			return s, fmt.Errorf("%w: %s", ErrGone, r.path)
		}
		return s, fmt.Errorf("reading cgroup %s: %w", r.path, err)
	}
	if r.v2 != "" {
		// Pressure files work in the v2 tree even on hybrid hosts, where
		// they reflect the v1 controllers.
		if psi, ok := r.readPSI(filepath.Join(r.v2, "cpu.pressure")); ok {
			s.HasPSI = true
			s.CPUPressureSomeMicros = psi[0]
		}
		if psi, ok := r.readPSI(filepath.Join(r.v2, "memory.pressure")); ok {
			s.HasPSI = true
			s.MemoryPressureSomeMicros, s.MemoryPressureFullMicros = psi[0], psi[1]
		}
	}
	return s, nil
}

// errNoDevice is what reading a file of a removed cgroup returns.
var errNoDevice = errors.New("no such device")

func (r *Reader) readV1(s *Sample) error {
	if r.cpuacct != "" {
		v, err := r.readUint(filepath.Join(r.cpuacct, "cpuacct.usage"))
		if err != nil {
			return err
		}
		s.CPUUsageNanos = v
	}
	if r.cpu != "" {
		kv, err := r.readKV(filepath.Join(r.cpu, "cpu.stat"))
		if err != nil {
			return err
		}
		s.CPUPeriods, s.CPUThrottledPeriods, s.CPUThrottledNanos = kv["nr_periods"], kv["nr_throttled"], kv["throttled_time"]
	}
	if r.memory != "" {
		usage, err := r.readUint(filepath.Join(r.memory, "memory.usage_in_bytes"))
		if err != nil {
			return err
		}
		kv, err := r.readKV(filepath.Join(r.memory, "memory.stat"))
		if err != nil {
			return err
		}
		s.MemoryUsageBytes = usage
		s.MemoryWorkingSetBytes = WorkingSet(usage, kv["total_inactive_file"])
		s.MemoryRSSBytes = kv["total_rss"]
		oom, err := r.readKV(filepath.Join(r.memory, "memory.oom_control"))
		if err != nil {
			return err
		}
		s.OOMKills = oom["oom_kill"]
	}
	return nil
}

func (r *Reader) readV2(s *Sample) error {
	kv, err := r.readKV(filepath.Join(r.v2, "cpu.stat"))
	if err != nil {
		return err
	}
	s.CPUUsageNanos = kv["usage_usec"] * 1000
	s.CPUPeriods, s.CPUThrottledPeriods, s.CPUThrottledNanos = kv["nr_periods"], kv["nr_throttled"], kv["throttled_usec"]*1000
	usage, err := r.readUint(filepath.Join(r.v2, "memory.current"))
	if errors.Is(err, os.ErrNotExist) {
		return nil // memory controller not enabled for this cgroup
	}
	if err != nil {
		return err
	}
	mem, err := r.readKV(filepath.Join(r.v2, "memory.stat"))
	if err != nil {
		return err
	}
	s.MemoryUsageBytes = usage
	s.MemoryWorkingSetBytes = WorkingSet(usage, mem["inactive_file"])
	s.MemoryRSSBytes = mem["anon"]
	ev, err := r.readKV(filepath.Join(r.v2, "memory.events"))
	if err != nil {
		return err
	}
	s.OOMKills = ev["oom_kill"]
	return nil
}

// readFile returns the content of p, valid until the next call.
func (r *Reader) readFile(p string) ([]byte, error) {
	f := r.files[p]
	if f == nil {
		var err error
		if f, err = os.Open(p); err != nil {
			return nil, err
		}
		r.files[p] = f
	}
	n, err := f.ReadAt(r.buf, 0)
	if err == io.EOF || (err == nil && n < len(r.buf)) {
		return r.buf[:n], nil
	}
	if err == nil {
		return nil, fmt.Errorf("%s is larger than %d bytes", p, len(r.buf))
	}
	if errors.Is(err, syscall.ENODEV) {
		return nil, errNoDevice
	}
	return nil, err
}

func (r *Reader) readUint(p string) (uint64, error) {
	b, err := r.readFile(p)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing %s: %w", p, err)
	}
	return v, nil
}

// readKV parses "key value" lines; values that are not integers are
// skipped.
func (r *Reader) readKV(p string) (map[string]uint64, error) {
	b, err := r.readFile(p)
	if err != nil {
		return nil, err
	}
	return parseKV(b), nil
}

func parseKV(b []byte) map[string]uint64 {
	out := make(map[string]uint64, 16)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out
}

// readPSI returns the some and full totals of a pressure file.
func (r *Reader) readPSI(file string) ([2]uint64, bool) {
	var out [2]uint64
	b, err := r.readFile(file)
	if err != nil {
		return out, false
	}
	return parsePSI(b)
}

func parsePSI(b []byte) ([2]uint64, bool) {
	var out [2]uint64
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		i := -1
		switch fields[0] {
		case "some":
			i = 0
		case "full":
			i = 1
		}
		if i < 0 {
			continue
		}
		for _, f := range fields[1:] {
			if v, ok := strings.CutPrefix(f, "total="); ok {
				if n, err := strconv.ParseUint(v, 10, 64); err == nil {
					out[i] = n
					found = true
				}
			}
		}
	}
	return out, found
}
