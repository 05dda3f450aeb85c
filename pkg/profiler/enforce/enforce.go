package enforce

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
)

// Write is one value to write to one cgroup file.
type Write struct {
	// File is the absolute path of the cgroup file.
	File  string
	Value string
}

// minQuotaMicros is the smallest CFS quota the kernel accepts.
const minQuotaMicros = 1000

// Plan computes the writes that give each member pod of a partition its
// share of the partition's size: CPU as a CFS quota, memory as memory.high
// (v2) or memory.soft_limit_in_bytes (v1, the closest equivalent: a
// reclaim target, not a hard limit). A member's share is its predicted
// demand over the sum of the members' predictions, or an equal split when
// any member has no prediction for that resource. podCgroups maps a pod UID
// to its pod cgroup path (relative to the hierarchy roots); members whose
// cgroup is not on this node are skipped.
func Plan(l discovery.Layout, part *foresightv1alpha1.Partition, podCgroups map[types.UID]string) ([]Write, error) {
	var members []foresightv1alpha1.PartitionMember
	for _, m := range part.Spec.Members {
		if _, ok := podCgroups[m.UID]; ok {
			members = append(members, m)
		}
	}
	if len(members) == 0 {
		return nil, nil
	}
	cpuShares := shares(members, func(v foresightv1alpha1.ResourceVector) *resource.Quantity { return v.CPU })
	memShares := shares(members, func(v foresightv1alpha1.ResourceVector) *resource.Quantity { return v.Memory })
	var out []Write
	for i, m := range members {
		path := podCgroups[m.UID]
		if q := part.Spec.Size.CPU; q != nil {
			cores := q.AsApproximateFloat64() * cpuShares[i]
			switch l.Mode {
			case discovery.ModeV2:
				const period = 100000
				out = append(out, Write{File: filepath.Join(l.Root, path, "cpu.max"), Value: fmt.Sprintf("%d %d", quota(cores, period), period)})
			default:
				dir := filepath.Join(l.Root, "cpu", path)
				period, err := readInt(filepath.Join(dir, "cpu.cfs_period_us"))
				if err != nil {
					return nil, err
				}
				out = append(out, Write{File: filepath.Join(dir, "cpu.cfs_quota_us"), Value: strconv.FormatInt(quota(cores, period), 10)})
			}
		}
		if q := part.Spec.Size.Memory; q != nil {
			bytes := int64(math.Ceil(q.AsApproximateFloat64() * memShares[i]))
			switch l.Mode {
			case discovery.ModeV2:
				out = append(out, Write{File: filepath.Join(l.Root, path, "memory.high"), Value: strconv.FormatInt(bytes, 10)})
			default:
				out = append(out, Write{File: filepath.Join(l.Root, "memory", path, "memory.soft_limit_in_bytes"), Value: strconv.FormatInt(bytes, 10)})
			}
		}
	}
	return out, nil
}

func quota(cores float64, period int64) int64 {
	q := int64(math.Ceil(cores * float64(period)))
	if q < minQuotaMicros {
		q = minQuotaMicros
	}
	return q
}

func shares(ms []foresightv1alpha1.PartitionMember, get func(foresightv1alpha1.ResourceVector) *resource.Quantity) []float64 {
	out := make([]float64, len(ms))
	total := 0.0
	for i, m := range ms {
		q := get(m.Predicted)
		if q == nil || q.Sign() <= 0 {
			total = 0
			break
		}
		out[i] = q.AsApproximateFloat64()
		total += out[i]
	}
	for i := range out {
		if total == 0 {
			out[i] = 1 / float64(len(ms))
		} else {
			out[i] /= total
		}
	}
	return out
}

func readInt(p string) (int64, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", p, err)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing %s: %w", p, err)
	}
	return v, nil
}

// Enforcer applies plans and remembers the original value of every file it
// changed, so that it can put them back.
type Enforcer struct {
	mu        sync.Mutex
	originals map[string]string
	store     OriginalStore
}

// OriginalStore keeps the original values of changed files on disk, so
// that an agent killed before it could restore them (SIGKILL, a crash, an
// OOM kill) restores them when it starts again. store.Store implements it.
type OriginalStore interface {
	// SaveOriginal records a file's original unless one is recorded, and
	// returns once it is durable.
	SaveOriginal(file, value string) error
	DeleteOriginal(file string) error
	Originals() (map[string]string, error)
}

