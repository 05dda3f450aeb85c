// Package scheme registers the arguments of Foresight's plugins into
// kube-scheduler's configuration scheme. Import it for its side effect in
// every binary that loads a KubeSchedulerConfiguration naming them.
package scheme

import (
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	schedscheme "k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"

	"github.com/foresight-dev/foresight/pkg/plugins/apis/config"
	configv1 "github.com/foresight-dev/foresight/pkg/plugins/apis/config/v1"
)

func init() {
	AddToScheme(schedscheme.Scheme)
}

// AddToScheme adds the internal and v1 argument types to a scheme.
func AddToScheme(scheme *runtime.Scheme) {
	utilruntime.Must(config.AddToScheme(scheme))
	utilruntime.Must(configv1.AddToScheme(scheme))
}
