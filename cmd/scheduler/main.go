// Command foresight-scheduler is kube-scheduler with Foresight's plugins
// registered. Run it as a second scheduler (schedulerName:
// foresight-scheduler) or in place of the default one; see
// manifests/scheduler.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"

	"github.com/foresight-dev/foresight/pkg/plugins"
)

func main() {
	os.Exit(cli.Run(plugins.NewSchedulerCommand()))
}
