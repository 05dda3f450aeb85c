package webhook

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync/atomic"
	"time"

	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// CertificateSource gives the serving certificate for each TLS handshake,
// so that a renewed certificate is used without a restart.
type CertificateSource interface {
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
}

// keyPair caches the certificate parsed from the latest PEM content, so
// that handshakes do not parse it again.
type keyPair struct {
	cur atomic.Pointer[parsedPair]
}

type parsedPair struct {
	certPEM, keyPEM []byte
	cert            *tls.Certificate
}

// set parses and keeps a PEM certificate (chain) and key, unless they are
// the ones already kept.
func (k *keyPair) set(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	if c := k.cur.Load(); c != nil && bytes.Equal(c.certPEM, certPEM) && bytes.Equal(c.keyPEM, keyPEM) {
		return c.cert, nil
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("parsing the serving certificate: %w", err)
	}
	k.cur.Store(&parsedPair{certPEM: certPEM, keyPEM: keyPEM, cert: &cert})
	return &cert, nil
}

func (k *keyPair) get() (*tls.Certificate, error) {
	c := k.cur.Load()
	if c == nil {
		return nil, errors.New("no serving certificate yet")
	}
	return c.cert, nil
}

// StaticCertificate serves one certificate.
type StaticCertificate struct{ pair keyPair }

// NewStaticCertificate returns a source of one PEM certificate and key.
func NewStaticCertificate(certPEM, keyPEM []byte) (*StaticCertificate, error) {
	s := &StaticCertificate{}
	if _, err := s.pair.set(certPEM, keyPEM); err != nil {
		return nil, err
	}
	return s, nil
}

// GetCertificate implements CertificateSource.
func (s *StaticCertificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.pair.get()
}

// FileCertificates serves a certificate and key read from files, reloaded
// when they change (as cert-manager or a mounted Secret renews them). The
// watching is k8s.io/apiserver's: file events plus a check every minute; a
// half-written pair is not used.
type FileCertificates struct {
	content *dynamiccertificates.DynamicCertKeyPairContent
	pair    keyPair
}

// NewFileCertificates reads a PEM certificate and key; Run keeps them up
// to date.
func NewFileCertificates(certFile, keyFile string) (*FileCertificates, error) {
	content, err := dynamiccertificates.NewDynamicServingContentFromFiles("webhook-serving", certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the serving certificate: %w", err)
	}
	return &FileCertificates{content: content}, nil
}

// Run watches the files until ctx is done.
func (f *FileCertificates) Run(ctx context.Context) {
	f.content.Run(ctx, 1)
}

// GetCertificate implements CertificateSource.
func (f *FileCertificates) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return f.pair.set(f.content.CurrentCertKeyContent())
}

// CA is a certificate authority that issues serving certificates.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// CertPEM and KeyPEM are Cert and Key encoded.
	CertPEM, KeyPEM []byte
}

// NewCA creates a self-signed CA valid for ten years (client-go's
// NewSelfSignedCACert) with an ECDSA P-256 key.
func NewCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the CA key: %w", err)
	}
	cert, err := certutil.NewSelfSignedCACert(certutil.Config{CommonName: commonName}, key)
	if err != nil {
		return nil, fmt.Errorf("creating the CA certificate: %w", err)
	}
	return newCA(cert, key)
}

func newCA(cert *x509.Certificate, key crypto.Signer) (*CA, error) {
	certPEM, err := certutil.EncodeCertificates(cert)
	if err != nil {
		return nil, err
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the CA key: %w", err)
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

// LoadCA reads a CA from its PEM certificate and key.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	certs, err := certutil.ParseCertsPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("parsing the CA certificate: %w", err)
	}
	key, err := keyutil.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("parsing the CA key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok || !certs[0].IsCA {
		return nil, errors.New("not a CA certificate and signing key")
	}
	return &CA{Cert: certs[0], Key: signer, CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

// Issue creates a serving certificate for the DNS names and IPs, valid
// from now (less a minute of clock skew) for validity, and returns it
// followed by the CA's certificate, and its key, in PEM.
func (ca *CA) Issue(dnsNames []string, ips []net.IP, now time.Time, validity time.Duration) ([]byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating the serving key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	cn := "foresight-webhook"
	if len(dnsNames) > 0 {
		cn = dnsNames[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     dnsNames,
		IPAddresses:  ips,
		NotBefore:    now.Add(-time.Minute).UTC(),
		NotAfter:     now.Add(validity).UTC(),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing the serving certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	certPEM, err := certutil.EncodeCertificates(cert, ca.Cert)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the serving key: %w", err)
	}
	return certPEM, keyPEM, nil
}

// checkServing tells why a PEM serving certificate will not do: not
// signed by ca, not covering every name and IP, or expiring before
// renewAt.
func checkServing(ca *CA, certPEM []byte, dnsNames []string, ips []net.IP, now, renewAt time.Time) error {
	certs, err := certutil.ParseCertsPEM(certPEM)
	if err != nil {
		return err
	}
	leaf := certs[0]
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return err
	}
	for _, n := range dnsNames {
		if err := leaf.VerifyHostname(n); err != nil {
			return err
		}
	}
	for _, ip := range ips {
		if err := leaf.VerifyHostname(ip.String()); err != nil {
			return err
		}
	}
	if leaf.NotAfter.Before(renewAt) {
		return fmt.Errorf("expires at %s", leaf.NotAfter.Format(time.RFC3339))
	}
	return nil
}
