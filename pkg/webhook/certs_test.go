package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/klog/v2/ktesting"
	clocktesting "k8s.io/utils/clock/testing"
)

var localhost = []net.IP{net.ParseIP("127.0.0.1")}

// serve serves an empty handler on a loopback port until the test ends and
// returns the address.
func serve(t *testing.T, ctx context.Context, certs CertificateSource) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ln, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), certs)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve() = %v", err)
		}
	})
	return ln.Addr().String()
}

// servedCert returns the certificate the server at addr presents, checked
// against ca.
func servedCert(ca *CA, addr string) (*x509.Certificate, error) {
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	return conn.ConnectionState().PeerCertificates[0], nil
}

func leafOf(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	certs, err := certutil.ParseCertsPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

func TestFileCertificatesReload(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ca, err := NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	write := func() *x509.Certificate {
		certPEM, keyPEM, err := ca.Issue(nil, localhost, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		// As a Secret volume does: new files renamed into place.
		for name, data := range map[string][]byte{certFile: certPEM, keyFile: keyPEM} {
			if err := os.WriteFile(name+".tmp", data, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(name+".tmp", name); err != nil {
				t.Fatal(err)
			}
		}
		return leafOf(t, certPEM)
	}
	first := write()
	certs, err := NewFileCertificates(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { certs.Run(runCtx); close(ran) }()
	defer func() { stop(); <-ran }()
	addr := serve(t, ctx, certs)

	got, err := servedCert(ca, addr)
	if err != nil {
		t.Fatal(err)
	}
	if got.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Fatalf("served serial %v, want the first certificate's %v", got.SerialNumber, first.SerialNumber)
	}
	second := write()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := servedCert(ca, addr)
		if err == nil && got.SerialNumber.Cmp(second.SerialNumber) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the renewed certificate was not served within 30s (last: %v, %v)", got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestStaticCertificateRefusesAMismatchedKey(t *testing.T) {
	ca, err := NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _, err := ca.Issue([]string{"a"}, nil, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewStaticCertificate(certPEM, ca.KeyPEM); err == nil {
		t.Error("NewStaticCertificate() with another key: no error")
	}
}

func TestServeStopsWithItsContext(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ca, err := NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(nil, localhost, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := NewStaticCertificate(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, http.NotFoundHandler(), certs) }()
	if _, err := servedCert(ca, ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve() = %v, want nil after its context is done", err)
		}
	case <-time.After(ShutdownTimeout + 5*time.Second):
		t.Fatal("Serve() did not return")
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		_ = c.Close()
		t.Error("still accepting connections")
	}
}

func webhookConfig(caBundle []byte) *admissionregistrationv1.MutatingWebhookConfiguration {
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "foresight-controller"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{
			{Name: "rightsize.foresight.dev", ClientConfig: admissionregistrationv1.WebhookClientConfig{CABundle: caBundle}},
			{Name: "other.foresight.dev"},
		},
	}
}

func TestSelfSigned(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	client := fake.NewClientset(webhookConfig([]byte("stale")))
	clock := clocktesting.NewFakePassiveClock(time.Now())
	replica := func() *SelfSigned {
		return &SelfSigned{
			Client: client, Namespace: "kube-system", SecretName: "foresight-controller-tls",
			WebhookConfiguration: "foresight-controller",
			DNSNames:             []string{"foresight-controller.kube-system.svc"}, IPs: localhost,
			Clock: clock,
		}
	}
	secret := func() *v1.Secret {
		s, err := client.CoreV1().Secrets("kube-system").Get(ctx, "foresight-controller-tls", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	caBundles := func() []string {
		mwc, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "foresight-controller", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, w := range mwc.Webhooks {
			out = append(out, string(w.ClientConfig.CABundle))
		}
		return out
	}
	writes := func() int {
		n := 0
		for _, a := range client.Actions() {
			if a.GetVerb() == "create" || a.GetVerb() == "update" || a.GetVerb() == "patch" {
				n++
			}
		}
		client.ClearActions()
		return n
	}

	a := replica()
	if a.HasCertificate() {
		t.Fatal("a certificate before Ensure")
	}
	if err := a.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	s := secret()
	if s.Type != v1.SecretTypeTLS {
		t.Errorf("Secret type %s, want %s", s.Type, v1.SecretTypeTLS)
	}
	ca, err := LoadCA(s.Data[SecretCACert], s.Data[SecretCAKey])
	if err != nil {
		t.Fatal(err)
	}
	caPEM := string(s.Data[SecretCACert])
	if diff := cmp.Diff([]string{caPEM, caPEM}, caBundles()); diff != "" {
		t.Errorf("caBundles mismatch (-want +got):\n%s", diff)
	}
	if n := writes(); n != 2 {
		t.Errorf("%d writes for a new Secret, want 2 (create, patch)", n)
	}
	addr := serve(t, ctx, a)
	served, err := servedCert(ca, addr)
	if err != nil {
		t.Fatalf("the served certificate does not verify against the Secret's CA: %v", err)
	}
	first := leafOf(t, s.Data[v1.TLSCertKey])
	if served.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Error("not serving the Secret's certificate")
	}

	// A second replica, and later rounds, use the Secret as it is.
	b := replica()
	if err := b.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if n := writes(); n != 0 {
		t.Errorf("%d writes with a valid Secret, want 0", n)
	}
	if got, _ := b.GetCertificate(nil); got == nil || !strings.Contains(string(s.Data[v1.TLSCertKey]), "CERTIFICATE") {
		t.Error("the second replica serves nothing")
	}

	// Near expiry the serving certificate is renewed by the same CA: the
	// caBundle stays.
	clock.SetTime(first.NotAfter.Add(-10 * 24 * time.Hour))
	if err := a.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	renewed := leafOf(t, secret().Data[v1.TLSCertKey])
	if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 || !renewed.NotAfter.After(first.NotAfter) {
		t.Errorf("serving certificate not renewed: serial %v, not after %v", renewed.SerialNumber, renewed.NotAfter)
	}
	if string(secret().Data[SecretCACert]) != caPEM {
		t.Error("the CA changed on a serving renewal")
	}
	if n := writes(); n != 1 {
		t.Errorf("%d writes for a renewal, want 1 (update)", n)
	}

	// A Secret whose CA is broken gets a new one, and the caBundle follows.
	broken := secret()
	broken.Data[SecretCAKey] = []byte("garbage")
	if _, err := client.CoreV1().Secrets("kube-system").Update(ctx, broken, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	newCA := string(secret().Data[SecretCACert])
	if newCA == caPEM {
		t.Error("the broken CA was kept")
	}
	if diff := cmp.Diff([]string{newCA, newCA}, caBundles()); diff != "" {
		t.Errorf("caBundles mismatch (-want +got):\n%s", diff)
	}
}

func TestSelfSignedRacingReplicas(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	client := fake.NewClientset(webhookConfig(nil))
	// Another replica creates the Secret between this one's read and create.
	other := &SelfSigned{Client: fake.NewClientset(), Namespace: "kube-system", SecretName: "tls", IPs: localhost}
	if err := other.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	theirs, err := other.Client.CoreV1().Secrets("kube-system").Get(ctx, "tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raced := false
	client.PrependReactor("create", "secrets", func(clienttesting.Action) (bool, runtime.Object, error) {
		if raced {
			return false, nil, nil
		}
		raced = true
		if err := client.Tracker().Add(theirs.DeepCopy()); err != nil {
			return true, nil, err
		}
		return false, nil, nil
	})
	s := &SelfSigned{Client: client, Namespace: "kube-system", SecretName: "tls", IPs: localhost, WebhookConfiguration: "foresight-controller"}
	if err := s.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := client.CoreV1().Secrets("kube-system").Get(ctx, "tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(theirs.Data, got.Data); diff != "" {
		t.Errorf("the other replica's Secret was not used (-want +got):\n%s", diff)
	}
}

func TestSelfSignedWithoutWebhookConfiguration(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	s := &SelfSigned{Client: fake.NewClientset(), Namespace: "kube-system", SecretName: "tls", WebhookConfiguration: "missing"}
	err := s.Ensure(ctx)
	if err == nil || !strings.Contains(err.Error(), "MutatingWebhookConfiguration missing") {
		t.Errorf("Ensure() = %v, want an error naming the configuration", err)
	}
	if !s.HasCertificate() {
		t.Error("no certificate served while the configuration is missing")
	}
	if errors.Unwrap(err) == nil {
		t.Error("error not wrapped")
	}
}
