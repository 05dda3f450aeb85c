// Package plugins wires Foresight's scheduler plugins into kube-scheduler.
package plugins

import (
	"github.com/spf13/cobra"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/foresight-dev/foresight/pkg/generated/clientset/versioned"
	// Registers the plugins' arguments into kube-scheduler's scheme.
	_ "github.com/foresight-dev/foresight/pkg/plugins/apis/config/scheme"
	"github.com/foresight-dev/foresight/pkg/plugins/fairshare"
	"github.com/foresight-dev/foresight/pkg/plugins/foresight"
)

// Registry returns the out-of-tree plugins of Foresight, for
// scheduler.WithFrameworkOutOfTreeRegistry.
func Registry() frameworkruntime.Registry {
	return frameworkruntime.Registry{
		foresight.Name: foresight.New,
		fairshare.Name: fairshare.New,
	}
}

// RegistryWithClient is Registry with plugins that read Foresight objects
// through client (a fake clientset in the simulator).
func RegistryWithClient(client versioned.Interface) frameworkruntime.Registry {
	return frameworkruntime.Registry{
		foresight.Name: foresight.Factory(client),
		fairshare.Name: fairshare.Factory(client),
	}
}

// Options returns the options that register Foresight's plugins with
// kube-scheduler's command or app.Setup.
func Options() []app.Option {
	var opts []app.Option
	for name, factory := range Registry() {
		opts = append(opts, app.WithPlugin(name, factory))
	}
	return opts
}

// NewSchedulerCommand returns kube-scheduler's command with Foresight's
// plugins registered.
func NewSchedulerCommand() *cobra.Command {
	return app.NewSchedulerCommand(Options()...)
}
