// Package client builds clients for the foresight.dev API from the client
// configuration of a Kubernetes component.
package client

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"

	"github.com/foresight-dev/foresight/pkg/generated/clientset/versioned"
)

// JSONConfig returns a copy of cfg that speaks JSON. Components such as
// kube-scheduler default to protobuf, which custom resources do not
// support.
func JSONConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.ContentType = runtime.ContentTypeJSON
	c.AcceptContentTypes = runtime.ContentTypeJSON
	return c
}

// New returns a foresight.dev clientset for cfg, whatever content type cfg
// asks for.
func New(cfg *rest.Config) (versioned.Interface, error) {
	c, err := versioned.NewForConfig(JSONConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("creating the foresight.dev client: %w", err)
	}
	return c, nil
}