// NewEnforcer returns an Enforcer that has changed nothing and keeps
// originals in memory only.
func NewEnforcer() *Enforcer { return &Enforcer{originals: map[string]string{}} }

// NewPersistentEnforcer returns an Enforcer that records every original in
// s before it first writes the file, and starts with the originals a
// previous agent left there: files it still has to put back. They are
// restored by the next Apply that does not plan them (Off, DryRun, or
// Enforce without them) or by Restore.
func NewPersistentEnforcer(s OriginalStore) (*Enforcer, error) {
	orig, err := s.Originals()
	if err != nil {
		return nil, fmt.Errorf("reading the recorded cgroup originals: %w", err)
	}
	return &Enforcer{originals: orig, store: s}, nil
}

// Pending returns the files whose original the Enforcer has to put back,
// sorted.
func (e *Enforcer) Pending() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, 0, len(e.originals))
	for f := range e.originals {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Apply makes the node match writes in mode. Off restores everything;
// DryRun logs each write and restores anything a previous Enforce
// changed; Enforce writes, and restores files no longer in the plan (a pod
// left the partition). It returns the writes it made or, in DryRun, would
// have made.
func (e *Enforcer) Apply(ctx context.Context, mode foresightv1alpha1.EnforcementMode, writes []Write) ([]Write, error) {
	logger := klog.FromContext(ctx)
	e.mu.Lock()
	defer e.mu.Unlock()
	switch mode {
	case foresightv1alpha1.EnforcementOff, "":
		return nil, e.restoreLocked(ctx, nil)
	case foresightv1alpha1.EnforcementDryRun:
		for _, w := range writes {
			logger.Info("Dry run: would write partition size", "file", w.File, "value", w.Value)
		}
		return writes, e.restoreLocked(ctx, nil)
	case foresightv1alpha1.EnforcementEnforce:
	default:
		return nil, fmt.Errorf("unknown enforcement mode %q", mode)
	}
	keep := map[string]bool{}
	var done []Write
	var errs []error
	for _, w := range writes {
		keep[w.File] = true
		if _, ok := e.originals[w.File]; !ok {
			b, err := os.ReadFile(w.File)
			if err != nil {
				errs = append(errs, fmt.Errorf("reading original %s: %w", w.File, err))
				continue
			}
			// What a cgroup file reads is writable back: "-1" (cfs_quota_us),
			// "max" (memory.high), "max 100000" (cpu.max), a number.
			orig := strings.TrimSpace(string(b))
			// The original is on disk before the file changes, or the file
			// is not changed.
			if e.store != nil {
				if err := e.store.SaveOriginal(w.File, orig); err != nil {
					errs = append(errs, fmt.Errorf("recording original %s: %w", w.File, err))
					continue
				}
			}
			e.originals[w.File] = orig
		}
		if err := os.WriteFile(w.File, []byte(w.Value), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("writing %s: %w", w.File, err))
			continue
		}
		logger.V(4).Info("Wrote partition size", "file", w.File, "value", w.Value)
		done = append(done, w)
	}
	errs = append(errs, e.restoreLocked(ctx, keep))
	return done, errors.Join(errs...)
}

// Restore writes back every original value.
func (e *Enforcer) Restore(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.restoreLocked(ctx, nil)
}

func (e *Enforcer) restoreLocked(ctx context.Context, keep map[string]bool) error {
	logger := klog.FromContext(ctx)
	files := make([]string, 0, len(e.originals))
	for f := range e.originals {
		if !keep[f] {
			files = append(files, f)
		}
	}
	sort.Strings(files)
	var errs []error
	for _, f := range files {
		err := os.WriteFile(f, []byte(e.originals[f]), 0o644)
		if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENODEV) {
			errs = append(errs, fmt.Errorf("restoring %s: %w", f, err))
			continue // keep it to retry
		}
		logger.V(4).Info("Restored cgroup file", "file", f, "value", e.originals[f])
		if e.store != nil {
			if err := e.store.DeleteOriginal(f); err != nil {
				errs = append(errs, fmt.Errorf("forgetting the original of %s: %w", f, err))
				continue // restored; forgetting it is retried
			}
		}
		delete(e.originals, f)
	}
	return errors.Join(errs...)
}
