package annotations

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// Prefix is the prefix of every Foresight annotation.
const Prefix = "foresight.dev/"

// The annotations a pod's owner may set.
const (
	// SLAClass is the pod's SLA class: critical, standard, batch or
	// best-effort.
	SLAClass = Prefix + "sla-class"
	// Priority is the pod's priority within its tenant, 0 to 1000; it orders
	// the tenant's own pending pods and never lifts a pod above another
	// tenant's.
	Priority = Prefix + "priority"
	// MinCPU is CPU the pod reserves in full whatever its prediction says,
	// as a quantity such as "500m".
	MinCPU = Prefix + "min-cpu"
	// MemoryBandwidth is memory bandwidth the pod reserves, in bytes per
	// second, as a quantity such as "2Gi".
	MemoryBandwidth = Prefix + "memory-bandwidth"
	// Migration set to "disabled" opts the pod out of migration; "allowed"
	// is the default.
	Migration = Prefix + "migration"
)

// The annotations Foresight writes; users must not set them by hand, but
// their presence is not an error.
const (
	// OriginalRequests records a pod's requests before rightsizing.
	OriginalRequests = Prefix + "original-requests"
	// Placement records why the scheduler placed the pod where it did.
	Placement = Prefix + "placement"
	// PartitionName records the partition the pod was placed in.
	PartitionName = Prefix + "partition"
)

// Values of the Migration annotation.
const (
	MigrationAllowed  = "allowed"
	MigrationDisabled = "disabled"
)

var userKeys = []string{SLAClass, Priority, MinCPU, MemoryBandwidth, Migration}

var systemKeys = map[string]bool{OriginalRequests: true, Placement: true, PartitionName: true}

// Spec is what a pod declares through its annotations, with defaults from
// its namespace's policy filled in.
type Spec struct {
	// Class is the pod's SLA class.
	Class foresightv1alpha1.SLAClass
	// Priority within the tenant, 0 to foresightv1alpha1.MaxTenantPriority.
	Priority int32
	// MinCPU is the guaranteed CPU; zero when none is declared.
	MinCPU resource.Quantity
	// MemoryBandwidth is the guaranteed memory bandwidth in bytes per second;
	// zero when none is declared.
	MemoryBandwidth resource.Quantity
	// MigrationDisabled is true when the pod opted out of migration.
	MigrationDisabled bool
}

// Parse reads the Foresight annotations of a pod without applying any
// policy. A class that is not declared is left empty. Every problem is
// reported, each under the path of its annotation.
func Parse(annotations map[string]string) (Spec, field.ErrorList) {
	var spec Spec
	var errs field.ErrorList
	path := field.NewPath("metadata", "annotations")

	for _, key := range sortedKeys(annotations) {
		if !strings.HasPrefix(key, Prefix) || systemKeys[key] {
			continue
		}
		value := annotations[key]
		p := path.Key(key)
		switch key {
		case SLAClass:
			class := foresightv1alpha1.SLAClass(value)
			if _, ok := classes[class]; !ok {
				errs = append(errs, field.NotSupported(p, value, classNames()))
				continue
			}
			spec.Class = class
		case Priority:
			n, err := strconv.ParseInt(value, 10, 32)
			if err != nil {
				errs = append(errs, field.Invalid(p, value, "must be an integer"))
				continue
			}
			if n < 0 || n > foresightv1alpha1.MaxTenantPriority {
				errs = append(errs, field.Invalid(p, value, fmt.Sprintf("must be between 0 and %d", foresightv1alpha1.MaxTenantPriority)))
				continue
			}
			spec.Priority = int32(n)
		case MinCPU:
			q, err := parsePositiveQuantity(value)
			if err != nil {
				errs = append(errs, field.Invalid(p, value, err.Error()))
				continue
			}
			spec.MinCPU = q
		case MemoryBandwidth:
			q, err := parsePositiveQuantity(value)
			if err != nil {
				errs = append(errs, field.Invalid(p, value, err.Error()))
				continue
			}
			spec.MemoryBandwidth = q
		case Migration:
			switch value {
			case MigrationAllowed:
			case MigrationDisabled:
				spec.MigrationDisabled = true
			default:
				errs = append(errs, field.NotSupported(p, value, []string{MigrationAllowed, MigrationDisabled}))
			}
		default:
			// A misspelt key would silently do nothing: refuse it.
			errs = append(errs, field.NotSupported(path, key, userKeys))
		}
	}
	return spec, errs
}

// ForPod parses a pod's annotations and checks them against its
// namespace's policy (nil means the namespace has none and DefaultPolicy
// applies) and against the pod itself: a guarantee cannot exceed the pod's
// limits. It returns the pod's spec with the policy's defaults filled in.
func ForPod(pod *corev1.Pod, policy *foresightv1alpha1.TenantPolicySpec) (Spec, error) {
	spec, errs := Parse(pod.Annotations)
	if policy == nil {
		policy = DefaultPolicy()
	}
	errs = append(errs, spec.admit(policy)...)
	errs = append(errs, spec.checkLimits(pod)...)
	if len(errs) > 0 {
		return Spec{}, errs.ToAggregate()
	}
	if spec.Class == "" {
		spec.Class = DefaultClass(policy)
	}
	return spec, nil
}

