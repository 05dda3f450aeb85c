package profiler

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/generated/clientset/versioned"
)

// FieldManager is the agent's field manager name.
const FieldManager = "foresight-nodeagent"

// Publisher writes a node's NodeProfile. Build its client with
// pkg/client.New, which speaks JSON.
type Publisher struct {
	Client   versioned.Interface
	NodeName string
	created  bool
}

// Publish makes sure the NodeProfile exists, then replaces its status with
// one merge patch of the status subresource.
func (p *Publisher) Publish(ctx context.Context, status foresightv1alpha1.NodeProfileStatus) error {
	c := p.Client.ForesightV1alpha1().NodeProfiles()
	if !p.created {
		_, err := c.Create(ctx, &foresightv1alpha1.NodeProfile{
			ObjectMeta: metav1.ObjectMeta{Name: p.NodeName},
			Spec:       foresightv1alpha1.NodeProfileSpec{NodeName: p.NodeName},
		}, metav1.CreateOptions{FieldManager: FieldManager})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating NodeProfile %s: %w", p.NodeName, err)
		}
		p.created = true
	}
	data, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return fmt.Errorf("encoding NodeProfile status: %w", err)
	}
	if _, err := c.Patch(ctx, p.NodeName, types.MergePatchType, data, metav1.PatchOptions{FieldManager: FieldManager}, "status"); err != nil {
		if apierrors.IsNotFound(err) {
			p.created = false // deleted behind our back: recreate next time
		}
		return fmt.Errorf("patching NodeProfile %s status: %w", p.NodeName, err)
	}
	return nil
}
