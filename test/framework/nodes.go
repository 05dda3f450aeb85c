package framework

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// PoolLabel is the node label the pools created by CreatePool select on.
const PoolLabel = "foresight.dev/pool"

// PoolSpec describes a pool of identical kubelet-less nodes to create.
type PoolSpec struct {
	Name  string
	Tier  foresightv1alpha1.PoolTier
	Nodes int
	// CPU and Memory are each node's capacity, as quantities.
	CPU, Memory string
	// PerNodeHour is the price of a node; empty for none.
	PerNodeHour string
	// Taints are set on every node of the pool.
	Taints []v1.Taint
}

// CreatePool creates a ResourcePool selecting PoolLabel=<name> and its
// nodes, named <name>-<i>, Ready, with capacity and allocatable set.
func (cp *ControlPlane) CreatePool(ctx context.Context, spec PoolSpec) (*foresightv1alpha1.ResourcePool, []*v1.Node, error) {
	pool := &foresightv1alpha1.ResourcePool{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Name},
		Spec: foresightv1alpha1.ResourcePoolSpec{
			Tier:         spec.Tier,
			NodeSelector: metav1.LabelSelector{MatchLabels: map[string]string{PoolLabel: spec.Name}},
		},
	}
	if spec.PerNodeHour != "" {
		q, err := resource.ParseQuantity(spec.PerNodeHour)
		if err != nil {
			return nil, nil, fmt.Errorf("pool %s: price: %w", spec.Name, err)
		}
		pool.Spec.Cost.PerNodeHour = &q
	}
	created, err := cp.Foresight.ForesightV1alpha1().ResourcePools().Create(ctx, pool, metav1.CreateOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("creating ResourcePool %s: %w", spec.Name, err)
	}
	nodes := make([]*v1.Node, 0, spec.Nodes)
	for i := range spec.Nodes {
		n, err := cp.CreateNode(ctx, fmt.Sprintf("%s-%d", spec.Name, i), map[string]string{PoolLabel: spec.Name}, spec.CPU, spec.Memory, spec.Taints...)
		if err != nil {
			return nil, nil, err
		}
		nodes = append(nodes, n)
	}
	return created, nodes, nil
}

// CreateNode creates a Ready node with the given labels and capacity; it
// can hold 110 pods.
func (cp *ControlPlane) CreateNode(ctx context.Context, name string, labels map[string]string, cpu, memory string, taints ...v1.Taint) (*v1.Node, error) {
	w := st.MakeNode().Name(name).Capacity(map[v1.ResourceName]string{
		v1.ResourceCPU: cpu, v1.ResourceMemory: memory, v1.ResourcePods: "110",
	}).Condition(v1.NodeReady, v1.ConditionTrue, "no kubelet: a test node", "KubeletReady")
	for k, v := range labels {
		w = w.Label(k, v)
	}
	node := w.Obj()
	node.Spec.Taints = taints
	// Nodes, unlike most objects, keep the status they are created with.
	n, err := cp.Kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating node %s: %w", name, err)
	}
	return n, nil
}
