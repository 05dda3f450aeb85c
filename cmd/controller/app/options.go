// Package app is the foresight-controller command: today it serves the
// rightsizing admission webhook; partition resizing and migration come later.
package app

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	pluginsv1 "github.com/foresight-dev/foresight/pkg/plugins/apis/config/v1"
	"github.com/foresight-dev/foresight/pkg/rightsize"
)

// Options are the controller's flags.
type Options struct {
	// Kubeconfig is a kubeconfig path; empty means in-cluster.
	Kubeconfig string
	// Namespace the controller runs in: its Service and self-signed
	// Secret live there.
	Namespace string
	// ListenAddress serves the webhook over TLS.
	ListenAddress string
	// MetricsAddress serves /metrics, /healthz and /readyz over HTTP.
	MetricsAddress string
	// TLSCertFile and TLSKeyFile are a serving certificate and key,
	// reloaded when they change.
	TLSCertFile, TLSKeyFile string
	// SelfSigned generates the serving certificate and its CA, keeps them
	// in the Secret SelfSignedSecret and sets the CA as the caBundle of
	// the MutatingWebhookConfiguration WebhookConfiguration.
	SelfSigned           bool
	SelfSignedSecret     string
	WebhookConfiguration string
	// ServiceName is the webhook's Service, whose DNS names the
	// self-signed certificate covers, with TLSSANs.
	ServiceName string
	TLSSANs     []string
	// CertCheckInterval is how often the self-signed Secret and the
	// caBundle are checked.
	CertCheckInterval time.Duration
	// ProfileStalenessLimit is the age beyond which a WorkloadProfile is
	// ignored.
	ProfileStalenessLimit time.Duration
	// Horizon of the forecasts a request must cover.
	Horizon time.Duration
	// MinChangePercent is the smallest reduction of a request worth making.
	MinChangePercent int64
}

// NewOptions returns the defaults. Profile staleness matches the
// scheduler plugin's default, so that both use the same profiles.
func NewOptions() *Options {
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = "kube-system"
	}
	d := rightsize.DefaultOptions(time.Time{})
	return &Options{
		Namespace:             ns,
		ListenAddress:         ":9443",
		MetricsAddress:        ":8080",
		SelfSignedSecret:      "foresight-controller-tls",
		WebhookConfiguration:  "foresight-controller",
		ServiceName:           "foresight-controller",
		CertCheckInterval:     5 * time.Minute,
		ProfileStalenessLimit: pluginsv1.DefaultProfileStalenessLimit.Duration,
		Horizon:               d.Horizon,
		MinChangePercent:      d.MinChangePercent,
	}
}

// Validate checks the options.
func (o *Options) Validate() error {
	var errs []error
	files := o.TLSCertFile != "" || o.TLSKeyFile != ""
	switch {
	case o.SelfSigned && files:
		errs = append(errs, errors.New("--self-signed and --tls-cert-file/--tls-private-key-file exclude each other"))
	case !o.SelfSigned && (o.TLSCertFile == "" || o.TLSKeyFile == ""):
		errs = append(errs, errors.New("either --tls-cert-file and --tls-private-key-file, or --self-signed, are required"))
	}
	if o.SelfSigned && (o.SelfSignedSecret == "" || o.Namespace == "") {
		errs = append(errs, errors.New("--self-signed needs --self-signed-secret and --namespace"))
	}
	if o.CertCheckInterval <= 0 {
		errs = append(errs, fmt.Errorf("--self-signed-check-interval must be positive, not %s", o.CertCheckInterval))
	}
	if o.ProfileStalenessLimit < 0 || o.Horizon < 0 {
		errs = append(errs, errors.New("--profile-staleness-limit and --rightsizing-horizon cannot be negative"))
	}
	if o.MinChangePercent < 0 || o.MinChangePercent > 100 {
		errs = append(errs, fmt.Errorf("--min-change-percent must be within [0, 100], not %d", o.MinChangePercent))
	}
	for _, a := range []string{o.ListenAddress, o.MetricsAddress} {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("address %q: %w", a, err))
		}
	}
	return errors.Join(errs...)
}

// sans are the names and IPs the self-signed certificate covers: the
// Service's DNS names and the extra --tls-san entries.
func (o *Options) sans() ([]string, []net.IP) {
	dns := []string{
		o.ServiceName + "." + o.Namespace + ".svc",
		o.ServiceName + "." + o.Namespace + ".svc.cluster.local",
		o.ServiceName + "." + o.Namespace,
	}
	var ips []net.IP
	for _, s := range o.TLSSANs {
		if ip := net.ParseIP(s); ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, s)
		}
	}
	return dns, ips
}
