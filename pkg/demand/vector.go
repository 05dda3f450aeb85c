package demand

import (
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// Resources Foresight accounts for, as indices into a Vector.
const (
	CPU     = iota // millicores
	Memory         // bytes
	DiskIO         // bytes per second
	Network        // bytes per second
	NumResources
)

// Vector is an amount of each resource: CPU in millicores, memory in
// bytes, disk I/O and network in bytes per second.
type Vector [NumResources]int64

// Add returns v + o.
func (v Vector) Add(o Vector) Vector {
	for i := range v {
		v[i] += o[i]
	}
	return v
}

// Sub returns v - o.
func (v Vector) Sub(o Vector) Vector {
	for i := range v {
		v[i] -= o[i]
	}
	return v
}

// Max returns the element-wise maximum of v and o.
func (v Vector) Max(o Vector) Vector {
	for i := range v {
		v[i] = max(v[i], o[i])
	}
	return v
}

// FitsIn tells whether v is within limit in every resource the limit
// bounds; a zero or negative limit means "not bounded".
func (v Vector) FitsIn(limit Vector) bool {
	for i := range v {
		if limit[i] > 0 && v[i] > limit[i] {
			return false
		}
	}
	return true
}

// IsZero tells whether every resource is zero.
func (v Vector) IsZero() bool { return v == Vector{} }

// FromResourceVector converts an API resource vector; absent fields are 0.
func FromResourceVector(r foresightv1alpha1.ResourceVector) Vector {
	var v Vector
	for i, q := range []*resource.Quantity{r.CPU, r.Memory, r.DiskIO, r.Network} {
		if q != nil {
			v[i] = QuantityIn(*q, i)
		}
	}
	return v
}

// ResourceVector converts v to its API form, leaving zero resources out.
func (v Vector) ResourceVector() foresightv1alpha1.ResourceVector {
	var r foresightv1alpha1.ResourceVector
	set := func(i int) *resource.Quantity {
		if v[i] == 0 {
			return nil
		}
		if i == CPU {
			return resource.NewMilliQuantity(v[i], resource.DecimalSI)
		}
		if i == Memory {
			return resource.NewQuantity(v[i], resource.BinarySI)
		}
		return resource.NewQuantity(v[i], resource.DecimalSI)
	}
	r.CPU, r.Memory, r.DiskIO, r.Network = set(CPU), set(Memory), set(DiskIO), set(Network)
	return r
}

// QuantityIn converts a quantity to the unit of resource idx: millicores for
// CPU, whole units otherwise.
func QuantityIn(q resource.Quantity, idx int) int64 {
	if idx == CPU {
		return q.MilliValue()
	}
	return q.Value()
}

// String writes v compactly, such as "cpu=500m,memory=256Mi".
func (v Vector) String() string {
	var b strings.Builder
	for i, name := range []string{"cpu", "memory", "diskIO", "network"} {
		if v[i] == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(name)
		b.WriteByte('=')
		switch i {
		case CPU:
			b.WriteString(resource.NewMilliQuantity(v[i], resource.DecimalSI).String())
		case Memory:
			b.WriteString(resource.NewQuantity(v[i], resource.BinarySI).String())
		default:
			b.WriteString(resource.NewQuantity(v[i], resource.DecimalSI).String())
		}
	}
	if b.Len() == 0 {
		return "0"
	}
	return b.String()
}

// Min returns the element-wise minimum of v and o.
func (v Vector) Min(o Vector) Vector {
	for i := range v {
		v[i] = min(v[i], o[i])
	}
	return v
}

// PodRequests returns a pod's CPU and memory requests as kube-scheduler
// counts them (init containers, sidecars, overhead and pod-level resources
// included).
func PodRequests(pod *v1.Pod) Vector {
	r := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	var v Vector
	if q, ok := r[v1.ResourceCPU]; ok {
		v[CPU] = q.MilliValue()
	}
	if q, ok := r[v1.ResourceMemory]; ok {
		v[Memory] = q.Value()
	}
	return v
}
