package cgroups

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
)

// ErrGone is returned when a container's cgroup no longer exists.
var ErrGone = errors.New("cgroup is gone")

// Fields select the counters a Reader reads; each costs one or two file
// reads per sample.
type Fields uint8

// The counters of a Sample, by the files they cost.
const (
	// FieldCPU is CPUUsageNanos (v1 cpuacct.usage, v2 cpu.stat).
	FieldCPU Fields = 1 << iota
	// FieldThrottling is CPUPeriods, CPUThrottledPeriods and
	// CPUThrottledNanos (cpu.stat; on v2 the file FieldCPU reads).
	FieldThrottling
	// FieldMemory is MemoryUsageBytes, MemoryWorkingSetBytes and
	// MemoryRSSBytes (memory.usage_in_bytes or memory.current, and
	// memory.stat).
	FieldMemory
	// FieldOOM is OOMKills (v1 memory.oom_control, v2 memory.events).
	FieldOOM
	// FieldPressure is HasPSI and the pressure totals (cpu.pressure and
	// memory.pressure in the v2 tree).
	FieldPressure
	// AllFields is every counter of a Sample.
	AllFields = FieldCPU | FieldThrottling | FieldMemory | FieldOOM | FieldPressure
)

// The files a Reader may read, as indexes of Reader.files.
const (
	fileCPUUsage    = iota // v1 cpuacct.usage
	fileCPUStat            // cpu.stat
	fileMemUsage           // v1 memory.usage_in_bytes, v2 memory.current
	fileMemStat            // memory.stat
	fileOOM                // v1 memory.oom_control, v2 memory.events
	fileCPUPressure        // v2 cpu.pressure
	fileMemPressure        // v2 memory.pressure
	numFiles
)

// The keys read from "key value" files.
var (
	v1CPUStatKeys = []string{"nr_periods", "nr_throttled", "throttled_time"}
	v1MemStatKeys = []string{"total_inactive_file", "total_rss"}
	v2CPUStatKeys = []string{"usage_usec", "nr_periods", "nr_throttled", "throttled_usec"}
	v2MemStatKeys = []string{"inactive_file", "anon"}
	oomKeys       = []string{"oom_kill"}
)

// cgroupFile is one file of a Reader: its path ("" when the hierarchy has
// no such cgroup) and, once read, the open file.
type cgroupFile struct {
	path string
	f    *os.File
}

// Reader reads the counters of one container cgroup.
//
// containerd/cgroups/v3's cgroup1 and cgroup2 packages would do the same,
// but they pull in modules (godbus, go-units, runtime-spec, containerd/log)
// that are not in go.mod; the files read here are the ones those packages
// read.
type Reader struct {
	path   string
	mode   discovery.Mode
	fields Fields
	// files stay open and are re-read with pread at offset 0: one system
	// call per file and sample instead of five (open, fstat, read, read,
	// close). Their paths are made once, in Open.
	files [numFiles]cgroupFile
	buf   []byte
}

// Close closes the files the Reader keeps open.
func (r *Reader) Close() error {
	var errs []error
	for i := range r.files {
		if f := r.files[i].f; f != nil {
			errs = append(errs, f.Close())
			r.files[i].f = nil
		}
	}
	return errors.Join(errs...)
}

// Open prepares a Reader of every counter (AllFields) for the cgroup at
// path (relative to the hierarchy roots, as discovery.Container.Path). It
// fails with ErrGone when the cgroup does not exist.
func Open(l discovery.Layout, path string) (*Reader, error) {
	return OpenFields(l, path, AllFields)
}

