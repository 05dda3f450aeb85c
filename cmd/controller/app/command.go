package app

import (
	goflag "flag"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/foresight-dev/foresight/pkg/version"
)

// NewCommand returns the foresight-controller command.
func NewCommand() *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:   "foresight-controller",
		Short: "Foresight's controller: today, the rightsizing admission webhook",
		Long: `foresight-controller serves Foresight's rightsizing mutating admission webhook
(POST /mutate-pods over TLS): in namespaces whose TenantPolicy sets
spec.rightsizing.enabled, it lowers each new pod's container requests to the
predicted demand of its workload at the confidence of its SLA class (never
below its guarantees, never above its limits or original requests) and keeps
the original requests in the foresight.dev/original-requests annotation. It
never refuses a pod. See docs/rightsizing.md.

It also serves /metrics, /healthz and /readyz over HTTP on --metrics-address.

Not done yet by this binary: partition resizing, in-place resizing of running
pods, migration and scaling ahead of events.

Serving certificate: either --tls-cert-file and --tls-private-key-file
(reloaded when they change, e.g. from cert-manager), or --self-signed, which
keeps a generated CA and serving certificate in a Secret and sets the CA as the
caBundle of the MutatingWebhookConfiguration named by --webhook-configuration.`,
		Version:       version.String(),
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger := klog.LoggerWithName(klog.Background(), "controller")
			return Run(klog.NewContext(cmd.Context(), logger), o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Path of a kubeconfig; in-cluster configuration when empty.")
	fs.StringVar(&o.Namespace, "namespace", o.Namespace, "Namespace the controller runs in, holding its Service and self-signed Secret; $POD_NAMESPACE sets the default.")
	fs.StringVar(&o.ListenAddress, "listen-address", o.ListenAddress, "Address of the webhook's HTTPS server.")
	fs.StringVar(&o.MetricsAddress, "metrics-address", o.MetricsAddress, "Address of the HTTP server of /metrics, /healthz and /readyz.")
	fs.StringVar(&o.TLSCertFile, "tls-cert-file", o.TLSCertFile, "PEM serving certificate (chain) of the webhook; reloaded when it changes.")
	fs.StringVar(&o.TLSKeyFile, "tls-private-key-file", o.TLSKeyFile, "PEM private key of --tls-cert-file.")
	fs.BoolVar(&o.SelfSigned, "self-signed", o.SelfSigned, "Generate a CA and serving certificate, keep them in --self-signed-secret and set the CA as the caBundle of --webhook-configuration (for clusters without cert-manager).")
	fs.StringVar(&o.SelfSignedSecret, "self-signed-secret", o.SelfSignedSecret, "Secret, in --namespace, holding the self-signed CA and serving certificate.")
	fs.StringVar(&o.WebhookConfiguration, "webhook-configuration", o.WebhookConfiguration, "MutatingWebhookConfiguration whose caBundle --self-signed sets; empty sets none.")
	fs.StringVar(&o.ServiceName, "service-name", o.ServiceName, "Service of the webhook, whose DNS names (<name>.<namespace>.svc...) the self-signed certificate covers.")
	fs.StringSliceVar(&o.TLSSANs, "tls-san", o.TLSSANs, "Extra DNS names or IP addresses the self-signed certificate covers.")
	fs.DurationVar(&o.CertCheckInterval, "self-signed-check-interval", o.CertCheckInterval, "How often the self-signed Secret's expiry and the caBundle are checked.")
	fs.DurationVar(&o.ProfileStalenessLimit, "profile-staleness-limit", o.ProfileStalenessLimit, "Age beyond which a WorkloadProfile is ignored (its pods keep their requests); 0 accepts any age.")
	fs.DurationVar(&o.Horizon, "rightsizing-horizon", o.Horizon, "Forecast horizon a rightsized request covers: the largest predicted upper bound within it.")
	fs.Int64Var(&o.MinChangePercent, "min-change-percent", o.MinChangePercent, "Smallest reduction of a request, in percent of it, worth mutating a pod for.")

	// klog's verbosity flags only: the controller logs to stderr.
	gofs := goflag.NewFlagSet("klog", goflag.ContinueOnError)
	klog.InitFlags(gofs)
	for _, name := range []string{"v", "vmodule"} {
		fs.AddGoFlag(gofs.Lookup(name))
	}
	cmd.SetVersionTemplate(fmt.Sprintf("foresight-controller %s\n", version.String()))
	return cmd
}
