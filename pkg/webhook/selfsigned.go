package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Keys of the self-signed mode's Secret, besides tls.crt and tls.key.
const (
	SecretCACert = "ca.crt"
	SecretCAKey  = "ca.key"
)

// SelfSigned gives the webhook a serving certificate on clusters without
// cert-manager. It keeps a CA and a serving certificate signed by it in a
// Secret shared by every replica, renews the serving certificate before it
// expires (the CA, valid ten years, stays, so the caBundle does not change
// and replicas never disagree), and sets the CA as the caBundle of every
// webhook of a MutatingWebhookConfiguration. Replicas race safely: a
// Secret created or updated by another replica first is used as it is.
type SelfSigned struct {
	// Client reads and writes the Secret and the webhook configuration.
	Client kubernetes.Interface
	// Namespace and SecretName name the Secret.
	Namespace, SecretName string
	// WebhookConfiguration names the MutatingWebhookConfiguration whose
	// caBundle is set; empty sets none.
	WebhookConfiguration string
	// DNSNames and IPs the serving certificate is for, such as
	// foresight-controller.kube-system.svc.
	DNSNames []string
	IPs      []net.IP
	// ServingValidity defaults to a year; a serving certificate is renewed
	// once less than RenewBefore (default 30 days) of it remains.
	ServingValidity, RenewBefore time.Duration
	// Clock defaults to the real clock.
	Clock clock.PassiveClock

	pair keyPair
}

func (s *SelfSigned) defaults() {
	if s.ServingValidity == 0 {
		s.ServingValidity = 365 * 24 * time.Hour
	}
	if s.RenewBefore == 0 {
		s.RenewBefore = 30 * 24 * time.Hour
	}
	if s.Clock == nil {
		s.Clock = clock.RealClock{}
	}
}

// GetCertificate implements CertificateSource; it fails until Ensure has
// succeeded once.
func (s *SelfSigned) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.pair.get()
}

// HasCertificate tells whether a serving certificate is loaded.
func (s *SelfSigned) HasCertificate() bool {
	_, err := s.pair.get()
	return err == nil
}

// RetryInterval is how soon Run tries again after a failed Ensure.
const RetryInterval = 10 * time.Second