// OpenFields is Open for the counters in fields only; the others stay zero
// in every Sample.
func OpenFields(l discovery.Layout, path string, fields Fields) (*Reader, error) {
	r := &Reader{path: path, mode: l.Mode, fields: fields, buf: make([]byte, 8192)}
	var v2 string
	if root := l.V2Root(); root != "" {
		if d := filepath.Join(root, path); isDir(d) {
			v2 = d
		}
	}
	set := func(i int, dir, name string) {
		if dir != "" {
			r.files[i].path = filepath.Join(dir, name)
		}
	}
	if v2 != "" {
		// Pressure files work in the v2 tree even on hybrid hosts, where
		// they reflect the v1 controllers.
		set(fileCPUPressure, v2, "cpu.pressure")
		set(fileMemPressure, v2, "memory.pressure")
	}
	if l.Mode == discovery.ModeV2 {
		if v2 == "" {
			return nil, fmt.Errorf("%w: %s", ErrGone, path)
		}
		set(fileCPUStat, v2, "cpu.stat")
		set(fileMemUsage, v2, "memory.current")
		set(fileMemStat, v2, "memory.stat")
		set(fileOOM, v2, "memory.events")
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
	cpu := pick("cpu", "cpu,cpuacct")
	cpuacct := pick("cpuacct", "cpu,cpuacct")
	memory := pick("memory")
	if cpuacct == "" && memory == "" {
		return nil, fmt.Errorf("%w: %s", ErrGone, path)
	}
	set(fileCPUUsage, cpuacct, "cpuacct.usage")
	set(fileCPUStat, cpu, "cpu.stat")
	set(fileMemUsage, memory, "memory.usage_in_bytes")
	set(fileMemStat, memory, "memory.stat")
	set(fileOOM, memory, "memory.oom_control")
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
	if r.fields&FieldPressure != 0 {
		if psi, ok := r.readPSI(fileCPUPressure); ok {
			s.HasPSI = true
			s.CPUPressureSomeMicros = psi[0]
		}
		if psi, ok := r.readPSI(fileMemPressure); ok {
			s.HasPSI = true
			s.MemoryPressureSomeMicros, s.MemoryPressureFullMicros = psi[0], psi[1]
		}
	}
	return s, nil
}

// errNoDevice is what reading a file of a removed cgroup returns.
var errNoDevice = errors.New("no such device")

// want reports whether the Reader reads any of fields from file i.
func (r *Reader) want(fields Fields, i int) bool {
	return r.fields&fields != 0 && r.files[i].path != ""
}

func (r *Reader) readV1(s *Sample) error {
	if r.want(FieldCPU, fileCPUUsage) {
		v, err := r.readUint(fileCPUUsage)
		if err != nil {
			return err
		}
		s.CPUUsageNanos = v
	}
	if r.want(FieldThrottling, fileCPUStat) {
		var v [3]uint64
		if err := r.readKV(fileCPUStat, v1CPUStatKeys, v[:]); err != nil {
			return err
		}
		s.CPUPeriods, s.CPUThrottledPeriods, s.CPUThrottledNanos = v[0], v[1], v[2]
	}
	if r.want(FieldMemory, fileMemUsage) {
		usage, err := r.readUint(fileMemUsage)
		if err != nil {
			return err
		}
		var v [2]uint64
		if err := r.readKV(fileMemStat, v1MemStatKeys, v[:]); err != nil {
			return err
		}
		s.MemoryUsageBytes = usage
		s.MemoryWorkingSetBytes = WorkingSet(usage, v[0])
		s.MemoryRSSBytes = v[1]
	}
	if r.want(FieldOOM, fileOOM) {
		var v [1]uint64
		if err := r.readKV(fileOOM, oomKeys, v[:]); err != nil {
			return err
		}
		s.OOMKills = v[0]
	}
	return nil
}

func (r *Reader) readV2(s *Sample) error {
	if r.fields&(FieldCPU|FieldThrottling) != 0 {
		var v [4]uint64
		if err := r.readKV(fileCPUStat, v2CPUStatKeys, v[:]); err != nil {
			return err
		}
		s.CPUUsageNanos = v[0] * 1000
		s.CPUPeriods, s.CPUThrottledPeriods, s.CPUThrottledNanos = v[1], v[2], v[3]*1000
	}
	if r.fields&(FieldMemory|FieldOOM) == 0 {
		return nil
	}
	usage, err := r.readUint(fileMemUsage)
	if errors.Is(err, os.ErrNotExist) {
		return nil // memory controller not enabled for this cgroup
	}
	if err != nil {
		return err
	}
	if r.fields&FieldMemory != 0 {
		var v [2]uint64
		if err := r.readKV(fileMemStat, v2MemStatKeys, v[:]); err != nil {
			return err
		}
		s.MemoryUsageBytes = usage
		s.MemoryWorkingSetBytes = WorkingSet(usage, v[0])
		s.MemoryRSSBytes = v[1]
	}
	if r.fields&FieldOOM != 0 {
		var v [1]uint64
		if err := r.readKV(fileOOM, oomKeys, v[:]); err != nil {
			return err
		}
		s.OOMKills = v[0]
	}
	return nil
}

// readFile returns the content of file i, valid until the next call.
func (r *Reader) readFile(i int) ([]byte, error) {
	cf := &r.files[i]
	if cf.f == nil {
		f, err := os.Open(cf.path)
		if err != nil {
			return nil, err
		}
		cf.f = f
	}
	n, err := cf.f.ReadAt(r.buf, 0)
	if err == io.EOF || (err == nil && n < len(r.buf)) {
		return r.buf[:n], nil
	}
	if err == nil {
		return nil, fmt.Errorf("%s is larger than %d bytes", cf.path, len(r.buf))
	}
	if errors.Is(err, syscall.ENODEV) {
		return nil, errNoDevice
	}
	return nil, err
}

func (r *Reader) readUint(i int) (uint64, error) {
	b, err := r.readFile(i)
	if err != nil {
		return 0, err
	}
	v, ok := parseUint(b)
	if !ok {
		return 0, fmt.Errorf("parsing %s: %q is not a number", r.files[i].path, bytes.TrimSpace(b))
	}
	return v, nil
}

// readKV reads the values of keys from a file of "key value" lines into
// vals.
func (r *Reader) readKV(i int, keys []string, vals []uint64) error {
	b, err := r.readFile(i)
	if err != nil {
		return err
	}
	scanKV(b, keys, vals)
	return nil
}

// parseUint parses a decimal number with white space around it, without
// allocating.
func parseUint(b []byte) (uint64, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// nextLine splits b at its first newline.
func nextLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// scanKV sets vals[i] to the value of the line "keys[i] value" of b; keys
// without such a line, or whose value is not a number, leave vals[i]
// alone.
func scanKV(b []byte, keys []string, vals []uint64) {
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		k, v, ok := bytes.Cut(line, []byte{' '})
		if !ok {
			continue
		}
		for i, key := range keys {
			if string(k) == key {
				if n, ok := parseUint(v); ok {
					vals[i] = n
				}
				break
			}
		}
	}
}

// readPSI returns the some and full totals of pressure file i.
func (r *Reader) readPSI(i int) ([2]uint64, bool) {
	var out [2]uint64
	if r.files[i].path == "" {
		return out, false
	}
	b, err := r.readFile(i)
	if err != nil {
		return out, false
	}
	return parsePSI(b)
}

// parsePSI returns the total= values of the "some" and "full" lines.
func parsePSI(b []byte) ([2]uint64, bool) {
	var out [2]uint64
	found := false
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		kind, rest, _ := bytes.Cut(line, []byte{' '})
		i := -1
		switch string(kind) {
		case "some":
			i = 0
		case "full":
			i = 1
		}
		if i < 0 {
			continue
		}
		for len(rest) > 0 {
			var f []byte
			f, rest, _ = bytes.Cut(rest, []byte{' '})
			if v, ok := bytes.CutPrefix(f, []byte("total=")); ok {
				if n, ok := parseUint(v); ok {
					out[i] = n
					found = true
				}
			}
		}
	}
	return out, found
}
