package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"k8s.io/klog/v2"
)

// ShutdownTimeout bounds how long Serve waits for requests in flight once
// its context is done.
const ShutdownTimeout = 10 * time.Second

// Serve serves handler at Path over TLS on ln, with the certificates of
// certs, until ctx is done; it then stops accepting connections, waits for
// the requests in flight (up to ShutdownTimeout) and returns. Requests are
// logged through ctx's logger.
func Serve(ctx context.Context, ln net.Listener, handler http.Handler, certs CertificateSource) error {
	logger := klog.FromContext(ctx)
	mux := http.NewServeMux()
	mux.Handle(Path, handler)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		// The API server waits for a webhook at most 30 s (timeoutSeconds).
		WriteTimeout: 30 * time.Second,
		IdleTimeout:  90 * time.Second,
		TLSConfig: &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: certs.GetCertificate,
			NextProtos:     []string{"h2", "http/1.1"},
		},
		// Requests keep the logger, not the cancellation: shutting down
		// lets them finish.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:    log.New(logWriter{logger}, "", 0),
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-done:
		return fmt.Errorf("serving the webhook: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("shutting down the webhook server: %w", err)
	}
	return nil
}

// logWriter sends net/http's server errors (mostly TLS handshakes that
// clients gave up) to a logger at V(2).
type logWriter struct{ logger klog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.logger.V(2).Info("HTTP server error", "err", strings.TrimSpace(string(p)))
	return len(p), nil
}