// Run calls Ensure now, then every interval (RetryInterval after a
// failure) until ctx is done, logging failures; the certificate loaded
// last keeps being served meanwhile.
func (s *SelfSigned) Run(ctx context.Context, interval time.Duration) {
	logger := klog.FromContext(ctx)
	for {
		next := interval
		if err := s.Ensure(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			logger.Error(err, "Ensuring the webhook's self-signed certificate failed", "secret", klog.KRef(s.Namespace, s.SecretName), "retryIn", RetryInterval)
			next = RetryInterval
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Ensure makes the Secret hold a valid CA and serving certificate, serves
// that certificate and sets the CA as the webhook configuration's
// caBundle.
func (s *SelfSigned) Ensure(ctx context.Context) error {
	s.defaults()
	var secret *v1.Secret
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var err error
		secret, err = s.ensureSecret(ctx)
		return err
	})
	if err != nil {
		return err
	}
	if _, err := s.pair.set(secret.Data[v1.TLSCertKey], secret.Data[v1.TLSPrivateKeyKey]); err != nil {
		return err
	}
	return s.setCABundle(ctx, secret.Data[SecretCACert])
}

// ensureSecret reads the Secret and creates, renews or repairs it as
// needed; a conflict means another replica wrote it first.
func (s *SelfSigned) ensureSecret(ctx context.Context) (*v1.Secret, error) {
	logger := klog.FromContext(ctx)
	secrets := s.Client.CoreV1().Secrets(s.Namespace)
	secret, err := secrets.Get(ctx, s.SecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		ca, err := NewCA("foresight-webhook-ca")
		if err != nil {
			return nil, err
		}
		secret = &v1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.SecretName,
				Labels: map[string]string{"app.kubernetes.io/managed-by": "foresight-controller"}},
			Type: v1.SecretTypeTLS,
		}
		if err := s.fill(secret, ca); err != nil {
			return nil, err
		}
		created, err := secrets.Create(ctx, secret, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			// Another replica was first: use its Secret.
			return nil, apierrors.NewConflict(v1.Resource("secrets"), s.SecretName, err)
		}
		if err != nil {
			return nil, fmt.Errorf("creating Secret %s/%s: %w", s.Namespace, s.SecretName, err)
		}
		logger.Info("Created the webhook's CA and serving certificate", "secret", klog.KObj(created))
		return created, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading Secret %s/%s: %w", s.Namespace, s.SecretName, err)
	}
	now := s.Clock.Now()
	ca, err := LoadCA(secret.Data[SecretCACert], secret.Data[SecretCAKey])
	if err == nil && ca.Cert.NotAfter.Before(now.Add(s.RenewBefore+s.ServingValidity)) {
		err = fmt.Errorf("the CA expires at %s", ca.Cert.NotAfter.Format(time.RFC3339))
	}
	renew := "serving certificate"
	if err != nil {
		// A new CA changes the caBundle; replicas still serving the old
		// certificate fail until their next Ensure, and the API server
		// ignores them meanwhile (failurePolicy Ignore).
		logger.Info("Replacing the webhook's CA", "secret", klog.KObj(secret), "reason", err.Error())
		if ca, err = NewCA("foresight-webhook-ca"); err != nil {
			return nil, err
		}
		renew = "CA and serving certificate"
	} else {
		err := checkServing(ca, secret.Data[v1.TLSCertKey], s.DNSNames, s.IPs, now, now.Add(s.RenewBefore))
		if err == nil {
			_, err = tls.X509KeyPair(secret.Data[v1.TLSCertKey], secret.Data[v1.TLSPrivateKeyKey])
		}
		if err == nil {
			return secret, nil
		}
		logger.Info("Renewing the webhook's serving certificate", "secret", klog.KObj(secret), "reason", err.Error())
	}
	secret = secret.DeepCopy()
	if err := s.fill(secret, ca); err != nil {
		return nil, err
	}
	updated, err := secrets.Update(ctx, secret, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("updating Secret %s/%s with a new %s: %w", s.Namespace, s.SecretName, renew, err)
	}
	return updated, nil
}

// fill puts a CA and a new serving certificate it signs in a Secret.
func (s *SelfSigned) fill(secret *v1.Secret, ca *CA) error {
	certPEM, keyPEM, err := ca.Issue(s.DNSNames, s.IPs, s.Clock.Now(), s.ServingValidity)
	if err != nil {
		return err
	}
	secret.Data = map[string][]byte{
		v1.TLSCertKey: certPEM, v1.TLSPrivateKeyKey: keyPEM,
		SecretCACert: ca.CertPEM, SecretCAKey: ca.KeyPEM,
	}
	return nil
}

// setCABundle sets caBundle on every webhook of the configuration that
// does not have it yet, with one strategic merge patch.
func (s *SelfSigned) setCABundle(ctx context.Context, caPEM []byte) error {
	if s.WebhookConfiguration == "" {
		return nil
	}
	if len(caPEM) == 0 {
		return errors.New("the Secret holds no CA certificate")
	}
	configs := s.Client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	mwc, err := configs.Get(ctx, s.WebhookConfiguration, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading MutatingWebhookConfiguration %s: %w", s.WebhookConfiguration, err)
	}
	type clientConfig struct {
		CABundle []byte `json:"caBundle"`
	}
	type webhook struct {
		Name         string       `json:"name"`
		ClientConfig clientConfig `json:"clientConfig"`
	}
	var stale []webhook
	for _, w := range mwc.Webhooks {
		if !bytes.Equal(w.ClientConfig.CABundle, caPEM) {
			stale = append(stale, webhook{Name: w.Name, ClientConfig: clientConfig{CABundle: caPEM}})
		}
	}
	if len(stale) == 0 {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"webhooks": stale})
	if err != nil {
		return err
	}
	if _, err := configs.Patch(ctx, s.WebhookConfiguration, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("setting the caBundle of MutatingWebhookConfiguration %s: %w", s.WebhookConfiguration, err)
	}
	klog.FromContext(ctx).Info("Set the webhook configuration's caBundle", "mutatingWebhookConfiguration", s.WebhookConfiguration, "webhooks", len(stale))
	return nil
}