// admit checks a parsed spec against a namespace policy.
func (s Spec) admit(policy *foresightv1alpha1.TenantPolicySpec) field.ErrorList {
	var errs field.ErrorList
	path := field.NewPath("metadata", "annotations")
	if s.Class != "" && !classAllowed(policy, s.Class) {
		errs = append(errs, field.Forbidden(path.Key(SLAClass),
			fmt.Sprintf("the namespace's TenantPolicy allows only %s", joinClasses(policy.AllowedClasses))))
	}
	maxPriority := policy.MaxPriority
	if s.Priority > maxPriority {
		errs = append(errs, field.Forbidden(path.Key(Priority),
			fmt.Sprintf("%d exceeds the namespace's maxPriority %d", s.Priority, maxPriority)))
	}
	errs = append(errs, checkGuarantee(path.Key(MinCPU), s.MinCPU, policy.MaxGuarantees.CPU, "cpu")...)
	errs = append(errs, checkGuarantee(path.Key(MemoryBandwidth), s.MemoryBandwidth, policy.MaxGuarantees.MemoryBandwidth, "memoryBandwidth")...)
	if s.MigrationDisabled && policy.AllowMigrationOptOut != nil && !*policy.AllowMigrationOptOut {
		errs = append(errs, field.Forbidden(path.Key(Migration), "the namespace's TenantPolicy does not allow opting out of migration"))
	}
	return errs
}

func checkGuarantee(p *field.Path, declared resource.Quantity, limit *resource.Quantity, name string) field.ErrorList {
	if declared.IsZero() {
		return nil
	}
	if limit == nil {
		return field.ErrorList{field.Forbidden(p, fmt.Sprintf("the namespace's TenantPolicy allows no %s guarantee (spec.maxGuarantees.%s is not set)", name, name))}
	}
	if declared.Cmp(*limit) > 0 {
		return field.ErrorList{field.Forbidden(p, fmt.Sprintf("%s exceeds the namespace's maximum %s guarantee %s", declared.String(), name, limit.String()))}
	}
	return nil
}

// checkLimits refuses a CPU guarantee above the pod's CPU limit, when every
// container has one.
func (s Spec) checkLimits(pod *corev1.Pod) field.ErrorList {
	if s.MinCPU.IsZero() || len(pod.Spec.Containers) == 0 {
		return nil
	}
	var total resource.Quantity
	for _, c := range pod.Spec.Containers {
		limit, ok := c.Resources.Limits[corev1.ResourceCPU]
		if !ok {
			return nil
		}
		total.Add(limit)
	}
	if s.MinCPU.Cmp(total) > 0 {
		return field.ErrorList{field.Invalid(field.NewPath("metadata", "annotations").Key(MinCPU), s.MinCPU.String(),
			fmt.Sprintf("exceeds the pod's total CPU limit %s", total.String()))}
	}
	return nil
}

// DefaultPolicy is the policy of a namespace without a TenantPolicy: any
// class but critical, the full priority range, no guarantees, migration
// opt-out allowed, no rightsizing.
func DefaultPolicy() *foresightv1alpha1.TenantPolicySpec {
	allow := true
	return &foresightv1alpha1.TenantPolicySpec{
		Weight: 1,
		AllowedClasses: []foresightv1alpha1.SLAClass{
			foresightv1alpha1.SLAClassStandard, foresightv1alpha1.SLAClassBatch, foresightv1alpha1.SLAClassBestEffort,
		},
		DefaultClass:         foresightv1alpha1.SLAClassStandard,
		MaxPriority:          foresightv1alpha1.MaxTenantPriority,
		AllowMigrationOptOut: &allow,
	}
}

// DefaultClass is the class a policy gives pods that declare none: its
// DefaultClass, else standard when allowed, else its lowest allowed class.
func DefaultClass(policy *foresightv1alpha1.TenantPolicySpec) foresightv1alpha1.SLAClass {
	if policy.DefaultClass != "" {
		return policy.DefaultClass
	}
	if classAllowed(policy, foresightv1alpha1.SLAClassStandard) || len(policy.AllowedClasses) == 0 {
		return foresightv1alpha1.SLAClassStandard
	}
	lowest := policy.AllowedClasses[0]
	for _, c := range policy.AllowedClasses[1:] {
		if classes[c].rank < classes[lowest].rank {
			lowest = c
		}
	}
	return lowest
}

func classAllowed(policy *foresightv1alpha1.TenantPolicySpec, class foresightv1alpha1.SLAClass) bool {
	for _, c := range policy.AllowedClasses {
		if c == class {
			return true
		}
	}
	return false
}

func parsePositiveQuantity(value string) (resource.Quantity, error) {
	q, err := resource.ParseQuantity(value)
	if err != nil {
		return resource.Quantity{}, fmt.Errorf("must be a quantity such as 500m or 2Gi")
	}
	if q.Sign() <= 0 {
		return resource.Quantity{}, fmt.Errorf("must be greater than zero")
	}
	return q, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinClasses(cs []foresightv1alpha1.SLAClass) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}
