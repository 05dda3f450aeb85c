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
	"github.com/foresight-dev/foresight/pkg/profiler/profile"
	"github.com/foresight-dev/foresight/pkg/profiler/store"
	"github.com/foresight-dev/foresight/pkg/version"
)

type options struct {
	nodeName          string
	kubeconfig        string
	interval          time.Duration
	publishInterval   time.Duration
	flushInterval     time.Duration
	forecastInterval  time.Duration
	schedInterval     time.Duration
	window            time.Duration
	stateDir          string
	cgroupRoot        string
	listen            string
	ebpf              bool
	ebpfKernelStats   bool
	publishContainers bool

	// onListen, when set, is told the address of the HTTP endpoints
	// (tests listen on port 0).
	onListen func(net.Addr)
}

// parseFlags reads the command line into options and validates them.
func parseFlags(fs *flag.FlagSet, args []string) (options, error) {
	var o options
	fs.StringVar(&o.nodeName, "node-name", os.Getenv("NODE_NAME"), "Name of this node (default $NODE_NAME).")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Path of a kubeconfig; in-cluster configuration when empty.")
	fs.DurationVar(&o.interval, "interval", time.Second, "Sampling interval.")
	fs.DurationVar(&o.publishInterval, "publish-interval", 15*time.Second, "Interval between NodeProfile status patches.")
	fs.DurationVar(&o.flushInterval, "flush-interval", time.Minute, "Interval between writes of the profiles to the state directory.")
	fs.DurationVar(&o.forecastInterval, "forecast-interval", profiler.DefaultForecastEvery, "Interval between refits of the pods' short-term forecasts.")
	fs.DurationVar(&o.schedInterval, "sched-interval", time.Second, "Interval between runs of the eBPF task iterator that charges run-queue delay to containers (at most once per --interval; its cost grows with the node's tasks).")
	fs.DurationVar(&o.window, "window", 24*time.Hour, "Window of the published statistics.")
	fs.StringVar(&o.stateDir, "state-dir", "/var/lib/foresight-agent", "Host directory for the profile store.")
	fs.StringVar(&o.cgroupRoot, "cgroup-root", "/sys/fs/cgroup", "Mount root of the cgroup file systems.")
	fs.StringVar(&o.listen, "listen", ":9560", "Address of /metrics, /healthz and /readyz.")
	fs.BoolVar(&o.ebpf, "ebpf", true, "Load the eBPF programs (network, block I/O, scheduler).")
	fs.BoolVar(&o.ebpfKernelStats, "ebpf-kernel-stats", false, "Turn on the kernel's BPF run-time statistics for the per-program metrics (needs CAP_SYS_ADMIN).")
	fs.BoolVar(&o.publishContainers, "publish-containers", false, "Publish per-container detail in the NodeProfile.")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q: the node agent takes flags only", fs.Args())
	}
	return o, o.validate()
}

// validate reports every invalid option at once.
func (o options) validate() error {
	var errs []error
	if o.nodeName == "" {
		errs = append(errs, errors.New("--node-name or $NODE_NAME is required"))
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"interval", o.interval}, {"publish-interval", o.publishInterval}, {"flush-interval", o.flushInterval}, {"forecast-interval", o.forecastInterval}, {"sched-interval", o.schedInterval}, {"window", o.window}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("--%s must be positive, got %v", d.flag, d.v))
		}
	}
	if o.interval > 0 && o.publishInterval > 0 && o.publishInterval < o.interval {
		errs = append(errs, fmt.Errorf("--publish-interval (%v) must not be shorter than --interval (%v)", o.publishInterval, o.interval))
	}
	if o.window > profile.LongHistory {
		errs = append(errs, fmt.Errorf("--window (%v) must not exceed the %v of history the agent keeps", o.window, profile.LongHistory))
	}
	if o.stateDir == "" {
		errs = append(errs, errors.New("--state-dir is required"))
	}
	if o.cgroupRoot == "" {
		errs = append(errs, errors.New("--cgroup-root is required"))
	}
	if _, _, err := net.SplitHostPort(o.listen); err != nil {
		errs = append(errs, fmt.Errorf("--listen %q: %w", o.listen, err))
	}
	return errors.Join(errs...)
}

func main() {
	klog.InitFlags(nil)
	o, err := parseFlags(flag.CommandLine, os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "foresight-nodeagent:", err)
		os.Exit(2)
	}

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
	if err := o.validate(); err != nil {
		return err
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
	forecaster := &profiler.Forecaster{Every: o.forecastInterval}
	agent, err := profiler.New(profiler.Config{
		NodeName: o.nodeName, Layout: layout, Interval: o.interval, Window: o.window, FlushEvery: o.flushInterval,
		Store: st, BPF: b.counters, Sched: b.sched, SchedEvery: o.schedInterval, Samplers: b.samplers, Pods: pods, PublishContainers: o.publishContainers,
		Forecaster: forecaster,
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
	if o.onListen != nil {
		o.onListen(ln.Addr())
	}
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
	// Originals are recorded in the store before a cgroup file is written:
	// files an earlier agent changed and could not put back (SIGKILL) are
	// restored by the first sync below unless still enforced.
	enforcer, err := enforce.NewPersistentEnforcer(st)
	if err != nil {
		return err
	}
	if pending := enforcer.Pending(); len(pending) > 0 {
		logger.Info("Cgroup files changed by an earlier agent are pending restore", "files", len(pending))
	}
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
			forecaster.Refresh(ctx, agent, time.Now())
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
	sched    profiler.SchedSource
	samplers []foresightv1alpha1.Sampler
	metrics  profiler.MetricsSources
	close    func()
}
