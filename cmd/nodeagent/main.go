// Command foresight-nodeagent is the Foresight node agent (DaemonSet): it
// measures every container on its node from cgroups and eBPF, keeps their
// profiles under a host path and publishes the node's NodeProfile.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/client"
	foresightinformers "github.com/foresight-dev/foresight/pkg/generated/informers/externalversions"
	"github.com/foresight-dev/foresight/pkg/profiler"
	"github.com/foresight-dev/foresight/pkg/profiler/discovery"
	"github.com/foresight-dev/foresight/pkg/profiler/enforce"
	"github.com/foresight-dev/foresight/pkg/profiler/store"
	"github.com/foresight-dev/foresight/pkg/version"
)

type options struct {
	nodeName          string
	kubeconfig        string
	interval          time.Duration
	publishInterval   time.Duration
	flushInterval     time.Duration
	window            time.Duration
	stateDir          string
	cgroupRoot        string
	listen            string
	ebpf              bool
	ebpfKernelStats   bool
	publishContainers bool
}

func main() {
	klog.InitFlags(nil)
	var o options
	flag.StringVar(&o.nodeName, "node-name", os.Getenv("NODE_NAME"), "Name of this node (default $NODE_NAME).")
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "Path of a kubeconfig; in-cluster configuration when empty.")
	flag.DurationVar(&o.interval, "interval", time.Second, "Sampling interval.")
	flag.DurationVar(&o.publishInterval, "publish-interval", 15*time.Second, "Interval between NodeProfile status patches.")
	flag.DurationVar(&o.flushInterval, "flush-interval", time.Minute, "Interval between writes of the profiles to the state directory.")
	flag.DurationVar(&o.window, "window", 24*time.Hour, "Window of the published statistics.")
	flag.StringVar(&o.stateDir, "state-dir", "/var/lib/foresight-agent", "Host directory for the profile store.")
	flag.StringVar(&o.cgroupRoot, "cgroup-root", "/sys/fs/cgroup", "Mount root of the cgroup file systems.")
	flag.StringVar(&o.listen, "listen", ":9560", "Address of /metrics, /healthz and /readyz.")
	flag.BoolVar(&o.ebpf, "ebpf", true, "Load the eBPF programs (network, block I/O, scheduler).")
	flag.BoolVar(&o.ebpfKernelStats, "ebpf-kernel-stats", false, "Turn on the kernel's BPF run-time statistics for the per-program metrics (needs CAP_SYS_ADMIN).")
	flag.BoolVar(&o.publishContainers, "publish-containers", false, "Publish per-container detail in the NodeProfile.")
	flag.Parse()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx = klog.NewContext(ctx, klog.LoggerWithName(klog.Background(), "nodeagent"))
	if err := run(ctx, o); err != nil {
		klog.FromContext(ctx).Error(err, "Node agent failed")
		klog.Flush()
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	logger := klog.FromContext(ctx)
	if o.nodeName == "" {
		return errors.New("--node-name or $NODE_NAME is required")
	}
	var cfg *rest.Config
	var err error
	if o.kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return fmt.Errorf("loading client configuration: %w", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	fs, err := client.New(cfg)
	if err != nil {
		return err
	}
	mode, err := discovery.DetectMode(o.cgroupRoot)
	if err != nil {
		return err
	}
	layout := discovery.Layout{Mode: mode, Root: o.cgroupRoot}
	logger.Info("Starting", "node", o.nodeName, "cgroupMode", mode, "version", version.String())

	if err := os.MkdirAll(o.stateDir, 0o700); err != nil {
		return fmt.Errorf("making state directory: %w", err)
	}
	st, err := store.Open(filepath.Join(o.stateDir, "profiles.db"))
	if err != nil {
		return err
	}
	defer st.Close()

	b := loadBPF(ctx, o.ebpf, o.ebpfKernelStats, layout.V2Root())
	defer b.close()

	factory, pods, err := profiler.NewPodInformer(kube, o.nodeName, 10*time.Minute)
	if err != nil {
		return err
	}
	agent, err := profiler.New(profiler.Config{
		NodeName: o.nodeName, Layout: layout, Interval: o.interval, Window: o.window, FlushEvery: o.flushInterval,
		Store: st, BPF: b.counters, Samplers: b.samplers, Pods: pods, PublishContainers: o.publishContainers,
	})
	if err != nil {
		logger.Error(err, "Some stored profiles could not be restored")
	}
	if agent == nil {
		return errors.New("agent did not start")
	}

	var ready atomic.Bool
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(profiler.NewRegistry(agent, b.metrics), promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if last := agent.Stats().LastTick; !last.IsZero() && time.Since(last) > 5*o.interval+5*time.Second {
			http.Error(w, "sampling stalled since "+last.String(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "pod cache not synced or no sample yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.listen, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
	}()

	// Partitions and pools drive enforcement; partitions are few per
	// cluster, so all are watched and filtered by spec.nodeName here (CRD
	// field selectors would need selectableFields).
	ffactory := foresightinformers.NewSharedInformerFactory(fs, 10*time.Minute)
	partitions := ffactory.Foresight().V1alpha1().Partitions().Lister()
	pools := ffactory.Foresight().V1alpha1().ResourcePools().Lister()
	factory.Start(ctx.Done())
	ffactory.Start(ctx.Done())
	defer factory.Shutdown()
	defer ffactory.Shutdown()
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("pod cache %v did not sync", typ)
		}
	}
	for typ, ok := range ffactory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("cache %v did not sync", typ)
		}
	}
	enforcer := enforce.NewEnforcer()
	defer func() {
		// Put every changed cgroup file back when the agent stops.
		if err := enforcer.Restore(klog.NewContext(context.Background(), logger)); err != nil {
			logger.Error(err, "Restoring cgroup files failed")
		}
	}()
	syncEnforcement := func() {
		parts, err := partitions.List(labels.Everything())
		if err != nil {
			logger.Error(err, "Listing partitions failed")
			return
		}
		podCgroups := map[types.UID]string{}
		for _, c := range agent.Containers() {
			podCgroups[types.UID(c.Container.PodUID)] = filepath.Dir(c.Container.Path)
		}
		mode := func(pool string) foresightv1alpha1.EnforcementMode {
			p, err := pools.Get(pool)
			if err != nil {
				return foresightv1alpha1.EnforcementOff
			}
			return p.Spec.Enforcement
		}
		if _, err := enforcer.Sync(ctx, layout, o.nodeName, parts, mode, podCgroups); err != nil {
			logger.Error(err, "Enforcing partition sizes failed")
		}
	}

	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx) }()
	pub := &profiler.Publisher{Client: fs, NodeName: o.nodeName}
	tick := time.NewTicker(o.publishInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return <-done
		case <-tick.C:
			if agent.Stats().Ticks > 0 {
				ready.Store(true)
			}
			if err := pub.Publish(ctx, agent.Status(time.Now(), version.String())); err != nil {
				logger.Error(err, "Publishing the NodeProfile failed")
			}
			syncEnforcement()
		}
	}
}

// bpfState is what loadBPF gives the agent.
type bpfState struct {
	counters profiler.BPFCounters
	samplers []foresightv1alpha1.Sampler
	metrics  profiler.MetricsSources
	close    func()
}
