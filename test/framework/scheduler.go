package framework

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"

	"k8s.io/klog/v2"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"
	"k8s.io/kubernetes/pkg/scheduler"
	"sigs.k8s.io/yaml"

	"github.com/foresight-dev/foresight/manifests"
	"github.com/foresight-dev/foresight/pkg/plugins"
)

// Scheduler is a Foresight scheduler running in this process.
type Scheduler struct {
	*scheduler.Scheduler
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// Stop stops the scheduler and waits until its goroutines are gone. It may
// be called more than once.
func (s *Scheduler) Stop() {
	s.cancel()
	s.done.Wait()
}

// ShippedSchedulerConfig returns the contents of a KubeSchedulerConfiguration
// shipped in manifests/scheduler/config, such as "foresight-scheduler.yaml".
func ShippedSchedulerConfig(name string) ([]byte, error) {
	return fs.ReadFile(manifests.SchedulerConfigs, path.Join("scheduler", "config", name))
}

// ShippedSchedulerConfigNames lists the shipped scheduler configurations.
func ShippedSchedulerConfigNames() ([]string, error) {
	paths, err := fs.Glob(manifests.SchedulerConfigs, "scheduler/config/*.yaml")
	if err != nil {
		return nil, err
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = path.Base(p)
	}
	return names, nil
}

// SchedulerOptions returns kube-scheduler's options for a shipped
// configuration, changed only in how it reaches the API server: it
// connects with kubeconfig instead of in-cluster credentials, does not
// elect a leader (it is alone) and serves no health endpoint (it would
// need a fixed port). The adjusted file is written to dir.
func SchedulerOptions(configName, kubeconfig, dir string) (*options.Options, error) {
	raw, err := ShippedSchedulerConfig(configName)
	if err != nil {
		return nil, err
	}
	return schedulerOptions(configName, raw, kubeconfig, dir)
}

func schedulerOptions(configName string, raw []byte, kubeconfig, dir string) (*options.Options, error) {
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", configName, err)
	}
	cfg["clientConnection"] = map[string]any{"kubeconfig": kubeconfig, "qps": 1000, "burst": 2000}
	cfg["leaderElection"] = map[string]any{"leaderElect": false}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, configName)
	if err := os.WriteFile(file, out, 0o600); err != nil {
		return nil, err
	}
	opts := options.NewOptions()
	opts.ConfigFile = file
	opts.SecureServing.BindPort = 0
	return opts, nil
}

// StartScheduler runs kube-scheduler with Foresight's plugins and a
// shipped configuration against the control plane, through kube-scheduler's
// own setup code (app.Setup). It returns once the scheduler's caches are
// synced; tb.Cleanup stops it.
func (cp *ControlPlane) StartScheduler(ctx context.Context, tb cleaner, configName string) (*Scheduler, error) {
	raw, err := ShippedSchedulerConfig(configName)
	if err != nil {
		return nil, err
	}
	return cp.StartSchedulerWithConfig(ctx, tb, configName, raw)
}

type cleaner interface {
	TempDir() string
	Cleanup(func())
}

// StartSchedulerWithConfig is StartScheduler with a configuration that is
// not shipped, such as kube-scheduler's default profile for a baseline.
func (cp *ControlPlane) StartSchedulerWithConfig(ctx context.Context, tb cleaner, configName string, raw []byte) (*Scheduler, error) {
	opts, err := schedulerOptions(configName, raw, cp.Kubeconfig, tb.TempDir())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	cc, sched, err := app.Setup(ctx, opts, plugins.Options()...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("setting up the scheduler with %s: %w", configName, err)
	}
	s := &Scheduler{Scheduler: sched, cancel: cancel}
	tb.Cleanup(s.Stop)

	// What app.Run does, without the process-wide registrations (configz,
	// secure serving) that allow one scheduler per process only.
	cc.EventBroadcaster.StartRecordingToSink(ctx.Done())
	cc.InformerFactory.Start(ctx.Done())
	if cc.DynInformerFactory != nil {
		cc.DynInformerFactory.Start(ctx.Done())
	}
	cc.InformerFactory.WaitForCacheSync(ctx.Done())
	if cc.DynInformerFactory != nil {
		cc.DynInformerFactory.WaitForCacheSync(ctx.Done())
	}
	if err := sched.WaitForHandlersSync(ctx); err != nil {
		klog.FromContext(ctx).Error(err, "Scheduler handlers not synced")
	}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		sched.Run(ctx)
		cc.EventBroadcaster.Shutdown()
		cc.InformerFactory.Shutdown()
		if cc.DynInformerFactory != nil {
			cc.DynInformerFactory.Shutdown()
		}
	}()
	return s, nil
}
