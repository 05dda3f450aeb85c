package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/foresight-dev/foresight/pkg/client"
	"github.com/foresight-dev/foresight/pkg/demand"
	foresightinformers "github.com/foresight-dev/foresight/pkg/generated/informers/externalversions"
	"github.com/foresight-dev/foresight/pkg/rightsize"
	"github.com/foresight-dev/foresight/pkg/version"
	"github.com/foresight-dev/foresight/pkg/webhook"
)

// resyncPeriod of the informers: handlers only read their caches.
const resyncPeriod = 0

// Run runs the controller until ctx is done, then shuts its servers down
// gracefully and returns once every goroutine it started has stopped.
func Run(ctx context.Context, o *Options) error {
	logger := klog.FromContext(ctx)
	if err := o.Validate(); err != nil {
		return err
	}
	cfg, err := restConfig(o.Kubeconfig)
	if err != nil {
		return err
	}
	cfg.UserAgent = "foresight-controller/" + version.String()
	fs, err := client.New(cfg)
	if err != nil {
		return err
	}
	logger.Info("Starting", "version", version.String(), "webhook", o.ListenAddress, "metrics", o.MetricsAddress, "selfSigned", o.SelfSigned)

	// Every goroutine started below stops with ctx (or a cleanup) and is
	// waited for before Run returns, on success or error.
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var cleanups []func()
	defer func() {
		cancel()
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		wg.Wait()
	}()
	goRun := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}

	var certs webhook.CertificateSource
	var hasCert func() bool
	if o.SelfSigned {
		kube, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return fmt.Errorf("creating the Kubernetes client: %w", err)
		}
		dns, ips := o.sans()
		ss := &webhook.SelfSigned{
			Client: kube, Namespace: o.Namespace, SecretName: o.SelfSignedSecret,
			WebhookConfiguration: o.WebhookConfiguration, DNSNames: dns, IPs: ips,
		}
		goRun(func() { ss.Run(ctx, o.CertCheckInterval) })
		certs, hasCert = ss, ss.HasCertificate
	} else {
		fc, err := webhook.NewFileCertificates(o.TLSCertFile, o.TLSKeyFile)
		if err != nil {
			return err
		}
		goRun(func() { fc.Run(ctx) })
		certs, hasCert = fc, func() bool { return true }
	}

	factory := foresightinformers.NewSharedInformerFactory(fs, resyncPeriod)
	policies := factory.Foresight().V1alpha1().TenantPolicies()
	profiles := factory.Foresight().V1alpha1().WorkloadProfiles().Informer()
	if err := profiles.AddIndexers(demand.ProfileIndexers()); err != nil {
		return fmt.Errorf("indexing WorkloadProfiles: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "foresight_controller"}))
	prometheus.WrapRegistererWithPrefix("foresight_controller_", reg).MustRegister(collectors.NewGoCollector())
	metrics, err := webhook.NewMetrics(reg)
	if err != nil {
		return err
	}
	opts := rightsize.DefaultOptions(time.Time{})
	opts.Horizon, opts.MinChangePercent = o.Horizon, o.MinChangePercent
	handler, err := webhook.NewHandler(webhook.Config{
		Policies: policies.Lister(), Profiles: profiles.GetIndexer(),
		ProfileStalenessLimit: o.ProfileStalenessLimit, Options: opts, Metrics: metrics,
	})
	if err != nil {
		return err
	}

	var synced atomic.Bool
	metricsLn, err := net.Listen("tcp", o.MetricsAddress)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.MetricsAddress, err)
	}
	metricsSrv := &http.Server{Handler: healthMux(reg, &synced, hasCert), ReadHeaderTimeout: 10 * time.Second}
	goRun(func() {
		if err := metricsSrv.Serve(metricsLn); !errors.Is(err, http.ErrServerClosed) {
			logger.Error(err, "Serving metrics failed")
		}
	})
	cleanups = append(cleanups, func() {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer scancel()
		_ = metricsSrv.Shutdown(sctx)
	})

	factory.Start(ctx.Done())
	cleanups = append(cleanups, factory.Shutdown)
	logger.V(4).Info("Waiting for the TenantPolicy and WorkloadProfile caches")
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("cache of %v did not sync", typ)
		}
	}
	synced.Store(true)

	// Served only once the caches hold every policy and profile, so that
	// no pod is decided on from an empty cache.
	ln, err := net.Listen("tcp", o.ListenAddress)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.ListenAddress, err)
	}
	logger.Info("Serving the rightsizing webhook", "address", ln.Addr().String(), "path", webhook.Path)
	err = webhook.Serve(ctx, ln, handler, certs)
	logger.Info("Stopped")
	return err
}

// healthMux serves /metrics, /healthz (the process answers) and /readyz
// (the caches are synced and a serving certificate is loaded).
func healthMux(reg *prometheus.Registry, synced *atomic.Bool, hasCert func() bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case !synced.Load():
			http.Error(w, "TenantPolicy and WorkloadProfile caches not synced", http.StatusServiceUnavailable)
		case !hasCert():
			http.Error(w, "no serving certificate yet", http.StatusServiceUnavailable)
		default:
			_, _ = fmt.Fprintln(w, "ok")
		}
	})
	return mux
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("loading client configuration: %w", err)
	}
	return cfg, nil
}
